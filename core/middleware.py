"""Request checks that run before any view: bad characters in query strings and headers."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

from .errors import envelope
from .inputs import request_check


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
        if not request.path.startswith("/api/"):
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        fields = {bad.field: [{"code": bad.code, "message": bad.message}]}
        return JsonResponse(envelope(bad.code, message, fields), status=400)
