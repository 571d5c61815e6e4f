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


def _dump(folder, name: str, instructions: int) -> None:
    (folder / name).write_text(f"# callgrind format\nevents: Ir\nsummary: {instructions}\n")


def test_the_loop_is_what_lies_between_the_two_marks(tmp_path):
    _dump(tmp_path, "callgrind.out.1", 9_000_000)  # set-up and warm-up, up to the first mark
    _dump(tmp_path, "callgrind.out.2", 400_000)  # the loop
    _dump(tmp_path, "callgrind.out", 7_000_000)  # after the second mark: the exit
    assert hotpath.loop_instructions(tmp_path) == 400_000


def test_a_mark_called_inside_the_loop_splits_it_and_the_parts_add_up(tmp_path):
    for number, count in ((1, 9_000_000), (2, 150_000), (3, 250_000)):
        _dump(tmp_path, f"callgrind.out.{number}", count)
    _dump(tmp_path, "callgrind.out", 7_000_000)
    assert hotpath.loop_instructions(tmp_path) == 400_000


@pytest.mark.parametrize("numbers", [(), (1,), (1, 3)])
def test_missing_marks_are_an_error_not_a_figure(tmp_path, numbers):
    for number in numbers:
        _dump(tmp_path, f"callgrind.out.{number}", 1)
    with pytest.raises(ValueError, match="expected the dumps of two marks"):
        hotpath.loop_instructions(tmp_path)


def test_the_mark_is_the_function_callgrind_is_told_to_dump_before():
    assert hotpath.MARK.__name__ == "getppid"  # os.getppid calls libc's getppid
