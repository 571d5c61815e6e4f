"""Query filters of ``GET /api/v1/generations``, and the check that refuses any other
query parameter (a misspelt filter is a ``400``, never silently ignored)."""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.forms.utils import ErrorDict, ErrorList
from django_filters.constants import EMPTY_VALUES
from django_filters.fields import IsoDateTimeField
from django_filters.utils import translate_validation

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
        return queryset.filter(workspace_id=_workspace_id(self.request.user, value))


def _workspace_id(user: AbstractBaseUser | AnonymousUser, value: str) -> int:
    return workspace_resolve(user=user, workspace_id=value).id


# One condition of a list page: (model field name, lookup, value), as ``GenerationRows`` takes.
Condition = tuple[str, str, Any]

_LOOKUPS = {"exact", "gte", "lt"}
_METHODS = {"filter_workspace": "workspace_id"}


@functools.cache
def _compiled() -> tuple[tuple[str, forms.Field, str, str, bool], ...]:
    """``GenerationFilter`` read once: per filter its name, form field, model field, lookup,
    and whether it names a workspace. Refuses a filter it could not apply as django-filter
    would (an ``exclude``, ``distinct``, a null choice, another lookup or method)."""
    compiled = []
    for name, declared in copy.deepcopy(GenerationFilter.base_filters).items():
        declared.model = Generation  # the form field's label
        method = declared.method
        plain = type(declared).filter in (
            django_filters.Filter.filter,
            django_filters.ChoiceFilter.filter,
        )
        if method is not None:
            if method not in _METHODS:
                raise ImproperlyConfigured(f"GenerationFilter.{name}: unknown method {method}")
            field_name, lookup, workspace = _METHODS[method], "exact", True
        elif plain and declared.lookup_expr in _LOOKUPS:
            field_name, lookup, workspace = declared.field_name, declared.lookup_expr, False
        else:
            raise ImproperlyConfigured(f"GenerationFilter.{name}: not a column comparison")
        if declared.exclude or declared.distinct or declared.extra.get("null_label"):
            raise ImproperlyConfigured(f"GenerationFilter.{name}: exclude, distinct or null")
        compiled.append((name, declared.field, field_name, lookup, workspace))
    return tuple(compiled)


def generation_filters_clean(
    params: Mapping[str, Any], *, user: AbstractBaseUser | AnonymousUser
) -> list[Condition]:
    """The conditions ``GenerationFilter`` would apply for these query parameters, with the
    same ``400`` for invalid values (every invalid field at once, in the filters' order) and
    the same ``404 workspace_not_found``, without building a FilterSet and its form for
    every request (their deep copies cost more than the page's query)."""
    cleaned: list[tuple[str, str, bool, Any]] = []
    errors = ErrorDict()
    for name, field, field_name, lookup, workspace in _compiled():
        if name not in params:
            continue
        try:
            value = field.clean(field.widget.value_from_datadict(params, {}, name))
        except forms.ValidationError as exc:
            errors[name] = ErrorList(exc.error_list)
            continue
        if value not in EMPTY_VALUES:
            cleaned.append((field_name, lookup, workspace, value))
    if errors:
        raise translate_validation(errors)
    return [
        (field_name, lookup, _workspace_id(user, value) if workspace else value)
        for field_name, lookup, workspace, value in cleaned
    ]


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
