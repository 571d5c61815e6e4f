"""Domain errors of the generations app (codes are part of the API contract)."""

from __future__ import annotations

from core.errors import ApiError, Conflict, NotFound


class InvalidTransition(Conflict):
    """A status change the lifecycle does not allow, or one that lost a race."""

    code = "invalid_transition"

    def __init__(self, generation_id: object, current: str | None, target: str) -> None:
        super().__init__(
            f"Generation {generation_id} cannot go from {current or 'nothing'} to {target}."
        )
        self.current = current
        self.target = target


class GenerationNotFound(NotFound):
    code = "generation_not_found"

    def __init__(self) -> None:
        super().__init__("Generation not found.")


class WorkspaceNotFound(NotFound):
    code = "workspace_not_found"

    def __init__(self) -> None:
        super().__init__("Workspace not found.")


# Top-level keys of the flat payloads the API no longer takes (without a ``config``).
LEGACY_KEYS = frozenset({"prompt", "quality", "duration"})


def is_legacy_payload(body: dict[str, object]) -> bool:
    return "config" not in body and bool(LEGACY_KEYS & set(body))


class LegacyPayloadRejected(ApiError):
    code = "legacy_payload_rejected"

    def __init__(self) -> None:
        super().__init__(
            "Flat payloads (top-level prompt/quality/duration) are no longer supported. Send a "
            "structured request with a 'config' object (a GenerationNodeConfig), or use "
            "POST /api/v1/generations/simple-image-to-video for a minimal prompt + image_url "
            "request."
        )


class IdempotencyKeyReused(ApiError):
    status_code = 422
    code = "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__("This Idempotency-Key was already used with a different request body.")


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"

    def __init__(self) -> None:
        super().__init__("A request with this Idempotency-Key is still being handled; retry later.")
