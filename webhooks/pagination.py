"""Cursor pagination of deliveries, newest first."""

from __future__ import annotations

from generations.pagination import GenerationCursorPagination


class DeliveryCursorPagination(GenerationCursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
