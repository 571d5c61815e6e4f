"""The admin's lists and forms, as a staff user sees them: short ids that search, the
highlight's feedback, status chips that link, the generation list's error filter, the
provider form, prompt version labels, no Save on read-only pages and precise times."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from budgets.models import Budget, BudgetAlert, BudgetEntry
from generations.models import (
    Generation,
    GenerationEvent,
    PromptFamily,
    PromptVersion,
    Provider,
    ProviderAttempt,
)
from tests.admin.html_forms import form_in, submit
from tests.admin.pages import changelist_ids, html
from tests.builders import create_body

URL = "/api/v1/generations"
CHANGELIST = reverse("admin:generations_generation_changelist")
PROVIDERS = reverse("admin:genpipe_providers")
CACHE = reverse("admin:genpipe_cache")


def test_error_filter_finds_generations_a_retry_rescued(panel, mix):
    done = Generation.objects.get(id=mix["done"])
    ProviderAttempt.objects.create(
        generation=done,
        provider_id="sandbox",
        attempt_number=9,
        operation_type=done.operation_type,
        started_at=timezone.now(),
        finished_at=timezone.now(),
        outcome="failed",
        error_code="provider_timeout",
    )
    listed = html(panel.get(CHANGELIST, {"error": "provider_timeout"}))
    assert changelist_ids(listed) == {mix["done"]}


# --- Short ids -----------------------------------------------------------------------------


@pytest.mark.parametrize("length", [8, 4, 13, 36])
def test_the_list_finds_a_generation_by_the_start_of_its_id(panel, mix, length):
    term = mix["failed"][:length]
    listed = html(panel.get(CHANGELIST, {"q": term}))
    assert mix["failed"] in changelist_ids(listed)
    assert all(i.startswith(term) for i in changelist_ids(listed))


def test_short_ids_of_other_text_do_not_match_by_prefix(panel, mix):
    assert changelist_ids(html(panel.get(CHANGELIST, {"q": "zzzzzzzz"}))) == set()
    assert changelist_ids(html(panel.get(CHANGELIST, {"q": "abc"}))) == set()  # too short


def test_audit_lists_show_and_search_short_generation_ids(panel, mix):
    short = mix["failed"][:8]
    for name in ("generationevent", "providerattempt"):
        url = reverse(f"admin:generations_{name}_changelist")
        everything = html(panel.get(url))
        assert f">{short}</a>" in everything, name
        found = html(panel.get(url, {"q": short}))
        assert f">{short}</a>" in found and f">{mix['done'][:8]}</a>" not in found, name


def test_budget_ledger_searches_generation_ids_by_prefix(panel, api, workspace, make_generation):
    Budget.objects.create(workspace=workspace, limit_usd=Decimal("100"))
    generation_id = make_generation()
    assert BudgetEntry.objects.filter(generation_id=generation_id).exists()
    url = reverse("admin:budgets_budgetentry_changelist")
    found = html(panel.get(url, {"q": generation_id[:8]}))
    assert generation_id in found
    assert "0 budget entries" in html(panel.get(url, {"q": "0000beef"}))


# --- ?highlight= ---------------------------------------------------------------------------


def test_highlight_on_the_page_marks_the_row_and_says_nothing(panel, mix):
    page = html(panel.get(CHANGELIST, {"highlight": mix["failed"]}))
    assert f'id="gp-highlight" data-id="{mix["failed"]}"' in page
    assert "gp-highlight-missing" not in page


def test_highlight_filtered_out_says_so_and_links_to_the_row(panel, mix):
    page = html(panel.get(CHANGELIST, {"status__exact": "completed", "highlight": mix["failed"]}))
    notice = re.search(r'id="gp-highlight-missing".*?</p>', page, re.S).group(0)
    assert mix["failed"][:8] in notice and "not on this page" in notice
    assert 'id="gp-highlight"' not in page
    show, open_ = (
        unescape(re.search(rf'href="([^"]+)" id="gp-highlight-{k}"', notice).group(1))
        for k in ("list", "detail")
    )
    assert open_ == reverse("admin:generations_generation_change", args=[mix["failed"]])
    shown = html(panel.get(show))
    assert changelist_ids(shown) == {mix["failed"]}
    assert f'id="gp-highlight" data-id="{mix["failed"]}"' in shown
    assert "gp-highlight-missing" not in shown


def test_highlight_on_another_page_says_so(panel, mix, settings):
    from generations.admin.generations import GenerationAdmin

    GenerationAdmin.list_per_page, before = 1, GenerationAdmin.list_per_page
    try:
        page = html(panel.get(CHANGELIST, {"highlight": mix["done"]}))  # the oldest: page 4
    finally:
        GenerationAdmin.list_per_page = before
    assert "not on this page" in page


def test_highlight_of_an_unknown_id_says_no_such_generation(panel, mix):
    page = html(panel.get(CHANGELIST, {"highlight": "00000000-0000-4000-8000-000000000000"}))
    assert "No generation has the id" in page
    page = html(panel.get(CHANGELIST, {"highlight": "not-an-id"}))
    assert "No generation has the id <code>not-an-id</code>" in page


def test_highlight_takes_a_short_id(panel, mix):
    page = html(panel.get(CHANGELIST, {"highlight": mix["failed"][:8]}))
    assert f'id="gp-highlight" data-id="{mix["failed"]}"' in page


# --- Status chips ----------------------------------------------------------------------------


def test_status_chips_link_to_the_filtered_list(panel, mix):
    page = html(panel.get(CHANGELIST))
    chips = re.findall(r'<a class="gp-badge gp-status-(\w+)" href="([^"]+)"', page)
    assert {status for status, _ in chips} >= {"completed", "failed", "pending"}
    for status, href in chips:
        listed = html(panel.get(unescape(href)))
        rows = Generation.objects.filter(id__in=changelist_ids(listed))
        assert rows.exists() or status in ("processing", "cancelled")
        assert set(rows.values_list("status", flat=True)) <= {status}, href


def test_the_counts_chips_keep_the_other_filters(panel, mix):
    page = html(panel.get(CHANGELIST, {"operation_type__exact": "dialogue"}))
    counts = re.search(r'id="gp-status-counts".*?</ul>', page, re.S).group(0)
    href = dict(re.findall(r'gp-status-(\w+)" href="([^"]+)"', counts))["completed"]
    assert "operation_type__exact=dialogue" in unescape(href)
    assert changelist_ids(html(panel.get(unescape(href)))) == {mix["talk"]}


def test_panel_and_detail_chips_are_links(panel, mix):
    for url in (
        reverse("admin:genpipe_panel"),
        reverse("admin:generations_generation_change", args=[mix["failed"]]),
    ):
        page = html(panel.get(url))
        assert re.search(
            r'<a class="gp-badge gp-status-failed" href="[^"]*status__exact=failed"', page
        )


# --- The provider form ---------------------------------------------------------------------


def test_provider_form_help_example_is_json_and_fallback_omits_the_provider(panel, sandbox):
    Provider.objects.create(id="backup", name="Backup", adapter="sandbox")
    url = reverse("admin:generations_provider_change", args=["sandbox"])
    page = html(panel.get(url))
    helptext = unescape(
        re.search(r'id="id_settings_helptext">\s*<div>(.*?)</div>', page, re.S).group(1)
    )
    example = re.search(r"e\.g\. (\{.*?\})", helptext).group(1)
    assert json.loads(example) == {"latency_ms": 0, "failure_rate": 0.0}
    select = re.search(r'<select name="fallback_provider".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option value="([^"]*)"', select) == ["", "backup"]
    done = submit(panel, url, form_id="provider_form", fallback_provider="backup", _save="Save")
    assert done.status_code == 200
    assert Provider.objects.get(id="sandbox").fallback_provider_id == "backup"
    # The new provider's form offers every existing one.
    add = html(panel.get(reverse("admin:generations_provider_add")))
    select = re.search(r'<select name="fallback_provider".*?</select>', add, re.S).group(0)
    assert set(re.findall(r'<option value="([^"]*)"', select)) == {"", "backup", "sandbox"}


# --- Prompt version labels --------------------------------------------------------------------


def test_prompt_versions_are_labelled_by_family_slug_and_number(panel, workspace):
    family = PromptFamily.objects.create(workspace=workspace, slug="npc-greeting", title="Greet")
    PromptVersion.objects.create(family=family, version_number=3, template="Hi {{name}}")
    version = PromptVersion.objects.get(family=family, version_number=3)
    assert str(version) == "npc-greeting v3"
    for url in (
        reverse("admin:generations_promptversion_changelist"),
        reverse("admin:generations_promptversion_change", args=[version.pk]),
    ):
        page = html(panel.get(url))
        assert "npc-greeting v3" in page
        assert f"{family.pk}@v" not in page


# --- Read-only pages --------------------------------------------------------------------------


SAVE_BUTTONS = ('name="_save"', 'name="_continue"', 'name="_addanother"')


def test_read_only_pages_show_no_save_button(panel, mix, workspace):
    generation = Generation.objects.get(id=mix["failed"])
    budget = Budget.objects.create(workspace=workspace, limit_usd=Decimal("1"))
    now = timezone.now()
    alert = BudgetAlert.objects.create(
        budget=budget,
        kind="threshold",
        threshold=Decimal("0.8"),
        period_start=now,
        spent_usd=Decimal("0.8"),
        limit_usd=Decimal("1"),
        created_at=now,
    )
    entry = BudgetEntry.objects.create(
        budget=budget,
        generation_id=generation.id,
        kind="reservation",
        amount_micros=40_000,
        period_start=now,
        at=now,
    )
    pages = {
        "generation": reverse("admin:generations_generation_change", args=[generation.id]),
        "event": reverse(
            "admin:generations_generationevent_change",
            args=[GenerationEvent.objects.filter(generation=generation).first().pk],
        ),
        "attempt": reverse(
            "admin:generations_providerattempt_change",
            args=[ProviderAttempt.objects.filter(generation=generation).first().pk],
        ),
        "alert": reverse("admin:budgets_budgetalert_change", args=[alert.pk]),
        "entry": reverse("admin:budgets_budgetentry_change", args=[entry.pk]),
    }
    for name, url in pages.items():
        page = html(panel.get(url))
        for button in SAVE_BUTTONS:
            assert button not in page, (name, button)
        assert 'class="closelink"' in page, name
    # Editable pages keep theirs.
    provider = html(panel.get(reverse("admin:generations_provider_change", args=["sandbox"])))
    assert 'name="_save"' in provider


def test_generation_detail_keeps_its_action_buttons(panel, mix):
    page = html(panel.get(reverse("admin:generations_generation_change", args=[mix["failed"]])))
    form_in(page, posting_to=f"{mix['failed']}/do/retry/")


# --- Precise times ----------------------------------------------------------------------------


TIME = re.compile(r"<time datetime=\"[^\"]+\">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC</time>")


def test_attempt_and_event_times_show_seconds_and_milliseconds(panel, mix):
    attempt = ProviderAttempt.objects.filter(generation_id=mix["failed"]).first()
    expected = (
        attempt.started_at.strftime("%H:%M:%S.") + f"{attempt.started_at.microsecond // 1000:03d}"
    )
    for url in (
        reverse("admin:generations_providerattempt_changelist"),
        reverse("admin:generations_providerattempt_change", args=[attempt.pk]),
        reverse("admin:generations_generation_change", args=[mix["failed"]]),
    ):
        page = html(panel.get(url))
        assert expected in page, url
        assert TIME.search(page), url
    events = html(panel.get(reverse("admin:generations_generationevent_changelist")))
    assert TIME.search(events)


def test_audit_lists_never_load_the_generations_and_keep_their_query_count(panel, mix, api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(url: str) -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            assert panel.get(url).status_code == 200
        return [q["sql"] for q in captured.captured_queries]

    urls = [
        reverse("admin:generations_generationevent_changelist"),
        reverse("admin:generations_providerattempt_changelist"),
    ]
    few = {url: queries(url) for url in urls}
    for i in range(5):
        api.post(URL, create_body(config={"prompt": f"more {i}"}), format="json")
    for url in urls:
        many = queries(url)
        assert len(many) == len(few[url]), url
        assert not any('"generations_generation"."config"' in sql for sql in many), url
