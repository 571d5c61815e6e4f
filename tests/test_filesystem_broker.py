"""The filesystem broker's exchange tables exist whole before any process binds to them."""

from __future__ import annotations

import json
from pathlib import Path

from genpipe_site.celery import FILESYSTEM_EXCHANGES, filesystem_exchanges_prepare


def test_the_tables_are_created_whole_and_an_existing_one_is_kept(tmp_path: Path) -> None:
    control = tmp_path / "control"
    (control).mkdir()
    kept = [["celery", "celery", "celery"]]
    (control / "celery.pidbox.exchange").write_text(json.dumps(kept))
    filesystem_exchanges_prepare(control)
    assert json.loads((control / "celery.exchange").read_text()) == []
    assert json.loads((control / "celery.pidbox.exchange").read_text()) == kept
    assert sorted(p.name for p in control.iterdir()) == sorted(
        f"{name}.exchange" for name in FILESYSTEM_EXCHANGES
    )  # no temporary file left behind
    filesystem_exchanges_prepare(control)  # again: nothing changes
    assert json.loads((control / "celery.exchange").read_text()) == []
