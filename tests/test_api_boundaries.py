"""API paths answer in the envelope where Django would answer on its own: an unrouted
path is a JSON ``404`` (with ``DEBUG`` on and off), a trailing slash names the routed
path, and a body over the cap is ``413 request_too_large``."""

from __future__ import annotations

import pytest
from django.test import Client

from generations.models import Generation
from tests.builders import create_body


def _assert_envelope(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    return body["error"]


@pytest.mark.parametrize("debug", [True, False], ids=["DEBUG on", "DEBUG off"])
@pytest.mark.parametrize(
    "path",
    ["/api/", "/api/v1/", "/api/v1/nothing-here", "/api/v2/generations", "/api/v1/generations/x"],
)
def test_an_unrouted_api_path_is_a_json_404(api, settings, debug, path):
    settings.DEBUG = debug
    error = _assert_envelope(api.get(path), 404, "not_found")
    assert path in error["message"]
    assert error["fields"] == {}


@pytest.mark.parametrize("debug", [True, False], ids=["DEBUG on", "DEBUG off"])
def test_a_trailing_slash_is_a_404_naming_the_routed_path(api, settings, debug, no_dispatch):
    settings.DEBUG = debug
    for method in ("get", "post"):
        response = getattr(api, method)("/api/v1/generations/", create_body(), format="json")
        error = _assert_envelope(response, 404, "not_found")
        assert "use /api/v1/generations." in error["message"]
        assert error["fields"]["path"][0]["code"] == "trailing_slash"
    assert Generation.objects.count() == 0  # the POST created nothing
    assert api.get("/api/v1/generations").status_code == 200


def test_an_unrouted_api_path_is_a_json_404_anonymously_too(db, settings):
    settings.DEBUG = True
    _assert_envelope(Client().get("/api/v1/nothing"), 404, "not_found")


def test_admin_pages_keep_django_s_html_404(admin_client, settings):
    settings.DEBUG = False
    response = admin_client.get("/admin/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_body_over_the_cap_is_413_request_too_large(api, settings, no_dispatch):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
    body = create_body(description="x" * 300_000)
    for url in ("/api/v1/generations", "/api/v1/generations/validate"):
        error = _assert_envelope(api.post(url, body, format="json"), 413, "request_too_large")
        assert error["message"] == "The request body is larger than 256 KiB."
        assert "DATA_UPLOAD_MAX_MEMORY_SIZE" not in error["message"]
    assert Generation.objects.count() == 0


def test_a_body_over_the_cap_is_413_before_authentication(db, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = Client().post("/api/v1/generations", "x" * 1001, content_type="application/json")
    error = _assert_envelope(response, 413, "request_too_large")
    assert error["message"] == "The request body is larger than 1000 bytes."


def test_a_body_at_the_cap_is_read(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
    body = create_body(description="x" * 1000)
    assert api.post("/api/v1/generations/validate", body, format="json").status_code == 200
