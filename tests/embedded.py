"""Run ``manage.py`` in a subprocess on the embedded default (SQLite, database cache,
filesystem broker) in a throwaway ``GENPIPE_VAR_DIR``, as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICE_VARS = {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "GENPIPE_ENV"}


@dataclass(frozen=True)
class EmbeddedSite:
    env: dict[str, str]

    def manage(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``python manage.py *args``; the completed process (its exit code is not checked)."""
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def shell(self, code: str) -> str:
        """Run Python code with Django set up (``manage.py shell -c``); its stdout."""
        result = self.manage("shell", "-c", code)
        assert result.returncode == 0, result.stderr
        return result.stdout


def embedded_site(var_dir: Path) -> EmbeddedSite:
    """A migrated embedded default under ``var_dir`` (``migrate`` creates the cache table)."""
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env["GENPIPE_VAR_DIR"] = str(var_dir)
    env["DJANGO_SETTINGS_MODULE"] = "genpipe_site.settings"  # not the test suite's
    site = EmbeddedSite(env)
    result = site.manage("migrate", "-v0")
    assert result.returncode == 0, result.stderr
    return site
