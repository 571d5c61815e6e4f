"""Optional OpenTelemetry traces: on only when an OTLP endpoint is configured.

``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) set: spans go
to that collector over OTLP/HTTP (protobuf), batched. One create is one trace:

- the API request's span (Django instrumentation), annotated with the generation id and
  its ``gen_ai.operation.name`` / ``gen_ai.provider.name``;
- ``<task> publish`` (producer) when the web process enqueues the task, whose context
  travels in the Celery message headers (W3C ``traceparent``);
- ``<task> process`` (consumer) in the worker, a child of the publish span;
- ``<operation> <model>`` (client) for each provider call, with the ``gen_ai.*``
  attributes of the conventions (request/response model, usage tokens, ``error.type``).

Unset: nothing here imports OpenTelemetry, no signal is connected and every function is a
constant-time no-op, so the create path costs what it did.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from generations.hooks import AttemptFinished, StatusChange

_tracer: Any = None  # an opentelemetry Tracer once tracing_setup() turned tracing on
_running: dict[str, tuple[Any, Any]] = {}  # task id -> (span, context token)
RUNNING_CAP = 10_000  # a publish that failed never ends its span: drop the oldest then
_lock = threading.Lock()  # the threads pool runs tasks side by side
GENERATION_ID = "genpipe.generation.id"


def tracing_configured() -> bool:
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def tracing_setup() -> bool:
    """Install the tracer provider, Django's instrumentation and the Celery propagation
    when an endpoint is configured (once per process). Returns whether tracing is on."""
    global _tracer
    if _tracer is not None or not tracing_configured():
        return _tracer is not None
    from celery import signals
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "genpipe")})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument()
    _tracer = trace.get_tracer("genpipe")
    signals.before_task_publish.connect(_publish_start, weak=False)
    signals.after_task_publish.connect(_publish_end, weak=False)
    signals.task_prerun.connect(_task_start, weak=False)
    signals.task_postrun.connect(_task_end, weak=False)
    signals.worker_process_shutdown.connect(_flush, weak=False)
    signals.worker_shutdown.connect(_flush, weak=False)
    return True


def _flush(**_: Any) -> None:
    from opentelemetry import trace

    provider = trace.get_tracer_provider()
    if hasattr(provider, "force_flush"):
        provider.force_flush(5000)


def creation_annotate(change: StatusChange) -> None:
    """Name the generation on the span that created it (the API request's)."""
    if _tracer is None:
        return
    from opentelemetry import trace

    span = trace.get_current_span()
    span.set_attribute(GENERATION_ID, str(change.generation_id))
    span.set_attribute("gen_ai.operation.name", change.operation_type)
    span.set_attribute("gen_ai.provider.name", change.provider_id)


def _generation_of(args: Any) -> str | None:
    if isinstance(args, list | tuple) and args and isinstance(args[0], str):
        return args[0]
    return None


def _publish_start(sender: Any = None, headers: Any = None, body: Any = None, **_: Any) -> None:
    from opentelemetry import propagate, trace

    if not isinstance(headers, dict):
        return
    task_id = str(headers.get("id") or "")
    name = str(headers.get("task") or sender or "celery")
    span = _tracer.start_span(f"{name} publish", kind=trace.SpanKind.PRODUCER)
    span.set_attribute("messaging.system", "celery")
    span.set_attribute("messaging.operation.type", "send")
    span.set_attribute("messaging.message.id", task_id)
    args = body[0] if isinstance(body, list | tuple) and body else None
    generation_id = _generation_of(args)
    if generation_id:
        span.set_attribute(GENERATION_ID, generation_id)
    propagate.inject(headers, context=trace.set_span_in_context(span))
    _remember(f"publish:{task_id}", span, None)


def _remember(key: str, span: Any, token: Any) -> None:
    with _lock:
        while len(_running) >= RUNNING_CAP:
            stale, _token = _running.pop(next(iter(_running)))
            stale.end()
        _running[key] = (span, token)


def _forget(key: str) -> tuple[Any, Any]:
    with _lock:
        return _running.pop(key, (None, None))


def _publish_end(headers: Any = None, **_: Any) -> None:
    task_id = str((headers or {}).get("id") or "") if isinstance(headers, dict) else ""
    span, _token = _forget(f"publish:{task_id}")
    if span is not None:
        span.end()


class _RequestGetter:
    """Reads the propagated headers from a Celery task request (they become attributes)."""

    def get(self, carrier: Any, key: str) -> list[str] | None:
        value = getattr(carrier, key, None)
        if value is None and isinstance(getattr(carrier, "headers", None), dict):
            value = carrier.headers.get(key)
        return [value] if isinstance(value, str) else None

    def keys(self, carrier: Any) -> list[str]:
        return []


def _task_start(task_id: str = "", task: Any = None, args: Any = None, **_: Any) -> None:
    from opentelemetry import context, propagate, trace

    getter: Any = _RequestGetter()
    parent = propagate.extract(getattr(task, "request", None), getter=getter)
    name = getattr(task, "name", "celery")
    span = _tracer.start_span(f"{name} process", context=parent, kind=trace.SpanKind.CONSUMER)
    span.set_attribute("messaging.system", "celery")
    span.set_attribute("messaging.operation.type", "process")
    span.set_attribute("messaging.message.id", task_id)
    generation_id = _generation_of(args)
    if generation_id:
        span.set_attribute(GENERATION_ID, generation_id)
    token = context.attach(trace.set_span_in_context(span))
    _remember(f"task:{task_id}", span, token)


def _task_end(task_id: str = "", **_: Any) -> None:
    from opentelemetry import context

    span, token = _forget(f"task:{task_id}")
    if token is not None:
        context.detach(token)
    if span is not None:
        span.end()


def attempt_span(attempt: AttemptFinished) -> None:
    """The provider call as a client span, timed by the attempt's own clock, a child of
    the running task's span."""
    if _tracer is None:
        return
    from opentelemetry import trace
    from opentelemetry.trace import Status, StatusCode

    end_ns = int(attempt.finished_at.timestamp() * 1e9)
    start_ns = int(attempt.started_at.timestamp() * 1e9)
    if attempt.latency_ms is not None:
        start_ns = end_ns - attempt.latency_ms * 1_000_000
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": attempt.operation_type,
        "gen_ai.provider.name": attempt.provider_id,
        "gen_ai.usage.input_tokens": attempt.tokens_in,
        "gen_ai.usage.output_tokens": attempt.tokens_out,
        GENERATION_ID: str(attempt.generation_id),
        "genpipe.cost_usd": float(attempt.cost_usd),
        "genpipe.attempt.outcome": attempt.outcome,
    }
    if attempt.model:
        attributes["gen_ai.request.model"] = attempt.model
        attributes["gen_ai.response.model"] = attempt.model
    name = f"{attempt.operation_type} {attempt.model}".strip()
    span = _tracer.start_span(
        name, kind=trace.SpanKind.CLIENT, start_time=start_ns, attributes=attributes
    )
    if attempt.outcome == "failed":
        span.set_attribute("error.type", attempt.error_code or "unknown")
        span.set_status(Status(StatusCode.ERROR, attempt.error_code))
    span.end(end_time=end_ns)
