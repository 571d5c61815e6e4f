"""Errors of the webhooks API (codes are part of the API contract)."""

from __future__ import annotations

from core.errors import ApiError, Conflict, NotFound, ValidationFailed


class WebhookNotFound(NotFound):
    code = "webhook_not_found"

    def __init__(self) -> None:
        super().__init__("Webhook endpoint not found.")


class DeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"

    def __init__(self) -> None:
        super().__init__("Delivery not found.")


class WebhookWriteForbidden(ApiError):
    status_code = 403
    code = "permission_denied"

    def __init__(self) -> None:
        super().__init__("Only a workspace owner or admin can change its webhooks.")


class WebhookEndpointDisabled(Conflict):
    code = "webhook_endpoint_disabled"

    def __init__(self) -> None:
        super().__init__("The endpoint is disabled; enable it before redelivering.")


def url_refused(code: str, message: str) -> ValidationFailed:
    return ValidationFailed.single(code, "url", message)
