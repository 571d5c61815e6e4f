"""Search the admin by the short ids it shows: a UUID's first hex digits match every row whose
id starts with them.

A prefix becomes a range on the column (``prefix000…`` to ``prefixfff…``), so the search
walks the primary key or any index on the column instead of casting every id to text; it
works the same on PostgreSQL (``uuid``, ordered byte by byte) and SQLite (``char(32)`` hex).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest

MIN_PREFIX = 4  # shorter prefixes match too much to be meant as an id
_HEX = re.compile(r"[0-9a-f]+")


def uuid_prefix_range(term: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """The lowest and highest UUID starting with ``term`` (hex digits, dashes ignored), or
    None when ``term`` is not 4 to 32 hex digits."""
    digits = term.strip().lower().replace("-", "")
    if not MIN_PREFIX <= len(digits) <= 32 or not _HEX.fullmatch(digits):
        return None
    low = uuid.UUID(digits.ljust(32, "0"))
    high = uuid.UUID(digits.ljust(32, "f"))
    return low, high


def uuid_prefix_q(fields: Iterable[str], term: str) -> Q | None:
    """Rows whose UUID ``fields`` (any of them) start with ``term``; None if not a prefix."""
    bounds = uuid_prefix_range(term)
    if bounds is None:
        return None
    low, high = bounds
    condition = Q()
    for name in fields:
        condition |= Q(**{f"{name}__gte": low, f"{name}__lte": high})
    return condition


class UuidPrefixSearchMixin:
    """For a ``ModelAdmin``: the search box also matches ids by prefix (the 8 characters the
    admin shows) on ``uuid_prefix_fields``, besides the admin's own ``search_fields``."""

    uuid_prefix_fields: tuple[str, ...] = ("id",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        found, duplicates = super().get_search_results(  # type: ignore[misc]
            request, queryset, search_term
        )
        prefix = uuid_prefix_q(self.uuid_prefix_fields, search_term)
        if prefix is None:
            return found, duplicates
        return found | queryset.filter(prefix), duplicates
