"""Query filters of ``GET /api/v1/generations``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

from .models import Generation, OperationType, Status


def as_utc(value: datetime) -> datetime:
    """An aware datetime in UTC; ``OverflowError`` when UTC falls outside years 1 to 9999."""
    return value.astimezone(UTC)


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 instant, handed to the database in UTC.

    RFC 3339 allows offsets up to ±23:59, PostgreSQL only up to ±15:59: converting first
    means any valid offset works (as for ``scheduled_at``) and the database never sees one.
    """

    default_error_messages = {"overflow": "Datetime value out of range."}

    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return as_utc(parsed)
        except OverflowError as exc:
            raise forms.ValidationError(self.error_messages["overflow"], code="overflow") from exc


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class GenerationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Status.choices)
    operation_type = django_filters.ChoiceFilter(choices=OperationType.choices)
    workspace = django_filters.NumberFilter(field_name="workspace_id")
    provider = django_filters.CharFilter(field_name="provider_id")
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")
    parent = django_filters.UUIDFilter(field_name="parent_id")

    class Meta:
        model = Generation
        fields: list[str] = []
