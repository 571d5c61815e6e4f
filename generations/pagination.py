"""Cursor pagination: stable at millions of rows, ``{"next", "previous", "results"}``."""

from __future__ import annotations

from base64 import b64decode
from collections.abc import Sequence
from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from core.errors import ValidationFailed

from .filters import as_utc
from .selectors import GenerationRows

MAX_CURSOR = 200


class GenerationCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200

    def paginate_rows(self, rows: GenerationRows, request: Request, view: Any = None) -> list[Any]:
        """DRF's ``paginate_queryset`` of ``GenerationRows`` (it drives them as a QuerySet)."""
        return self.paginate_queryset(rows, request, view) or []  # type: ignore[arg-type]

    def _get_position_from_instance(self, instance: Any, ordering: Sequence[str]) -> str:
        """DRF's position, ``str(created_at)``: ``2026-03-01 12:00:00.250000+00:00``, also
        from a row whose ``created_at`` PostgreSQL wrote as DRF writes it (``...Z``)."""
        position = str(super()._get_position_from_instance(instance, ordering))
        if position.endswith("Z") and position[10:11] == "T":
            return f"{position[:10]} {position[11:-1]}+00:00"
        return position

    def decode_cursor(self, request: Request) -> Cursor | None:
        """DRF's cursor, checked: a cursor is opaque to the client, so anything but one we
        wrote (strict base64, a ``created_at`` position) is a ``400 invalid_cursor``. The
        position goes to the database in UTC, never with the offset a client put in."""
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            if len(encoded) > MAX_CURSOR:
                raise ValueError("cursor too long")
            b64decode(encoded.encode("ascii"), validate=True)
            cursor = super().decode_cursor(request)
            if cursor is None:
                return None
            position = _position(cursor.position)
        except (NotFound, ValueError, OverflowError) as exc:  # binascii.Error is a ValueError
            raise ValidationFailed.single(
                "invalid_cursor", self.cursor_query_param, "Invalid cursor."
            ) from exc
        # The stubs type the position as an int; DRF stores the ordering field's str().
        return cursor._replace(position=position)  # type: ignore[arg-type]


def _position(text: Any) -> str | None:
    if text is None:
        return None
    parsed = parse_datetime(text)
    if parsed is None or parsed.tzinfo is None:
        raise ValueError("not an aware datetime")
    return str(as_utc(parsed))
