"""Every form and action of the dev panel, submitted by a logged-in staff user with CSRF
enforced (the token and the fields read from the rendered page), checked by its result.

Covered: the cache monitor's flush (preview, confirm, refused without a filter, on Redis
and on the database cache); the validation page's interactive validator (valid, invalid,
not JSON); a generation's Cancel, Retry and Invalidate buttons; the generations list's
actions (cancel, retry, invalidate); the provider change form (valid save, invalid JSON
settings); the prompt version form and the prompt family form with its inline versions;
the workspace form with its membership inline; and a cache outage during "invalidate".
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from caching.services import cache_slot_get
from generations.models import (
    Generation,
    PromptFamily,
    PromptVersion,
    Provider,
    Status,
    Workspace,
    WorkspaceMembership,
)
from tests.admin.html_forms import form_in, messages_of, submit
from tests.builders import create_body, transition_body
from tests.caching.backends import point_cache_at_closed_port, use_database_cache

URL = "/api/v1/generations"
CHANGELIST = reverse("admin:generations_generation_changelist")
CACHE = reverse("admin:genpipe_cache")
VALIDATION = reverse("admin:genpipe_validation")


def detail(generation_id: Any) -> str:
    return reverse("admin:generations_generation_change", args=[generation_id])


@pytest.fixture
def panel(db: Any, django_user_model: Any) -> Client:
    staff = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-1")
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    return client


@pytest.fixture
def make(api: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """POST a create request; the task runs eagerly once the create commits."""

    def create(body: dict[str, Any]) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return api.post(URL, body, format="json")

    return create


@pytest.fixture
def completed(make: Any) -> Generation:
    """A completed generation that identical requests are answered with."""
    first = make(create_body())
    assert first.status_code == 201
    repeat = make(create_body())
    assert repeat.status_code == 200 and repeat.json()["id"] == first.json()["id"]
    generation = Generation.objects.get(id=first.json()["id"])
    assert generation.status == Status.COMPLETED
    return generation


@pytest.fixture
def failed(make: Any, sandbox: Provider) -> Generation:
    sandbox.settings = {"failure_rate": 1.0, "failure_code": "sandbox_busy"}
    sandbox.save()
    generation = Generation.objects.get(
        id=make(create_body(config={"prompt": "doomed"})).json()["id"]
    )
    sandbox.settings = {}
    sandbox.save()
    assert generation.status == Status.FAILED
    return generation


@pytest.fixture
def pending(api: Any) -> Generation:
    """A pending generation (its task is never run: nothing is committed in the test)."""
    return Generation.objects.get(id=api.post(URL, transition_body(), format="json").json()["id"])


def assert_regenerates(make: Any, api: Any, old: Generation, body: dict[str, Any]) -> None:
    again = make(body)
    assert again.status_code == 201, again.json()
    assert again.json()["id"] != str(old.id)
    read = api.get(f"{URL}/{old.id}").json()
    assert read["id"] == str(old.id) and read["status"] == "completed"
    old.refresh_from_db()
    assert old.invalidated_at is not None and old.status == Status.COMPLETED


def test_csrf_is_enforced_on_the_panel_forms(panel, completed):
    """Without the token read from the page, nothing is done."""
    assert panel.post(CACHE, {"everything": "on", "confirm": "yes"}).status_code == 403
    action = reverse("admin:generations_generation_action", args=[completed.id, "invalidate"])
    assert panel.post(action).status_code == 403
    assert cache_slot_get(workspace_id=completed.workspace_id, key=completed.cache_key)
    completed.refresh_from_db()
    assert completed.invalidated_at is None


# --- Cache monitor ---------------------------------------------------------------------


@pytest.fixture(params=[pytest.param("redis", marks=pytest.mark.redis), "database"])
def slots_backend(request: pytest.FixtureRequest, settings: Any, db: Any) -> str:
    if request.param == "database":
        use_database_cache(settings)
    return request.param


def test_cache_flush_preview_lists_the_slots_that_would_go_and_deletes_nothing(
    slots_backend, panel, make
):
    once = [
        Generation.objects.get(id=make(create_body(config={"prompt": p})).json()["id"])
        for p in ("a lighthouse", "a harbour")
    ]
    other = Generation.objects.get(id=make(transition_body()).json()["id"])

    page = submit(panel, CACHE, containing="strategy", strategy="once")

    assert page.status_code == 200
    html = page.content.decode()
    assert "<strong>2</strong> slot(s) would be deleted · once 2" in html
    for generation in once:
        assert f"<code>{generation.cache_key}</code>" in html
    assert other.cache_key not in html
    assert 'name="confirm" value="yes"' in html and "Delete 2 slot(s)" in html
    for generation in [*once, other]:
        assert cache_slot_get(workspace_id=generation.workspace_id, key=generation.cache_key)


def test_cache_flush_confirm_deletes_the_slots_and_identical_requests_regenerate(
    slots_backend, panel, make, api
):
    body = create_body(config={"prompt": "a lighthouse"})
    old = Generation.objects.get(id=make(body).json()["id"])
    kept = Generation.objects.get(id=make(transition_body()).json()["id"])
    assert make(body).status_code == 200  # a hit before the flush

    preview = submit(panel, CACHE, containing="strategy", strategy="once")
    done = submit(panel, preview, containing="confirm")  # the preview's own form: confirm=yes

    assert done.redirect_chain == [(CACHE, 302)]
    assert messages_of(done) == [
        (
            "success",
            "Deleted 1 cache slot(s); 1 generation(s) invalidated: identical requests "
            "generate again.",
        )
    ]
    assert cache_slot_get(workspace_id=old.workspace_id, key=old.cache_key) is None
    assert cache_slot_get(workspace_id=kept.workspace_id, key=kept.cache_key) == str(kept.id)
    assert_regenerates(make, api, old, body)


def test_cache_flush_without_a_filter_is_refused(panel, completed):
    page = submit(panel, CACHE, containing="strategy")
    assert "Choose a filter, or tick" in page.content.decode()
    assert cache_slot_get(workspace_id=completed.workspace_id, key=completed.cache_key)


def test_cache_flush_preview_of_nothing_offers_no_delete(panel, completed):
    html = submit(panel, CACHE, containing="strategy", scene="nowhere").content.decode()
    assert "<strong>0</strong> slot(s) would be deleted" in html
    assert 'name="confirm"' not in html


# --- Validation health ----------------------------------------------------------------


def test_validator_shows_the_hash_and_key_of_a_valid_config(panel, api, workspace):
    config = create_body()["config"]
    page = submit(
        panel, VALIDATION, containing="body", workspace=workspace.id, body=json.dumps(config)
    )
    html = page.content.decode()
    expected = api.post(f"{URL}/validate", create_body(), format="json").json()
    assert expected["valid"] is True
    assert "<h3>Valid</h3>" in html and "<h4>Errors (0)</h4>" in html
    assert f'<code id="gp-hash">{expected["reproducible_hash"]}</code>' in html
    assert f'<code id="gp-cache-key">{expected["cache_key"]}</code>' in html


def test_validator_lists_the_errors_of_an_invalid_config(panel, workspace):
    body = {
        "generationType": "transition",
        "purpose": "gap_fill",
        "strategy": "once",
        "duration": {"min": 30, "max": 10},
    }
    html = submit(
        panel, VALIDATION, containing="body", workspace=workspace.id, body=json.dumps(body)
    ).content.decode()
    assert "<h3>Invalid</h3>" in html
    assert "<code>duration_range_invalid</code>" in html
    assert "<code>image_urls_required</code>" in html
    assert 'id="gp-hash"' not in html


def test_validator_refuses_text_that_is_not_json(panel, workspace):
    html = submit(
        panel, VALIDATION, containing="body", workspace=workspace.id, body="{nope"
    ).content.decode()
    assert "Not JSON" in html and 'id="gp-report"' not in html


# --- A generation's buttons ------------------------------------------------------------


def test_cancel_button_cancels_a_pending_generation(panel, pending):
    done = submit(panel, detail(pending.id), posting_to="/do/cancel/")
    assert messages_of(done) == [("success", "Cancelled.")]
    pending.refresh_from_db()
    assert pending.status == Status.CANCELLED
    assert pending.events.filter(to_status="cancelled", actor="admin:root").exists()
    assert "/do/cancel/" not in done.content.decode()  # a cancelled one has no Cancel


def test_retry_button_creates_a_child_and_opens_it(panel, failed):
    html = panel.get(detail(failed.id)).content.decode()
    assert "/do/cancel/" not in html
    done = submit(panel, detail(failed.id), posting_to="/do/retry/")
    child = Generation.objects.get(parent=failed)
    assert child.retry_count == failed.retry_count + 1
    assert child.status == Status.PENDING  # its task runs when the request commits
    assert done.redirect_chain[-1] == (detail(child.id), 302)
    assert messages_of(done) == [("success", f"Retry {child.id} created.")]


def test_invalidate_button_makes_identical_requests_regenerate(panel, completed, make, api):
    done = submit(panel, detail(completed.id), posting_to="/do/invalidate/")
    assert messages_of(done) == [
        (
            "success",
            "Cache slot deleted; 1 generation(s) invalidated: the next identical request "
            "generates again.",
        )
    ]
    assert cache_slot_get(workspace_id=completed.workspace_id, key=completed.cache_key) is None
    assert_regenerates(make, api, completed, create_body())


def test_invalidate_button_reports_an_unreachable_cache_as_an_error(panel, completed, settings):
    page = panel.get(detail(completed.id))  # rendered while the cache is up
    point_cache_at_closed_port(settings)
    done = submit(panel, page, posting_to="/do/invalidate/")
    [(level, text)] = messages_of(done)
    assert level == "error"
    assert "cannot be reached" in text and "already empty" not in text
    completed.refresh_from_db()
    assert completed.invalidated_at is None


# --- The generations list's actions ----------------------------------------------------


def run_action(panel: Client, action: str, ids: list[Any]) -> Any:
    return submit(
        panel,
        CHANGELIST,
        form_id="changelist-form",
        action=action,
        _selected_action=[str(i) for i in ids],
    )


def test_cancel_action_cancels_the_pending_and_counts_the_finished(panel, pending, completed):
    done = run_action(panel, "cancel_selected", [pending.id, completed.id])
    assert messages_of(done) == [("success", "Cancelled 1; 1 were already finished.")]
    pending.refresh_from_db()
    completed.refresh_from_db()
    assert (pending.status, completed.status) == (Status.CANCELLED, Status.COMPLETED)


def test_retry_action_creates_children_of_the_failed_only(panel, failed, completed):
    done = run_action(panel, "retry_selected", [failed.id, completed.id])
    assert messages_of(done) == [("success", "Created 1 retries; 1 were not failed or cancelled.")]
    child = Generation.objects.get(parent=failed)
    assert child.retry_count == 1
    assert not Generation.objects.filter(parent=completed).exists()


def test_invalidate_action_makes_identical_requests_regenerate(panel, completed, make, api):
    done = run_action(panel, "invalidate_slots", [completed.id])
    assert messages_of(done) == [
        (
            "success",
            "Deleted 1 cache slot(s); 1 generation(s) invalidated: identical requests "
            "generate again.",
        )
    ]
    assert_regenerates(make, api, completed, create_body())


def test_invalidate_action_reports_an_unreachable_cache_as_an_error(panel, completed, settings):
    page = panel.get(CHANGELIST)
    point_cache_at_closed_port(settings)
    done = submit(
        panel,
        page,
        form_id="changelist-form",
        action="invalidate_slots",
        _selected_action=[str(completed.id)],
    )
    [(level, text)] = messages_of(done)
    assert level == "error" and "cannot be reached" in text
    completed.refresh_from_db()
    assert completed.invalidated_at is None


# --- Editable models -------------------------------------------------------------------


def test_provider_form_saves_a_valid_change(panel, sandbox):
    url = reverse("admin:generations_provider_change", args=["sandbox"])
    done = submit(
        panel,
        url,
        containing="settings",
        name="Sandbox (slow)",
        settings='{"latency_ms": 250, "failure_rate": 0.1}',
        read_timeout_s="30",
    )
    assert done.redirect_chain[-1][0] == reverse("admin:generations_provider_changelist")
    provider = Provider.objects.get(id="sandbox")
    assert provider.name == "Sandbox (slow)"
    assert provider.settings == {"latency_ms": 250, "failure_rate": 0.1}
    assert provider.read_timeout_s == 30
    assert provider.operation_types == sandbox.operation_types  # untouched fields kept


def test_provider_form_refuses_settings_that_are_not_json(panel, sandbox):
    url = reverse("admin:generations_provider_change", args=["sandbox"])
    page = submit(panel, url, containing="settings", name="Broken", settings="{latency_ms: 5")
    assert page.status_code == 200 and not page.redirect_chain
    assert "Enter a valid JSON." in page.content.decode()
    provider = Provider.objects.get(id="sandbox")
    assert (provider.name, provider.settings) == ("Sandbox", sandbox.settings)


@pytest.fixture
def family(workspace: Workspace) -> PromptFamily:
    return PromptFamily.objects.create(workspace=workspace, slug="greeting", title="Greeting")


def test_prompt_version_form_adds_a_version(panel, family):
    url = reverse("admin:generations_promptversion_add")
    done = submit(
        panel,
        url,
        containing="template",
        family=str(family.id),
        version_number="1",
        template="Hello {{name}} from {{place}}",
        variables='{"name": null, "place": "the harbour"}',
        weight="2",
    )
    assert done.redirect_chain[-1][0] == reverse("admin:generations_promptversion_changelist")
    version = PromptVersion.objects.get(family=family)
    assert version.variables == {"name": None, "place": "the harbour"}
    assert (version.version_number, version.weight, version.is_active) == (1, 2, True)
    assert "name, place" in done.content.decode()  # the list's placeholders column


def test_prompt_version_form_refuses_bad_variables_and_an_empty_template(panel, family):
    url = reverse("admin:generations_promptversion_add")
    page = submit(
        panel,
        url,
        containing="template",
        family=str(family.id),
        version_number="1",
        template="   ",
        variables='{"not a name": "x"}',
    )
    html = page.content.decode()
    assert "is not a valid variable name" in html
    assert not PromptVersion.objects.exists()
    page = submit(
        panel,
        url,
        containing="template",
        family=str(family.id),
        version_number="1",
        template="   ",
        variables="{}",
    )
    assert "The template is empty." in page.content.decode()
    assert not PromptVersion.objects.exists()


def test_prompt_family_form_saves_its_inline_versions(panel, workspace):
    url = reverse("admin:generations_promptfamily_add")
    done = submit(
        panel,
        url,
        containing="slug",
        workspace=str(workspace.id),
        slug="farewell",
        title="Farewell",
        **{
            "versions-TOTAL_FORMS": "1",
            "versions-0-version_number": "3",
            "versions-0-template": "Bye {{name}}",
            "versions-0-variables": '{"name": "traveller"}',
            "versions-0-is_active": "on",
            "versions-0-weight": "1",
        },
    )
    assert done.redirect_chain, messages_of(done)
    family = PromptFamily.objects.get(slug="farewell", workspace=workspace)
    version = family.versions.get()
    assert (version.version_number, version.variables) == (3, {"name": "traveller"})


def test_workspace_form_saves_its_memberships(panel, user, sandbox):
    url = reverse("admin:generations_workspace_add")
    done = submit(
        panel,
        url,
        containing="slug",
        slug="guild",
        name="Guild",
        max_content_rating="sfw",
        default_provider="sandbox",
        **{
            "memberships-TOTAL_FORMS": "1",
            "memberships-0-user": str(user.id),
            "memberships-0-role": "owner",
        },
    )
    assert done.redirect_chain, messages_of(done)
    workspace = Workspace.objects.get(slug="guild")
    assert (workspace.max_content_rating, workspace.default_provider_id) == ("sfw", "sandbox")
    membership = WorkspaceMembership.objects.get(workspace=workspace)
    assert (membership.user_id, membership.role) == (user.id, "owner")


def test_generation_detail_save_changes_nothing(panel, completed):
    """Every field of a generation is read-only: the page has no Save button, and a post
    of its form (as if it had one) saves nothing."""
    before = Generation.objects.values().get(id=completed.id)
    page = panel.get(detail(completed.id)).content.decode()
    assert 'name="_save"' not in page and 'name="_continue"' not in page
    form = form_in(page, form_id="generation_form")
    done = panel.post(detail(completed.id), form.data(_save="Save"), follow=True)
    assert done.redirect_chain[-1][0] == CHANGELIST
    after = Generation.objects.values().get(id=completed.id)
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }


# --- The circuit breaker: the dashboard's button and the providers list's action -------

PROVIDERS = reverse("admin:genpipe_providers")


def _open_breaker(provider: Provider) -> None:
    from django.utils import timezone

    from generations.services.breaker import breaker_record

    for _ in range(5):
        breaker_record(
            provider=provider,
            succeeded=False,
            provider_fault=True,
            probe=False,
            now=timezone.now(),
        )


def test_the_dashboard_button_closes_an_open_breaker(panel, sandbox):
    from generations.models import ProviderBreaker

    _open_breaker(sandbox)
    page = panel.get(PROVIDERS)
    html = page.content.decode()
    assert "Circuit breaker: <strong>open</strong>" in html
    assert "circuit open: 5 consecutive failures" in html
    done = submit(panel, page, containing="Close the breaker now")
    assert ("success", "Closed the circuit breaker of sandbox.") in messages_of(done)
    assert ProviderBreaker.objects.get(provider=sandbox).state == "closed"
    after = done.content.decode()
    assert "Circuit breaker: <strong>closed</strong>" in after
    assert "Close the breaker now" not in after
    assert (
        panel.get(reverse("admin:generations_provider_reset_breaker", args=["sandbox"])).status_code
        == 405
    )


def test_the_providers_list_action_closes_the_selected_breakers(panel, sandbox):
    from generations.models import ProviderBreaker

    changelist = reverse("admin:generations_provider_changelist")
    _open_breaker(sandbox)
    assert "open until" in panel.get(changelist).content.decode()
    done = submit(
        panel,
        changelist,
        containing="action",
        action="reset_breakers",
        _selected_action=["sandbox"],
    )
    assert ("success", "Closed the circuit breaker of sandbox.") in messages_of(done)
    assert ProviderBreaker.objects.get(provider=sandbox).state == "closed"
    again = submit(
        panel,
        changelist,
        containing="action",
        action="reset_breakers",
        _selected_action=["sandbox"],
    )
    assert ("info", "Every selected breaker was already closed.") in messages_of(again)
