"""``scripts/dev.py run`` gives the dev server and the worker one metrics folder, emptied
at start, so the dev server's ``/metrics`` shows the worker's provider calls too."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def dev_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("genpipe_dev_script", ROOT / "scripts/dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_empties_and_shares_a_metrics_folder_under_the_var_dir(tmp_path):
    stale = tmp_path / "prometheus" / "counter_123.db"
    stale.parent.mkdir()
    stale.write_bytes(b"old run")
    env = {"GENPIPE_VAR_DIR": str(tmp_path)}
    folder = dev_module().metrics_dir_prepare(env)
    assert folder == tmp_path / "prometheus"
    assert env["PROMETHEUS_MULTIPROC_DIR"] == str(folder)
    assert folder.is_dir() and not any(folder.iterdir())


def test_a_configured_metrics_folder_is_left_as_it_is(tmp_path):
    kept = tmp_path / "mine" / "counter_1.db"
    kept.parent.mkdir()
    kept.write_bytes(b"keep")
    env = {"GENPIPE_VAR_DIR": str(tmp_path), "PROMETHEUS_MULTIPROC_DIR": str(kept.parent)}
    assert dev_module().metrics_dir_prepare(env) == kept.parent
    assert kept.read_bytes() == b"keep"
    assert not (tmp_path / "prometheus").exists()
