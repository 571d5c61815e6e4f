"""The one error envelope: ``{"error": {"code", "message", "fields"}}``.

Domain code raises ``ApiError`` subclasses carrying a code and an HTTP status; DRF's own
exceptions, Django's 404/403/400 and unexpected errors are mapped to the same shape here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.db import DatabaseError, DataError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import Resolver404, resolve
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .outages import outage_failure

logger = logging.getLogger("genpipe.errors")

FieldErrors = dict[str, list[dict[str, str]]]


class ApiError(Exception):
    """A failure the client should see, with a stable machine-readable code."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code: str = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: FieldErrors | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.fields = fields or {}


class ValidationFailed(ApiError):
    """One or more request rules were broken (400)."""

    code = "validation_error"

    @classmethod
    def single(cls, code: str, field: str, message: str) -> ValidationFailed:
        return cls(message, code=code, fields={field: [{"code": code, "message": message}]})


class NotFound(ApiError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class Conflict(ApiError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class ServiceUnavailable(ApiError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "service_unavailable"


def envelope(code: str, message: str, fields: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": dict(fields or {})}}


def request_too_large() -> dict[str, Any]:
    """The envelope of ``413 request_too_large``: the body is over the configured cap."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
    size = f"{limit // 1024} KiB" if limit % 1024 == 0 else f"{limit} bytes"
    return envelope("request_too_large", f"The request body is larger than {size}.")


def flatten_drf_errors(detail: Any, prefix: str = "") -> FieldErrors:
    """Turn DRF's nested ``ErrorDetail`` structure into ``{"a.b.0.c": [{code, message}]}``."""
    out: FieldErrors = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = prefix if key == "non_field_errors" else (f"{prefix}.{key}" if prefix else key)
            for path, errors in flatten_drf_errors(value, name).items():
                out.setdefault(path, []).extend(errors)
    elif isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            for item in detail:
                out.setdefault(prefix or "body", []).append(
                    {"code": str(getattr(item, "code", "invalid")), "message": str(item)}
                )
        else:
            for index, item in enumerate(detail):
                if item:
                    name = f"{prefix}.{index}" if prefix else str(index)
                    for path, errors in flatten_drf_errors(item, name).items():
                        out.setdefault(path, []).extend(errors)
    elif detail is not None:
        out.setdefault(prefix or "body", []).append(
            {"code": str(getattr(detail, "code", "invalid")), "message": str(detail)}
        )
    return out


_DRF_CODES = {
    drf_exceptions.NotAuthenticated: "not_authenticated",
    drf_exceptions.AuthenticationFailed: "authentication_failed",
    drf_exceptions.PermissionDenied: "permission_denied",
    drf_exceptions.NotFound: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.NotAcceptable: "not_acceptable",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.Throttled: "throttled",
    drf_exceptions.ParseError: "malformed_json",
}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF ``EXCEPTION_HANDLER``: every API error leaves in the single envelope."""
    if isinstance(exc, ApiError):
        return Response(envelope(exc.code, exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        return Response(request_too_large(), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, SuspiciousOperation):
        # TooManyFieldsSent and friends: the client sent something we will not read.
        return Response(
            envelope("request_rejected", str(exc) or "Request rejected."),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DataError):
        # PostgreSQL refused a value (SQLSTATE class 22: out of range, invalid format, NUL…).
        # That is the request's fault, never an outage: retrying cannot help, so no 503 and
        # no Retry-After. Validation should have caught it first, so it is logged as an
        # error with its traceback, to be fixed where the value comes in.
        logger.exception("the database refused a value of the request")
        return Response(
            envelope("invalid_value", "A value in the request cannot be stored."),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DatabaseError) and not isinstance(exc, drf_exceptions.APIException):
        if isinstance(exc, OperationalError | InterfaceError):
            # Unreachable, restarting, or a statement/lock timeout: one line per outage.
            outage_failure("database", exc.__cause__ or exc)  # the driver's error class
        else:
            logger.exception("database unavailable")
        return Response(
            envelope("database_unavailable", "The database is unavailable; try again."),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf_exceptions.ValidationError):
        fields = flatten_drf_errors(exc.detail)
        first = next(iter(fields.values()), [{"code": "invalid", "message": "Invalid input."}])
        first_code = first[0]["code"]
        code = "validation_error" if first_code in {"invalid", ""} else first_code
        message = "; ".join(f"{k}: {v[0]['message']}" for k, v in list(fields.items())[:3])
        response.data = envelope(code, message or "Invalid input.", fields)
        return response
    if isinstance(exc, Http404):
        code, message = "not_found", "Not found."
    elif isinstance(exc, PermissionDenied):
        code, message = "permission_denied", "You do not have permission to do this."
    else:
        mapped = next((c for t, c in _DRF_CODES.items() if isinstance(exc, t)), None)
        code = mapped or str(getattr(exc, "default_code", "error"))
        detail = getattr(exc, "detail", None)
        message = str(detail) if detail is not None else str(exc)
    response.data = envelope(code, message)
    return response


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def canonical_path(path: str) -> str | None:
    """The routed path a trailing slash hides (``/api/v1/generations/`` → without it)."""
    stripped = path.rstrip("/")
    if not stripped or stripped == path:
        return None
    try:
        resolve(stripped)
    except Resolver404:
        return None
    return stripped


def json_404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """``404 not_found`` for an unrouted path; a trailing slash names the routed path."""
    path = request.path
    canonical = canonical_path(path)
    if canonical is None:
        return JsonResponse(envelope("not_found", f"No endpoint at {path}."), status=404)
    message = f"No endpoint at {path}: API paths have no trailing slash; use {canonical}."
    fields = {"path": [{"code": "trailing_slash", "message": message}]}
    return JsonResponse(envelope("not_found", message, fields), status=404)


def json_500(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        envelope("internal_error", "Internal server error; it has been logged."), status=500
    )


def json_400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(envelope("bad_request", "Bad request."), status=400)


def json_403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(envelope("permission_denied", "Forbidden."), status=403)
