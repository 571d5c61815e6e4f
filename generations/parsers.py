"""JSON parser that refuses bodies nested deeper than the API ever needs, and values no
endpoint accepts (NUL, lone surrogates, non-finite numbers: see ``core.inputs``).

A body is walked once (``_acceptable``) for both checks; only a body that fails one is
walked again by ``_depth`` and ``core.inputs.json_value_check``, which name its error."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from core.inputs import json_value_check

MAX_DEPTH = 12
_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")  # core.inputs' characters


def _bad_text(text: str) -> bool:
    # An ASCII string holds no surrogate: only a NUL can be wrong in it.
    return "\x00" in text if text.isascii() else _BAD_CHARACTER.search(text) is not None


def _acceptable(value: Any, limit: int) -> bool:
    """Whether ``_depth(value, limit) <= limit`` and ``json_value_check(value)`` is
    ``None``, in one walk: no level deeper than ``limit`` (a scalar counts as a level, as
    in ``_depth``), no NUL or lone surrogate in a string or a key, no non-finite float."""
    if limit < 1:
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
            for key in item:
                if _bad_text(key):
                    return False
        elif isinstance(item, list):
            children = item
        elif isinstance(item, str):
            if _bad_text(item):
                return False
            continue
        elif isinstance(item, float):
            if not math.isfinite(item):
                return False
            continue
        else:
            continue
        if not children:
            continue
        if level >= limit:  # its children would lie deeper than the limit
            return False
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, level + 1))
            elif isinstance(child, str):
                if _bad_text(child):
                    return False
            elif isinstance(child, float) and not math.isfinite(child):
                return False
    return True


def _depth(value: Any, limit: int) -> int:
    stack: list[tuple[Any, int]] = [(value, 1)]
    deepest = 0
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


class BoundedJSONParser(JSONParser):
    """UTF-8 JSON only, depth-capped; recursion bombs become a 400, not a 500, and so do
    NUL characters, lone surrogates and NaN/Infinity anywhere in the document."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            raw = stream.read() if stream is not None else b""
            data = json.loads(raw.decode("utf-8")) if raw else {}
        except RecursionError as exc:
            raise ParseError("JSON body is nested too deeply.") from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"Malformed JSON body: {exc}") from exc
        if _acceptable(data, MAX_DEPTH):
            return data
        if _depth(data, MAX_DEPTH) > MAX_DEPTH:
            raise ParseError(f"JSON body is nested deeper than {MAX_DEPTH} levels.")
        bad = json_value_check(data)
        if bad is not None:
            raise bad.as_error()
        return data
