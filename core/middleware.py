"""Request checks that run before any view, and the envelope on API paths Django would
answer itself: bad characters in query strings and headers, bodies over the cap, and
unrouted paths."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

from .errors import envelope, json_404, request_too_large
from .inputs import request_check

API_PREFIX = "/api/"


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIX)


class BadInputMiddleware:
    """Refuses requests whose query string or headers hold a NUL (or a lone surrogate),
    which no field accepts and PostgreSQL cannot store: the JSON envelope on API paths,
    a plain ``400`` elsewhere (the admin)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        bad = request_check(request)
        if bad is None:
            return self.get_response(request)
        message = f"{bad.field}: {bad.message}"
        if not is_api_path(request.path):
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        fields = {bad.field: [{"code": bad.code, "message": bad.message}]}
        return JsonResponse(envelope(bad.code, message, fields), status=400)


def declared_length(request: HttpRequest) -> int:
    """The request's ``Content-Length`` (0 when absent or not a number, as Django reads it)."""
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


class ApiEnvelopeMiddleware:
    """API paths answer in the envelope where Django would answer on its own.

    - A declared body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is ``413 request_too_large``
      before authentication or any view, and the body is never read.
    - An unrouted path under ``/api/`` is ``404 not_found`` (Django's HTML page, or its
      debug page with ``DEBUG`` on, otherwise); a trailing slash names the routed path.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_api_path(request.path):
            return self.get_response(request)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and declared_length(request) > limit:
            return JsonResponse(request_too_large(), status=413)
        response = self.get_response(request)
        if response.status_code == 404 and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            return json_404(request)
        return response
