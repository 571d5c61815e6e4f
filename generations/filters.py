"""Query filters of ``GET /api/v1/generations``."""

from __future__ import annotations

import django_filters

from .models import Generation, OperationType, Status


class GenerationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Status.choices)
    operation_type = django_filters.ChoiceFilter(choices=OperationType.choices)
    workspace = django_filters.NumberFilter(field_name="workspace_id")
    provider = django_filters.CharFilter(field_name="provider_id")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    parent = django_filters.UUIDFilter(field_name="parent_id")

    class Meta:
        model = Generation
        fields: list[str] = []
