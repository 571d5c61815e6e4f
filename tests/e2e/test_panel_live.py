"""The dev panel's behaviour in a real headless Chromium: the dashboards refresh themselves
(and stop when paused), ``?highlight=`` says where a missing row is, and the status chips,
counts and error types lead to the generations they name."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tests.builders import create_body
from tests.e2e.test_browser import browser_page  # noqa: F401  (the logged-in page)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
URL = "/api/v1/generations"
CARD_COUNT = '[data-provider="sandbox"] [data-count="last_24h.total"]'


@pytest.fixture
def create(api, django_capture_on_commit_callbacks, request, settings) -> Any:
    """Create a generation through the API; its task runs once the create commits."""
    if settings.REDIS_URL:
        request.getfixturevalue("telemetry_redis")
    counter = iter(range(1000))

    def make(**config: Any) -> str:
        config.setdefault("prompt", f"harbour at dawn {next(counter)}")
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(URL, create_body(config=config), format="json")
        assert response.status_code == 201, response.json()
        return response.json()["id"]

    return make


def test_dashboard_refreshes_itself_and_stops_when_paused(browser_page, live_server, create):  # noqa: F811
    page, errors = browser_page
    create()
    page.goto(live_server.url + reverse("admin:genpipe_providers") + "?refresh=2")
    assert page.locator(CARD_COUNT).inner_text() == "1"
    assert page.locator("#gp-refresh").get_attribute("data-state") == "on"
    page.evaluate("window.gpNotReloaded = true")

    create()
    page.wait_for_function(
        f"document.querySelector('{CARD_COUNT}').textContent === '2'", timeout=15_000
    )
    assert page.evaluate("window.gpNotReloaded") is True  # swapped in place, not reloaded
    assert "updated" in page.locator("#gp-refresh-status").inner_text()

    page.click("#gp-refresh-toggle")
    assert page.locator("#gp-refresh").get_attribute("data-state") == "paused"
    assert page.locator("#gp-refresh-toggle").inner_text() == "Resume"
    refreshes = page.locator("#gp-refresh").get_attribute("data-refreshes")
    create()
    page.wait_for_timeout(5_000)  # more than two intervals
    assert page.locator(CARD_COUNT).inner_text() == "2"
    assert page.locator("#gp-refresh").get_attribute("data-refreshes") == refreshes

    page.click("#gp-refresh-toggle")
    page.wait_for_function(
        f"document.querySelector('{CARD_COUNT}').textContent === '3'", timeout=15_000
    )

    # The interval chosen in the page is remembered; a URL's ?refresh= still wins.
    page.select_option("#gp-refresh-interval", "0")
    assert page.locator("#gp-refresh").get_attribute("data-state") == "off"
    page.goto(live_server.url + reverse("admin:genpipe_cache"))
    assert page.locator("#gp-refresh-interval").input_value() == "0"
    assert page.locator("#gp-refresh").get_attribute("data-state") == "off"
    assert page.locator("#gp-refresh-toggle").is_disabled()
    page.goto(live_server.url + reverse("admin:genpipe_cache") + "?refresh=10")
    assert page.locator("#gp-refresh-interval").input_value() == "10"
    assert errors == []


def test_a_refresh_leaves_the_form_being_filled_in_alone(browser_page, live_server, create):  # noqa: F811
    page, errors = browser_page
    create()
    page.goto(live_server.url + reverse("admin:genpipe_validation") + "?refresh=2")
    page.fill("textarea[name=body]", '{"prompt": "half typed')
    refreshes = int(page.locator("#gp-refresh").get_attribute("data-refreshes") or 0)
    page.wait_for_function(
        f"Number(document.getElementById('gp-refresh').dataset.refreshes || 0) > {refreshes}",
        timeout=15_000,
    )
    assert page.locator("textarea[name=body]").input_value() == '{"prompt": "half typed'
    assert errors == []


def test_highlight_chips_and_error_links_lead_to_the_generations(
    browser_page,  # noqa: F811
    live_server,
    create,
    sandbox,
):
    page, errors = browser_page
    done = create()
    sandbox.settings = {"failure_rate": 1.0, "failure_code": "sandbox_busy"}
    sandbox.save()
    failed = create(prompt="doomed")
    sandbox.settings = {}
    sandbox.save()
    changelist = reverse("admin:generations_generation_changelist")

    # The highlighted generation is filtered out: the list says so and leads to it.
    page.goto(f"{live_server.url}{changelist}?status__exact=completed&highlight={failed}")
    notice = page.locator("#gp-highlight-missing")
    assert notice.is_visible() and failed[:8] in notice.inner_text()
    assert page.locator("tr.gp-highlight").count() == 0
    page.click("#gp-highlight-list")
    page.wait_for_load_state()
    row = page.locator("tr.gp-highlight")
    assert row.count() == 1 and failed[:8] in row.inner_text()
    assert page.locator("#gp-highlight-missing").count() == 0

    # A status chip in a row filters the list by that status.
    page.goto(live_server.url + changelist)
    page.locator("#result_list a.gp-status-completed").first.click()
    page.wait_for_load_state()
    assert "status__exact=completed" in page.url
    shown = page.locator("#result_list tbody tr").all_inner_texts()
    assert len(shown) == 1 and done[:8] in shown[0]

    # An error type on the provider page lists the generations that had it.
    page.goto(live_server.url + reverse("admin:genpipe_providers") + "?refresh=0")
    page.locator("#gp-errors a", has_text="sandbox_busy").click()
    page.wait_for_load_state()
    assert "error=sandbox_busy" in page.url
    shown = page.locator("#result_list tbody tr").all_inner_texts()
    assert len(shown) == 1 and failed[:8] in shown[0]

    # The short id the list shows finds the generation in the search box.
    page.goto(live_server.url + changelist)
    page.fill("#searchbar", failed[:8])
    page.press("#searchbar", "Enter")
    page.wait_for_load_state()
    shown = page.locator("#result_list tbody tr").all_inner_texts()
    assert len(shown) == 1 and failed[:8] in shown[0]
    assert errors == []
