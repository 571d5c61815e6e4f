"""The dev panel as a staff user sees it: real data, real numbers, permissions, CSRF."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from generations.models import Generation, Provider
from tests.builders import create_body

URL = "/api/v1/generations"
CHANGELIST = "/admin/generations/generation/"


@pytest.fixture
def staff(db, django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123")


@pytest.fixture
def admin_client_(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def text(response) -> str:
    return response.content.decode()


def test_changelist_shows_badges_and_counts_over_the_filtered_set(admin_client_, mix):
    page = text(admin_client_.get(CHANGELIST))
    assert 'class="gp-badge gp-status-completed"' in page
    assert re.search(r'data-status="completed">2<', page)
    assert re.search(r'data-status="failed">1<', page)
    assert re.search(r'data-status="pending">1<', page)
    filtered = text(admin_client_.get(CHANGELIST, {"status__exact": "failed"}))
    assert re.search(r'data-status="completed">0<', filtered)
    assert re.search(r'data-status="failed">1<', filtered)
    with_error = text(admin_client_.get(CHANGELIST, {"has_error": "yes"}))
    assert mix["failed"][:8] in with_error and mix["done"][:8] not in with_error


@pytest.mark.parametrize("field", ["id", "reproducible_hash", "cache_key"])
def test_changelist_search_by_id_hash_and_key(admin_client_, mix, field):
    generation = Generation.objects.get(id=mix["pending"])
    term = str(getattr(generation, field))
    page = text(admin_client_.get(CHANGELIST, {"q": term}))
    assert mix["pending"][:8] in page
    assert mix["done"][:8] not in page


def test_highlight_marks_one_row(admin_client_, mix):
    response = admin_client_.get(CHANGELIST, {"highlight": mix["failed"]})
    assert response.status_code == 200
    assert f'data-id="{mix["failed"]}"' in text(response)


def test_changelist_queries_stay_constant_as_rows_grow(
    admin_client_, api, django_assert_max_num_queries, no_dispatch
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client_.get(CHANGELIST).status_code == 200
        return len(queries)

    for i in range(3):
        api.post(URL, create_body(config={"prompt": f"a{i}"}), format="json")
    few = count()
    for i in range(30):
        api.post(URL, create_body(config={"prompt": f"b{i}"}), format="json")
    assert count() == few


def test_detail_shows_everything_about_a_generation(admin_client_, mix):
    generation = Generation.objects.get(id=mix["done"])
    page = text(
        admin_client_.get(reverse("admin:generations_generation_change", args=[generation.id]))
    )
    assert 'class="gp-json"' in page
    assert "&quot;canonical_version&quot;: 1" in page
    assert generation.reproducible_hash in page
    assert generation.cache_key in page
    assert "held by this generation" in page
    assert "data:image/svg+xml;base64," in page  # the result preview
    assert "succeeded" in page  # provider attempt row
    assert "processing" in page and "completed" in page  # audit events and timeline
    assert reverse("admin:generations_workspace_change", args=[generation.workspace_id]) in page


def test_detail_of_a_failed_generation_shows_the_error_and_a_retry_button(admin_client_, mix):
    page = text(
        admin_client_.get(reverse("admin:generations_generation_change", args=[mix["failed"]]))
    )
    assert "sandbox_busy" in page
    assert "/do/retry/" in page
    assert "/do/cancel/" not in page


def test_detail_buttons_cancel_retry_and_invalidate(admin_client_, mix):
    action = "admin:generations_generation_action"
    response = admin_client_.post(reverse(action, args=[mix["pending"], "invalidate"]))
    assert response.status_code == 302
    response = admin_client_.post(reverse(action, args=[mix["pending"], "cancel"]), follow=True)
    assert "Cancelled." in text(response)
    assert Generation.objects.get(id=mix["pending"]).status == "cancelled"
    response = admin_client_.post(reverse(action, args=[mix["pending"], "cancel"]), follow=True)
    assert "Refused" in text(response)
    response = admin_client_.post(reverse(action, args=[mix["failed"], "retry"]), follow=True)
    child = Generation.objects.get(parent_id=mix["failed"])
    assert child.retry_count == 1
    assert str(child.id) in text(response)


def test_changelist_actions_report_counts(admin_client_, mix):
    response = admin_client_.post(
        CHANGELIST,
        {
            "action": "cancel_selected",
            "_selected_action": [mix["pending"], mix["done"]],
        },
        follow=True,
    )
    assert "Cancelled 1; 1 were already finished." in text(response)


def test_actions_need_csrf(staff, mix):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    url = reverse("admin:generations_generation_action", args=[mix["pending"], "cancel"])
    assert client.post(url).status_code == 403
    assert Generation.objects.get(id=mix["pending"]).status == "pending"


def test_actions_need_change_permission(db, django_user_model, mix):
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_generation"))
    client = Client()
    client.force_login(viewer)
    assert client.get(CHANGELIST).status_code == 200
    url = reverse("admin:generations_generation_action", args=[mix["pending"], "cancel"])
    assert client.post(url).status_code == 403
    assert Generation.objects.get(id=mix["pending"]).status == "pending"


@pytest.mark.parametrize(
    "name", ["genpipe_panel", "genpipe_providers", "genpipe_cache", "genpipe_validation"]
)
def test_panel_pages_refuse_anonymous_and_non_staff(db, django_user_model, name):
    url = reverse(f"admin:{name}")
    assert Client().get(url).status_code == 302  # to the login page
    plain = django_user_model.objects.create_user("plain", password="pw")
    client = Client()
    client.force_login(plain)
    assert client.get(url).status_code == 302


def test_entry_page_and_admin_index_link_the_four_views(admin_client_, mix):
    index = text(admin_client_.get("/admin/"))
    for name in ("genpipe_providers", "genpipe_cache", "genpipe_validation"):
        assert reverse(f"admin:{name}") in index
    panel = text(admin_client_.get(reverse("admin:genpipe_panel")))
    assert "Recent Generations" in panel and "Provider Health" in panel
    assert mix["done"][:8] in panel


def test_provider_health_dashboard_shows_figures_and_charts(admin_client_, mix, settings):
    settings.REDIS_URL = ""  # from the database, same figures
    page = text(admin_client_.get(reverse("admin:genpipe_providers")))
    assert 'data-provider="sandbox"' in page
    assert "<svg" in page and "latency percentiles per hour" in page
    assert "generations finished per hour" in page
    assert "sandbox_busy" in page  # recent errors
    row = re.search(r'<tr data-provider="sandbox">.*?</tr>', page, re.S).group(0)
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    # breaker, then 24 h: generations, completed, failed, cancelled, success rate
    assert cells[2:8] == ["closed", "3", "2", "1", "0", "66.7 %"]


def test_validation_health_validates_a_pasted_config(admin_client_, workspace):
    url = reverse("admin:genpipe_validation")
    assert admin_client_.get(url).status_code == 200
    body = (
        '{"generationType": "transition", "purpose": "gap_fill", "strategy": "once", '
        '"duration": {"min": 30, "max": 10}}'
    )
    page = text(admin_client_.post(url, {"workspace": workspace.id, "body": body}))
    assert "Invalid" in page
    assert "duration_range_invalid" in page
    assert "image_urls_required" in page
    bad = text(admin_client_.post(url, {"workspace": workspace.id, "body": "{nope"}))
    assert "Not JSON" in bad


@pytest.mark.redis
def test_validation_health_counts_outcomes(admin_client_, api, telemetry_redis):
    api.post(
        f"{URL}/validate", create_body(config={"duration": {"min": 9, "max": 1}}), format="json"
    )
    api.post(URL, create_body(), format="json")
    page = text(admin_client_.get(reverse("admin:genpipe_validation")))
    assert re.search(r"invalid <strong>1</strong>", page)
    assert re.search(r"valid <strong>1</strong>", page)
    assert "duration_range_invalid" in page and "<svg" in page


def test_provider_form_validates(admin_client_, sandbox):
    url = reverse("admin:generations_provider_change", args=["sandbox"])
    page = admin_client_.get(url)
    assert page.status_code == 200
    data = {
        "id": "sandbox",
        "name": "Sandbox",
        "adapter": "sandbox",
        "base_url": "",
        "credential_env_var": "sk-live-secret",
        "operation_types": '["hologram"]',
        "settings": '{"failure_rate": 3}',
        "price_per_1k_input_tokens": "-1",
        "price_per_1k_output_tokens": "0",
        "price_per_image": "0",
        "price_per_video_second": "0",
        "connect_timeout_s": "5",
        "read_timeout_s": "60",
        "enabled": "on",
        "fallback_provider": "sandbox",
    }
    response = text(admin_client_.post(url, data))
    for message in (
        "Unknown operation types",
        "failure_rate",
        "NAME of an environment",
        "cannot be negative",
    ):
        assert message in response
    # The fallback select does not offer the provider itself: a forged choice is refused.
    fallback_errors = re.search(
        r'<ul class="errorlist"[^>]*id="id_fallback_provider_error">(.*?)</ul>', response, re.S
    )
    assert fallback_errors and "Select a valid choice" in fallback_errors.group(1)
    assert Provider.objects.get(id="sandbox").operation_types != ["hologram"]


def test_audit_admins_are_read_only(admin_client_, mix):
    assert admin_client_.get("/admin/generations/generationevent/").status_code == 200
    assert admin_client_.get("/admin/generations/generationevent/add/").status_code == 403
    assert admin_client_.get("/admin/generations/providerattempt/add/").status_code == 403


def test_cache_monitor_shows_entries(admin_client_, mix):
    page = text(admin_client_.get(reverse("admin:genpipe_cache")))
    assert 'id="gp-entries"' in page
    assert "per_playthrough 1" in page


# --- The dev panel's own admin site ---------------------------------------------------------

PANEL_PAGES = ["genpipe_panel", "genpipe_providers", "genpipe_cache", "genpipe_validation"]


def test_every_app_registers_on_the_genpipe_site():
    from django.contrib import admin

    from devpanel.sites import GenpipeAdminSite

    assert isinstance(admin.site, GenpipeAdminSite)
    assert admin.site.name == "admin"
    assert Generation in admin.site._registry and Provider in admin.site._registry
    assert all(isinstance(m.admin_site, GenpipeAdminSite) for m in admin.site._registry.values())


@pytest.mark.parametrize(
    ("old", "name"),
    [
        ("/admin/generations/generation/panel/", "genpipe_panel"),
        ("/admin/generations/generation/panel/providers/", "genpipe_providers"),
        ("/admin/generations/generation/panel/cache/", "genpipe_cache"),
        ("/admin/generations/generation/panel/validation/", "genpipe_validation"),
    ],
)
def test_the_old_panel_urls_redirect_for_good(admin_client_, old, name):
    new = reverse(f"admin:{name}")
    assert new.startswith("/admin/panel/")
    response = admin_client_.get(old, {"from": "bookmark"})
    assert response.status_code == 301
    assert response["Location"] == new + "?from=bookmark"
    assert admin_client_.get(response["Location"]).status_code == 200


@pytest.mark.parametrize("name", PANEL_PAGES)
def test_panel_pages_refuse_staff_without_the_generation_permission(db, django_user_model, name):
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.get(reverse(f"admin:{name}")).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_generation"))
    viewer = Client()
    viewer.force_login(staff)
    assert viewer.get(reverse(f"admin:{name}")).status_code == 200


def test_flushing_the_cache_needs_the_change_permission(db, django_user_model, mix):
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_generation"))
    client = Client()
    client.force_login(viewer)
    url = reverse("admin:genpipe_cache")
    page = text(client.get(url))
    assert 'id="gp-entries"' in page and "Flush cache slots" not in page
    assert client.post(url, {"everything": "on", "confirm": "yes"}).status_code == 403
    assert "per_playthrough 1" in text(client.get(url))  # nothing was flushed


def test_pages_load_the_stylesheet_and_script_as_static_files(admin_client_, mix):
    pages = [reverse(f"admin:{name}") for name in PANEL_PAGES]
    pages += [
        "/admin/",
        CHANGELIST,
        reverse("admin:generations_generation_change", args=[mix["done"]]),
    ]
    for url in pages:
        page = text(admin_client_.get(url))
        assert '<link href="/static/devpanel/devpanel.css"' in page, url
        assert "<style" not in page and 'style="' not in page, url
    changelist = text(admin_client_.get(CHANGELIST, {"highlight": mix["done"]}))
    assert '<script src="/static/devpanel/highlight.js"></script>' in changelist
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", changelist) is None  # no inline JS
