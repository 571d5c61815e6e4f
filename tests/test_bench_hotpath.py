"""bench/hotpath.py measures the checkout it belongs to, or refuses to run."""

from __future__ import annotations

import pytest

from bench import hotpath


def test_the_products_modules_come_from_the_scripts_checkout():
    hotpath._check_own_code()  # this checkout's script, this checkout's modules


def test_modules_of_another_checkout_stop_the_script(monkeypatch, tmp_path):
    monkeypatch.setattr(hotpath, "ROOT", tmp_path)  # as if the script lived elsewhere
    with pytest.raises(SystemExit, match="core was imported from"):
        hotpath._check_own_code()
