"""Sections of bench/RESULTS.md that a benchmark run on its own owns: the text between its
``<!-- name:begin -->`` and ``<!-- name:end -->`` markers (the markers are part of the
section's lines). ``bench/run.py`` rewrites the rest of the file."""

from __future__ import annotations

from pathlib import Path


def section_replace(path: Path, begin: str, end: str, lines: list[str]) -> None:
    """Put ``lines`` in place of the section between ``begin`` and ``end`` (appended when
    the file has no such section)."""
    text = path.read_text() if path.exists() else ""
    section = "\n".join(lines).strip("\n")
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def section_current(path: Path, begin: str, end: str) -> list[str]:
    """The section as the file holds it now, markers included (``[]`` when absent)."""
    text = path.read_text() if path.exists() else ""
    if begin not in text or end not in text:
        return []
    return ["", begin + text.split(begin, 1)[1].split(end, 1)[0] + end, ""]
