"""The README's screenshots: every one it links exists and is one ``scripts/screenshots.py``
takes, and the script really takes them all from the demo (embedded stack, worker, dev
server, Chromium) into a directory of its own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import screenshots  # noqa: E402  (scripts/ is not a package)

SHOTS = ROOT / "docs" / "screenshots"
PNG = b"\x89PNG\r\n\x1a\n"


def test_the_readme_links_only_screenshots_the_script_takes():
    readme = (ROOT / "README.md").read_text()
    linked = set(re.findall(r"\(docs/screenshots/([\w-]+)\.png\)", readme))
    taken = set(screenshots.PAGES)
    stored = {p.stem for p in SHOTS.glob("*.png")}
    assert linked == taken == stored
    for name in stored:
        assert (SHOTS / f"{name}.png").read_bytes()[:8] == PNG, name


@pytest.mark.browser
@pytest.mark.worker
def test_the_script_captures_every_page_from_the_demo(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")
    }
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "screenshots.py"),
            "--out",
            str(tmp_path),
            "--port",
            str(free_port()),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for name in screenshots.PAGES:
        image = tmp_path / f"{name}.png"
        data = image.read_bytes()
        assert data[:8] == PNG, name
        width = int.from_bytes(data[16:20], "big")
        height = int.from_bytes(data[20:24], "big")
        assert width >= 1280 and height >= 600, (name, width, height)
