"""Every dev panel page once in a real headless Chromium: loads, no console errors, charts.

Needs Chromium from the system's packages (``/usr/bin/chromium``, or ``GENPIPE_CHROMIUM``)
and the ``playwright`` package (its driver only; no browser download). The README's
screenshots come from the demo instead: ``python3 scripts/screenshots.py``.
"""

from __future__ import annotations

import os
import shutil

import pytest
from django.db import connections
from django.urls import reverse

from generations.models import Generation
from tests.builders import create_body, transition_body

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
URL = "/api/v1/generations"


def chromium() -> str | None:
    return (
        os.environ.get("GENPIPE_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )


@pytest.fixture
def browser_page(live_server, django_user_model, monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # meanwhile are still plain synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    executable = chromium()
    if executable is None:
        pytest.fail("Chromium is not installed (apt-get install chromium)")
    django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        # The browser asks for /favicon.ico on its own; that 404 is not a page error.
        page.on(
            "console",
            lambda m: (
                errors.append(m.text)
                if m.type == "error" and "favicon" not in (m.location or {}).get("url", "")
                else None
            ),
        )
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on(
            "response",
            lambda r: (
                errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico")
                else None
            ),
        )
        page.goto(live_server.url + "/admin/login/")
        page.fill("#id_username", "root")
        page.fill("#id_password", "pw-root-123")
        page.click("input[type=submit]")
        page.wait_for_url(live_server.url + "/admin/")
        yield page, errors
        browser.close()
        # ORM calls made under Playwright's sync API got a connection of their own context.
        connections.close_all()


def test_every_dev_panel_page_renders_in_a_browser(
    browser_page,
    live_server,
    api,
    sandbox,
    django_capture_on_commit_callbacks,
    request,
    settings,
):
    if settings.REDIS_URL:
        request.getfixturevalue("telemetry_redis")  # a clean Redis database for the figures
    page, errors = browser_page
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(6):
            api.post(URL, create_body(config={"prompt": f"lighthouse {i}"}), format="json")
        api.post(URL, create_body(config={"generation_type": "dialogue"}), format="json")
        api.post(
            f"{URL}/validate", create_body(config={"duration": {"min": 9, "max": 1}}), format="json"
        )
    sandbox.settings = {"failure_rate": 1.0}
    sandbox.save()
    with django_capture_on_commit_callbacks(execute=True):
        api.post(URL, create_body(config={"prompt": "doomed"}), format="json")
    pending = api.post(URL, transition_body(), format="json").json()["id"]
    done = Generation.objects.filter(status="completed").first()
    assert done is not None

    pages = {
        "panel": (reverse("admin:genpipe_panel"), "Recent Generations", 0),
        "generations": (
            reverse("admin:generations_generation_changelist") + f"?highlight={pending}",
            "gp-status-counts",
            0,
        ),
        "generation": (
            reverse("admin:generations_generation_change", args=[done.id]),
            "canonical_version",
            0,
        ),
        "providers": (reverse("admin:genpipe_providers"), "Provider health", 2),
        "cache": (reverse("admin:genpipe_cache"), "Cache monitor", 0),
        "validation": (reverse("admin:genpipe_validation"), "Validation health", 0),
        "index": ("/admin/", "Generation pipeline", 0),
    }
    for name, (path, marker, charts) in pages.items():
        response = page.goto(live_server.url + path)
        assert response is not None and response.status == 200, name
        assert marker in page.content(), name
        rendered = page.locator("svg.gp-chart")
        assert rendered.count() >= charts, name
        for index in range(rendered.count()):
            box = rendered.nth(index).bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 50, name
        if name == "generations":
            assert page.locator("tr.gp-highlight").count() == 1
            # The badge colours come from the dev panel's stylesheet, a static file.
            badge = page.locator("#result_list .gp-status-completed").first
            colour = badge.evaluate("e => getComputedStyle(e).backgroundColor")
            assert colour == "rgb(46, 125, 50)"
    assert errors == []
