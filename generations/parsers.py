"""JSON parser that refuses bodies nested deeper than the API ever needs, and values no
endpoint accepts (NUL, lone surrogates, non-finite numbers: see ``core.inputs``)."""

from __future__ import annotations

import json
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from core.inputs import json_value_check

MAX_DEPTH = 12


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
        if _depth(data, MAX_DEPTH) > MAX_DEPTH:
            raise ParseError(f"JSON body is nested deeper than {MAX_DEPTH} levels.")
        bad = json_value_check(data)
        if bad is not None:
            raise bad.as_error()
        return data
