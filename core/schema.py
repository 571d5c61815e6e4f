"""OpenAPI pieces shared by every app: the error envelope as a schema component.

``ErrorEnvelope`` documents the one error shape ``core.errors`` produces;
``error_responses(400, 404, …)`` gives the ``responses`` entries an endpoint declares.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, inline_serializer
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
    406: "The `Accept` header asks for something other than JSON (`not_acceptable`).",
    413: "The body is over the size cap, 256 KiB by default (`request_too_large`).",
    415: "The body is not JSON (`unsupported_media_type`).",
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


def results_list(serializer_class: type[serializers.Serializer], name: str) -> Any:
    """The schema of a ``{"results": [...]}`` answer (an unpaginated list)."""
    return inline_serializer(name=name, fields={"results": serializer_class(many=True)})


# Any operation may answer these, whatever it declares: bad characters in a query string or
# a header (400), missing or bad credentials (401), a session without its CSRF token (403),
# an Accept header that is not JSON (406), throttling (429), the database down (503); with a
# request body also 413 and 415; with a path parameter that does not route, 404.
ANY_OPERATION = (400, 401, 403, 406, 429, 503)
WITH_BODY = (413, 415)
WITH_PATH_PARAMETER = (404,)
_ENVELOPE_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}


def global_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every operation documents the error statuses
    any request can get (above), in the envelope, next to its own."""
    for path, item in result.get("paths", {}).items():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            statuses = list(ANY_OPERATION)
            if "requestBody" in operation:
                statuses += WITH_BODY
            if "{" in path:
                statuses += WITH_PATH_PARAMETER
            if operation.get("security") == [{}]:  # open endpoints ask for no credentials
                statuses.remove(401)
            for code in statuses:
                operation["responses"].setdefault(
                    str(code),
                    {
                        "content": {"application/json": {"schema": _ENVELOPE_REF}},
                        "description": ERROR_DESCRIPTIONS[code],
                    },
                )
            operation["responses"] = dict(sorted(operation["responses"].items()))
    return result
