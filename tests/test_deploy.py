"""Production settings pass Django's deployment checklist and behave as deployed."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _production_env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_DEBUG"}
        and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update(
        GENPIPE_ENV="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="example.com",
        GENPIPE_VAR_DIR=str(tmp_path),
    )
    return env


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_passes_without_warnings(tmp_path):
    result = _manage(_production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_redirects_to_https_except_the_probes(tmp_path):
    code = (
        "from django.test import Client\n"
        "c = Client(HTTP_HOST='example.com')\n"
        "print(c.get('/healthz').status_code, c.get('/api/v1/generations').status_code,"
        " c.get('/api/v1/generations', HTTP_X_FORWARDED_PROTO='https').status_code)\n"
    )
    result = _manage(_production_env(tmp_path), "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-3:] == ["200", "301", "401"]
