"""Reading the dev panel's rendered pages in tests."""

from __future__ import annotations

import re
from html import unescape
from typing import Any


def html(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def changelist_ids(page: str) -> set[str]:
    """The full ids of the rows of a generation list page (its action checkboxes)."""
    return set(re.findall(r'name="_selected_action" value="([0-9a-f-]{36})"', page))


def status_total(page: str) -> int:
    return int(re.search(r"<li>all <strong>(\d+)</strong>", page).group(1))


def hrefs(fragment: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'href="([^"]+)"', fragment)]
