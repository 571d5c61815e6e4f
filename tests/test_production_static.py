"""Production settings under a real gunicorn serve the admin's, the dev panel's and the API
docs' static files themselves: collected, hashed, compressed and cached for good."""

from __future__ import annotations

import gzip
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "pw-ops-" + secrets.token_urlsafe(12)
# Behind the TLS-terminating proxy of a deployment; without it the site redirects to HTTPS.
PROXIED = {"X-Forwarded-Proto": "https"}
CONTENT_TYPES = {
    ".css": "text/css",
    ".js": "text/javascript",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
HASHED = re.compile(r"\.[0-9a-f]{12}\.\w+$")


@dataclass(frozen=True)
class Site:
    url: str

    def get(self, path: str, **headers: str) -> requests.Response:
        return requests.get(
            self.url + path, headers={**PROXIED, **headers}, allow_redirects=False, timeout=10
        )


def _production_env(var_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        GENPIPE_ENV="production",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        GENPIPE_VAR_DIR=str(var_dir),  # a throwaway SQLite database
        DJANGO_STATIC_ROOT=str(var_dir / "collected"),
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
        GENPIPE_ACCESS_LOG_LEVEL="WARNING",
    )
    return env


def _manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    var_dir = tmp_path_factory.mktemp("production")
    env = _production_env(var_dir)
    _manage(env, "collectstatic", "--noinput", "-v0")
    _manage(env, "migrate", "-v0")
    _manage(env, "createsuperuser", "--noinput", "--username", "ops", "--email", "ops@example.com")
    port = free_port()
    gunicorn = [sys.executable, "-m", "gunicorn", "genpipe_site.wsgi", "--workers", "1"]
    with (var_dir / "gunicorn.log").open("w") as log:
        process = subprocess.Popen(
            [*gunicorn, "--bind", f"127.0.0.1:{port}", "--timeout", "30"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        site = Site(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (var_dir / "gunicorn.log").read_text()
            try:
                if site.get("/healthz").status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
            time.sleep(0.1)
        yield site
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _static_references(page: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["'](/static/[^"']+)["']""", page)


def _assert_served(site: Site, reference: str) -> requests.Response:
    response = site.get(reference, **{"Accept-Encoding": "identity"})
    assert response.status_code == 200, reference
    suffix = Path(reference).suffix
    assert response.headers["Content-Type"].startswith(CONTENT_TYPES[suffix]), reference
    assert "Content-Encoding" not in response.headers
    assert HASHED.search(reference), f"{reference} is not a manifest-hashed name"
    assert "immutable" in response.headers["Cache-Control"], reference
    max_age = int(re.search(r"max-age=(\d+)", response.headers["Cache-Control"])[1])
    assert max_age >= 365 * 24 * 3600, reference
    return response


def _log_in(site: Site) -> str:
    """Log in through the admin's form, as a browser behind the proxy would; the session id.
    The cookies are Secure, so they are handed back by hand over the plain-HTTP socket."""
    form = site.get("/admin/login/")
    csrf = form.cookies["csrftoken"]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)[1]
    response = requests.post(
        site.url + "/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": token, "username": "ops", "password": PASSWORD},
        headers={
            **PROXIED,
            "Cookie": f"csrftoken={csrf}",
            "Origin": site.url.replace("http://", "https://"),
        },
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text
    return response.cookies["sessionid"]


def test_admin_and_dev_panel_static_files_are_served(site):
    login = site.get("/admin/login/")
    assert login.status_code == 200
    references = _static_references(login.text)
    assert any(re.fullmatch(r"/static/admin/css/base\.[0-9a-f]{12}\.css", r) for r in references)
    session = _log_in(site)
    pages = {
        "/admin/": "Generation pipeline",
        "/admin/panel/": "Status of every generation",
        "/admin/panel/providers/": "Provider health",
        "/admin/panel/cache/": "Cache monitor",
        "/admin/panel/validation/": "Validation health",
        "/admin/generations/generation/": "Select generation to change",
    }
    for page, marker in pages.items():
        response = site.get(page, Cookie=f"sessionid={session}")
        assert response.status_code == 200, page
        assert marker in response.text, page
        references += _static_references(response.text)
    for reference in sorted(set(references)):
        _assert_served(site, reference)
    beyond_login = ("nav_sidebar", "admin/js/actions", "changelists")
    dev_panel = ("devpanel/devpanel.", "devpanel/highlight.")  # its stylesheet and script
    for asset in beyond_login + dev_panel:
        assert any(asset in r for r in references), asset


def test_api_docs_and_their_swagger_ui_files_are_served(site):
    docs = site.get("/api/docs/")
    assert docs.status_code == 200
    assert docs.headers["Content-Type"].startswith("text/html")
    references = _static_references(docs.text)
    bundle = [r for r in references if "swagger-ui-bundle" in r]
    assert bundle and bundle[0].startswith("/static/drf_spectacular_sidecar/swagger-ui-dist/")
    for reference in references:
        _assert_served(site, reference)


def test_a_gzip_variant_is_served_to_clients_that_accept_it(site):
    login = site.get("/admin/login/")
    docs = site.get("/api/docs/")
    base_css = next(r for r in _static_references(login.text) if "admin/css/base." in r)
    bundle = next(r for r in _static_references(docs.text) if "swagger-ui-bundle" in r)
    for reference in (base_css, bundle):
        plain = site.get(reference, **{"Accept-Encoding": "identity"})
        packed = requests.get(
            site.url + reference,
            headers={**PROXIED, "Accept-Encoding": "gzip"},
            stream=True,
            timeout=10,
        )
        body = packed.raw.read()  # the bytes on the wire, not decoded by requests
        assert packed.status_code == 200
        assert packed.headers["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in packed.headers["Vary"]
        assert packed.headers["Content-Type"] == plain.headers["Content-Type"]
        assert "immutable" in packed.headers["Cache-Control"]
        assert len(body) < len(plain.content) / 2
        assert gzip.decompress(body) == plain.content
