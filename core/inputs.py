"""Values no endpoint accepts, refused once at the boundary, before any view reads them.

PostgreSQL cannot store NUL (U+0000) in text or jsonb, a lone surrogate (U+D800 to U+DFFF)
cannot be encoded as UTF-8 (hashing, storing and rendering all fail), and NaN/±Infinity
(also ``1e400``, which Python reads as infinity) have no JSON form and no canonical hash.
Typed serializer fields refuse them, but free-form maps (``choices``, provider style blocks,
``template_variables``) are stored as sent, so the whole parsed body (``BoundedJSONParser``),
every query parameter and every header (``middleware.BadInputMiddleware``) is checked
with these functions: a ``400`` with ``invalid_character`` or ``non_finite_number`` and the
path of the offending field. Pure functions: the parser imports this module while DRF
itself is still loading.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from rest_framework.exceptions import ErrorDetail, ValidationError

_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")

INVALID_CHARACTER = "invalid_character"
NON_FINITE_NUMBER = "non_finite_number"
_MESSAGES = {
    INVALID_CHARACTER: "NUL characters and lone surrogates (U+D800 to U+DFFF) are not allowed.",
    NON_FINITE_NUMBER: "NaN, Infinity and numbers too large for a double are not allowed.",
}


@dataclass(frozen=True)
class BadValue:
    """The first value of a request that no endpoint accepts."""

    code: str
    field: str

    @property
    def message(self) -> str:
        return _MESSAGES[self.code]

    def as_error(self) -> ValidationError:
        """The error the exception handler renders as the envelope, ``fields`` included."""
        return ValidationError({self.field: [ErrorDetail(self.message, code=self.code)]})


def has_bad_character(text: str) -> bool:
    return _BAD_CHARACTER.search(text) is not None


def printable(text: str) -> str:
    """``text`` with NUL and lone surrogates written as ``\\uXXXX`` (safe to render)."""
    return _BAD_CHARACTER.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _join(path: tuple[str, ...]) -> str:
    return ".".join(printable(part) for part in path) or "body"


def json_value_check(value: Any) -> BadValue | None:
    """The first NUL, lone surrogate (in a key or a string) or non-finite number in a
    parsed JSON document, with its dotted path (``player_context.choices.k``)."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if has_bad_character(item):
                return BadValue(INVALID_CHARACTER, _join(path))
        elif isinstance(item, float):
            if not math.isfinite(item):
                return BadValue(NON_FINITE_NUMBER, _join(path))
        elif isinstance(item, dict):
            for key, child in item.items():
                if has_bad_character(key):
                    return BadValue(INVALID_CHARACTER, _join((*path, key)))
                stack.append((child, (*path, key)))
        elif isinstance(item, list):
            stack.extend((child, (*path, str(i))) for i, child in enumerate(item))
    return None


def _pairs_check(pairs: Iterable[tuple[str, str]]) -> BadValue | None:
    for name, value in pairs:
        if has_bad_character(name) or has_bad_character(value):
            return BadValue(INVALID_CHARACTER, printable(name))
    return None


def request_check(request: HttpRequest) -> BadValue | None:
    """A NUL (or lone surrogate) in a query parameter's name or value, or in a header."""
    query = ((name, value) for name, values in request.GET.lists() for value in values)
    return _pairs_check(query) or _pairs_check(request.headers.items())
