"""Input and output shapes of the webhooks API. The secret is rendered by
``EndpointCreatedSerializer`` only: at registration and on rotation."""

from __future__ import annotations

import json
from typing import Any

from rest_framework import serializers

from .models import EVENT_TYPES, Delivery, DeliveryAttempt, Endpoint


class EndpointInputSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000, help_text="http(s) URL of a public host.")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES),
        required=False,
        default=list,
        max_length=len(EVENT_TYPES),
        help_text="Event types to deliver; empty (the default) means all.",
    )
    enabled = serializers.BooleanField(required=False, default=True)
    description = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )


class EndpointCreateSerializer(EndpointInputSerializer):
    workspace_id = serializers.CharField(
        max_length=64,
        required=False,
        help_text="Workspace id or slug; optional when you belong to one workspace.",
    )


class EndpointSerializer(serializers.ModelSerializer):
    """An endpoint as clients see it: never its secret."""

    workspace_id = serializers.IntegerField(read_only=True)
    previous_secret_expires_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Endpoint
        fields = [
            "id",
            "workspace_id",
            "url",
            "events",
            "enabled",
            "description",
            "failure_streak",
            "disabled_reason",
            "disabled_at",
            "previous_secret_expires_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class EndpointCreatedSerializer(EndpointSerializer):
    secret = serializers.SerializerMethodField(
        help_text="The signing secret (`whsec_…`): shown here only, store it now."
    )

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields

    def get_secret(self, obj: Endpoint) -> str:
        return str(self.context["secret"])


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = [
            "number",
            "attempted_at",
            "outcome",
            "status_code",
            "latency_ms",
            "error",
            "next_retry_at",
        ]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The generation event (generation.*)."
    )
    budget_alert_id = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The budget alert (budget.*)."
    )
    payload = serializers.SerializerMethodField(help_text="The body sent (Standard Webhooks).")
    attempts = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "webhook_id",
            "event_id",
            "budget_alert_id",
            "event_type",
            "state",
            "attempt_count",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "updated_at",
            "completed_at",
            "payload",
            "attempts",
        ]
        read_only_fields = fields

    def get_payload(self, obj: Delivery) -> dict[str, Any]:
        return dict(json.loads(obj.body))
