"""Cursor pagination: stable at millions of rows, ``{"next", "previous", "results"}``."""

from rest_framework.pagination import CursorPagination


class GenerationCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
