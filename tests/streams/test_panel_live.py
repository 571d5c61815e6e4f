"""The dev panel's generation pages follow the event stream in a real Chromium: the page
served by uvicorn (the ASGI application), the generation processed by a real worker, the
badge changing without a reload."""

from __future__ import annotations

import uuid

import httpx
import pytest
from django.db import connections

from tests.builders import create_body
from tests.e2e.test_browser import chromium
from tests.streams.conftest import auth

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def panel(server, django_user_model, monkeypatch, settings):
    sync_api = pytest.importorskip("playwright.sync_api")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    executable = chromium()
    if executable is None:
        pytest.fail("Chromium is not installed (apt-get install chromium)")
    # The server checks the password with the project's hashers, not the suite's fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"],
        )
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server.url}/admin/login/")
        page.fill("#id_username", "root")
        page.fill("#id_password", "pw-root-123")
        page.click("input[type=submit]")
        page.wait_for_url(f"{server.url}/admin/")
        yield page
        browser.close()
        # ORM calls made under Playwright's sync API got a connection of their own context.
        connections.close_all()
        assert errors == []


def _slow_generation(server, token: str, sandbox) -> str:
    sandbox.settings = {"latency_ms": 2500, "failure_rate": 0.0}
    sandbox.save()
    body = create_body(config={"prompt": f"a lighthouse {uuid.uuid4().hex}"})
    response = httpx.post(
        f"{server.url}/api/v1/generations", json=body, headers=auth(token), timeout=30
    )
    assert response.status_code == 201
    return response.json()["id"]


def test_the_detail_page_follows_the_generation_without_a_reload(panel, server, token, sandbox):
    generation_id = _slow_generation(server, token, sandbox)
    panel.goto(f"{server.url}/admin/generations/generation/{generation_id}/change/")
    badge = panel.locator(".field-badge .gp-badge")
    assert badge.inner_text().lower() in {"pending", "processing"}
    panel.evaluate("window.gpNotReloaded = true")
    panel.wait_for_function(
        "document.querySelector('.field-badge .gp-badge').textContent === 'completed'",
        timeout=30000,
    )
    assert panel.evaluate("window.gpNotReloaded") is True
    assert "completed" in panel.locator("#gp-live-log").inner_text()
    assert panel.locator("[data-gp-while-running]").count() == 1  # the Cancel button...
    assert not panel.locator("[data-gp-while-running]").is_visible()  # ...gone when done


def test_the_list_updates_a_row_badge_without_a_reload(panel, server, token, sandbox):
    generation_id = _slow_generation(server, token, sandbox)
    panel.goto(f"{server.url}/admin/generations/generation/")
    row = panel.locator(f"#result_list tr:has(input.action-select[value='{generation_id}'])")
    assert row.locator(".gp-badge").inner_text().lower() in {"pending", "processing"}
    panel.evaluate("window.gpNotReloaded = true")
    row.locator(".gp-badge.gp-status-completed").wait_for(timeout=30000)
    assert panel.evaluate("window.gpNotReloaded") is True
    assert "gp-live-updated" in (row.get_attribute("class") or "")
    # The status chip is a link to its status's list: it follows the new status too.
    href = row.locator(".gp-badge").get_attribute("href") or ""
    assert "status__exact=completed" in href, href
