from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from generations.models import OperationType, Provider

from .models import Budget


class BudgetSerializer(serializers.ModelSerializer):
    workspace_id = serializers.IntegerField(required=False)
    provider_id = serializers.PrimaryKeyRelatedField(
        source="provider", queryset=Provider.objects.all(), allow_null=True, required=False
    )
    operation_type = serializers.ChoiceField(OperationType.choices, allow_null=True, required=False)
    limit_usd = serializers.DecimalField(
        max_digits=14, decimal_places=6, min_value=Decimal("0"), coerce_to_string=True
    )
    alert_thresholds = serializers.ListField(
        child=serializers.FloatField(min_value=0.01, max_value=10), max_length=10, required=False
    )
    spent_usd = serializers.SerializerMethodField()
    reserved_usd = serializers.SerializerMethodField()
    remaining_usd = serializers.SerializerMethodField()
    period_start = serializers.SerializerMethodField()
    period_end = serializers.SerializerMethodField()
    forecast_usd = serializers.SerializerMethodField()

    class Meta:
        model = Budget
        fields = [
            "id",
            "workspace_id",
            "provider_id",
            "operation_type",
            "limit_usd",
            "period",
            "mode",
            "alert_thresholds",
            "spent_usd",
            "reserved_usd",
            "remaining_usd",
            "period_start",
            "period_end",
            "forecast_usd",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def _figures(self, obj: Budget) -> Any:
        from .services import budget_figures

        cached = getattr(obj, "_figures", None)
        if cached is None:
            cached = budget_figures(obj)
            obj._figures = cached  # type: ignore[attr-defined]
        return cached

    def get_spent_usd(self, obj: Budget) -> str:
        return str(self._figures(obj).spent_usd)

    def get_reserved_usd(self, obj: Budget) -> str:
        return str(self._figures(obj).reserved_usd)

    def get_remaining_usd(self, obj: Budget) -> str:
        return str(self._figures(obj).remaining_usd)

    def get_period_start(self, obj: Budget) -> str | None:
        value = self._figures(obj).period_start
        return value.isoformat() if value else None

    def get_period_end(self, obj: Budget) -> str | None:
        value = self._figures(obj).period_end
        return value.isoformat() if value else None

    def get_forecast_usd(self, obj: Budget) -> str:
        return str(self._figures(obj).forecast_usd)


class SpendRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    cost_usd = serializers.CharField()
    attempts = serializers.IntegerField()


class SpendReportSerializer(serializers.Serializer):
    group_by = serializers.CharField()
    locals()["from"] = serializers.DateTimeField()  # a keyword: not a plain attribute
    to = serializers.DateTimeField()
    total_usd = serializers.CharField()
    saved_usd = serializers.CharField()
    reused = serializers.IntegerField()
    rows = SpendRowSerializer(many=True)
