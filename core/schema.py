"""OpenAPI pieces shared by every app: the error envelope as a schema component.

``ErrorEnvelope`` documents the one error shape ``core.errors`` produces;
``error_responses(400, 404, …)`` gives the ``responses`` entries an endpoint declares.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Invalid input (`validation_error` or a rule's own code, `malformed_json`, "
    "`legacy_payload_rejected`, `unknown_parameter`).",
    401: "No or invalid credentials (`not_authenticated`, `authentication_failed`).",
    402: "A hard cost budget would be exceeded (`budget_exceeded`); `fields.budget` names "
    "the budget, its limit, spent, reserved and when its period resets.",
    403: "Authenticated but not allowed (`permission_denied`, `no_workspace`).",
    404: "Unknown, or belongs to a workspace you are not a member of (`not_found`, "
    "`generation_not_found`, `workspace_not_found`).",
    409: "Conflict (`invalid_transition`, `idempotency_in_progress`).",
    422: "The Idempotency-Key was used with a different body (`idempotency_key_reused`).",
    429: "Throttled (`throttled`); retry after the `Retry-After` header's seconds.",
    503: "A dependency is down (`database_unavailable`, `not_ready`).",
}


class FieldErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable.")
    message = serializers.CharField()


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable error code.")
    message = serializers.CharField(help_text="For humans; may change.")
    fields = serializers.DictField(  # type: ignore[assignment]
        child=FieldErrorSerializer(many=True),
        help_text="Dotted path in the request (`config.duration`) → its problems.",
    )


class ErrorEnvelopeSerializer(serializers.Serializer):
    """The one error shape of every endpoint, whatever the status."""

    error = ErrorBodySerializer()


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """``responses`` entries documenting the error envelope for ``statuses``."""
    return {
        status: OpenApiResponse(ErrorEnvelopeSerializer, description=ERROR_DESCRIPTIONS[status])
        for status in statuses
    }
