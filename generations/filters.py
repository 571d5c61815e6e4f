"""Query filters of ``GET /api/v1/generations``, and the check that refuses any other
query parameter (a misspelt filter is a ``400``, never silently ignored)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django_filters.fields import IsoDateTimeField

from core.errors import ValidationFailed

from .models import Generation, OperationType, Status, Strategy
from .selectors import workspace_resolve


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
    """Every filter but ``parent`` is an ordered range of a ``gen_ws_*`` index (``parent``
    has its own index: the retries of one generation are few)."""

    status = django_filters.ChoiceFilter(choices=Status.choices)
    operation_type = django_filters.ChoiceFilter(choices=OperationType.choices)
    strategy = django_filters.ChoiceFilter(choices=Strategy.choices)
    workspace = django_filters.CharFilter(
        method="filter_workspace",
        max_length=64,
        help_text="Workspace id or slug, as in a create's `workspace_id`; one you are not "
        "a member of is a `404 workspace_not_found`.",
    )
    provider = django_filters.CharFilter(field_name="provider_id")
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")
    parent = django_filters.UUIDFilter(field_name="parent_id")

    class Meta:
        model = Generation
        fields: list[str] = []

    def filter_workspace(
        self, queryset: QuerySet[Generation], name: str, value: str
    ) -> QuerySet[Generation]:
        # Resolved to an id first (one small query): ``workspace_id = X`` keeps the page an
        # ordered index range, where a join on the slug would not.
        workspace = workspace_resolve(user=self.request.user, workspace_id=value)
        return queryset.filter(workspace_id=workspace.id)


UNKNOWN_PARAMETER = "unknown_parameter"


def query_parameters_check(names: Iterable[str], *, allowed: Iterable[str]) -> None:
    """``400 unknown_parameter`` naming every query parameter not in ``allowed``."""
    unknown = sorted(set(names) - set(allowed))
    if not unknown:
        return
    known = ", ".join(sorted(allowed))
    message = f"Unknown query parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}."
    raise ValidationFailed(
        f"{message} Known: {known}.",
        code=UNKNOWN_PARAMETER,
        fields={
            name: [{"code": UNKNOWN_PARAMETER, "message": "Unknown query parameter."}]
            for name in unknown
        },
    )
