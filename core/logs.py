"""Logging: who a line is about, in plain text or JSON, with secrets taken out.

- Context: ``request_id`` (set by ``RequestIdMiddleware``), and inside Celery tasks
  ``task_id``, ``generation_id`` (the task's ``generation_id`` argument) and the id of the
  request that published the task (a message header), set by Celery signal handlers, live
  in context variables; ``ContextFilter`` copies them onto every record.
- Format: ``PlainFormatter`` for development, ``JsonFormatter`` (one object per line) for
  production; ``settings.LOGGING`` picks one from ``GENPIPE_LOG_FORMAT`` / ``GENPIPE_ENV``.
- Secrets: ``RedactFilter`` runs ``core.redaction.redact`` (the same masking as
  stored provider errors: ``Authorization`` values, ``Token``/``Bearer``/``Basic``
  credentials, ``password=``/``api_key=``/``secret=``/``token=`` values, passwords in URLs,
  ``sk-…`` keys, the values of secret-looking environment variables and every credential
  a provider client has sent) over the message, its arguments' rendering, the traceback
  and string extras.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse

from .redaction import env_secret_values, redact

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
task_id_var: ContextVar[str | None] = ContextVar("task_id", default=None)
generation_id_var: ContextVar[str | None] = ContextVar("generation_id", default=None)

CONTEXT_FIELDS = ("request_id", "task_id", "generation_id")
_CONTEXT_VARS = (request_id_var, task_id_var, generation_id_var)
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

access_logger = logging.getLogger("genpipe.access")


# --- Request id ----------------------------------------------------------------------------


def request_id_from_header(value: str | None) -> str:
    """The client's ``X-Request-ID`` when it is sane (≤ 64 of ``[A-Za-z0-9._-]``), else a
    fresh uuid4 hex: a client cannot inject text into our logs through it."""
    if value and _SANE_REQUEST_ID.match(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Give every request an id (logs, ``X-Request-ID`` response header) and log one access
    line per request. First in ``MIDDLEWARE``, so everything after it logs with the id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from_header(request.headers.get("X-Request-ID"))
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            if access_logger.isEnabledFor(logging.INFO):
                access_logger.info(
                    "%s %s %s",
                    request.method,
                    request.path,
                    response.status_code,
                    extra={
                        "method": request.method,
                        "path": request.path,  # never the query string: it may hold secrets
                        "status": response.status_code,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )
            return response
        finally:
            request_id_var.reset(token)


# --- Celery task context -------------------------------------------------------------------

_task_tokens: dict[str, list[tuple[ContextVar[str | None], Token[str | None]]]] = {}
# Message header carrying the id of the request that published a task.
REQUEST_ID_HEADER = "genpipe_request_id"


def task_headers_add(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """``before_task_publish`` handler: the publishing request's id travels with the task."""
    request_id = request_id_var.get()
    if request_id and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, request_id)


@functools.lru_cache(maxsize=256)
def _signature(function: Callable[..., Any]) -> inspect.Signature:
    """A task function's signature, read once (``inspect`` rebuilds it on every call)."""
    return inspect.signature(function)


def _generation_id(task: Any, args: Any, kwargs: Any) -> str | None:
    """The task's ``generation_id`` argument, positional or keyword, if it has one."""
    try:
        # ``task.run`` is the task's function (bound to the task when ``bind=True``).
        bound = _signature(task.run).bind_partial(*(args or ()), **(kwargs or {}))
    except (AttributeError, TypeError, ValueError):
        return None
    value = bound.arguments.get("generation_id")
    return str(value) if value else None


def task_context_enter(
    sender: Any = None,
    task_id: str | None = None,
    task: Any = None,
    args: Any = None,
    kwargs: Any = None,
    **_: Any,
) -> None:
    """``task_prerun`` handler: task, generation and originating request ids for its lines."""
    if task_id is None:
        return
    tokens = [
        (task_id_var, task_id_var.set(task_id)),
        (generation_id_var, generation_id_var.set(_generation_id(task, args, kwargs))),
    ]
    published_by = getattr(getattr(task, "request", None), REQUEST_ID_HEADER, None)
    if isinstance(published_by, str) and _SANE_REQUEST_ID.match(published_by):
        tokens.append((request_id_var, request_id_var.set(published_by)))
    _task_tokens[task_id] = tokens


def task_context_exit(task_id: str | None = None, **_: Any) -> None:
    """``task_postrun`` handler: back to the outer context (an eager task's request)."""
    for var, token in reversed(_task_tokens.pop(task_id or "", [])):
        try:
            var.reset(token)
        except ValueError:  # set in another context (should not happen): just clear it
            var.set(None)


def connect_task_signals() -> None:
    from celery.signals import before_task_publish, task_postrun, task_prerun

    uid = "genpipe-log-context"
    before_task_publish.connect(task_headers_add, weak=False, dispatch_uid=uid)
    task_prerun.connect(task_context_enter, weak=False, dispatch_uid=uid)
    task_postrun.connect(task_context_exit, weak=False, dispatch_uid=uid)


# --- Filters -------------------------------------------------------------------------------


class ContextFilter(logging.Filter):
    """Copy request/task/generation ids onto the record (``None`` when not set)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in zip(CONTEXT_FIELDS, _CONTEXT_VARS, strict=True):
            if getattr(record, name, None) is None:
                setattr(record, name, var.get())
        return True


# One redaction for logs and stored provider errors (``core.redaction``).
_secret_values = env_secret_values  # the cached env lookup (tests clear it)


_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "context",
    *CONTEXT_FIELDS,
}


class RedactFilter(logging.Filter):
    """Mask credentials in the rendered message, the traceback and string extras."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let the handler report it
            return True
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _RECORD_ATTRS and isinstance(value, str):
                setattr(record, name, redact(value))
        return True


# --- Formatters ----------------------------------------------------------------------------


class PlainFormatter(logging.Formatter):
    """``2026-01-01 12:00:00,000 INFO genpipe.x [request_id=… generation_id=…] message``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(context)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        parts = [f"{n}={getattr(record, n)}" for n in CONTEXT_FIELDS if getattr(record, n, None)]
        record.context = f" [{' '.join(parts)}]" if parts else ""
        return super().format(record)


_SCALARS = (str, int, float, bool, type(None))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the context ids, the
    traceback (``exc_info``) and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            payload[name] = getattr(record, name, None)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exc_info"] = record.exc_text
        if record.stack_info:
            payload["stack_info"] = record.stack_info
        for name, value in vars(record).items():
            # Scalar extras only: objects (Django's ``request``) could render query strings.
            if name not in _RECORD_ATTRS and name not in payload and isinstance(value, _SCALARS):
                payload[name] = value
        return json.dumps(payload, ensure_ascii=False, default=str)
