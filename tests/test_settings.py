"""Settings invariants that keep the pipeline honest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from genpipe_site.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[1]


def test_timeout_chain_read_lt_soft_lt_hard_lt_visibility():
    assert (
        settings.PROVIDER_DEFAULT_READ_TIMEOUT_S
        < settings.CELERY_TASK_SOFT_TIME_LIMIT
        < settings.CELERY_TASK_TIME_LIMIT
        < settings.CELERY_VISIBILITY_TIMEOUT
    )
    assert settings.GENERATION_MAX_COUNTDOWN_S < settings.CELERY_VISIBILITY_TIMEOUT


def test_tasks_are_acknowledged_late_and_rejected_on_worker_loss():
    conf = celery_app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    env.update(GENPIPE_ENV="production", DJANGO_SETTINGS_MODULE="genpipe_site.settings")
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_embedded_default_needs_no_server(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
    }
    env.update(GENPIPE_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="genpipe_site.settings")
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], "
        "s.CELERY_BROKER_URL)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "django.core.cache.backends.db.DatabaseCache",
        "filesystem://",
    ]


def test_no_setting_is_defined_in_two_parts_of_the_settings_package():
    # genpipe_site/settings/__init__.py imports the parts with *: a name defined in two of
    # them would take the value of whichever is imported last.
    import ast

    owners: dict[str, list[str]] = {}
    for module in sorted((ROOT / "genpipe_site" / "settings").glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else []
            if isinstance(node, ast.Assign):
                targets = node.targets
            for target in targets:
                if isinstance(target, ast.Name) and target.id.isupper():
                    owners.setdefault(target.id, []).append(module.stem)
    # if/else branches of one part may each assign a setting; two parts may not.
    assert "CACHES" in owners and "CELERY_BROKER_URL" in owners
    twice = {name: set(mods) for name, mods in owners.items() if len(set(mods)) > 1}
    assert not twice
