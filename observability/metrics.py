"""The Prometheus metrics genpipe's processes write (docs/metrics.md lists every one).

The two GenAI histograms follow OpenTelemetry's GenAI semantic conventions
(``gen_ai.client.operation.duration`` in seconds, ``gen_ai.client.token.usage`` in tokens)
in their Prometheus spelling, with the conventions' recommended bucket boundaries. Every
label takes a value from a bounded set: provider ids (configured by staff), operation
types, statuses, outcomes and error codes (``bounded`` folds anything else into
``other``). Nothing is labelled by player, request, generation or workspace.

With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn, the Celery prefork worker) every process
writes its values to files in that folder and ``/metrics`` adds them up
(prometheus-client's multiprocess mode); without it the values live in the process.
"""

from __future__ import annotations

import re

from prometheus_client import Counter, Histogram

# OpenTelemetry GenAI conventions: ExplicitBucketBoundaries of the two client histograms.
DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
TOKEN_BUCKETS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip

PROVIDER = "gen_ai_provider_name"
OPERATION = "gen_ai_operation_name"

operation_duration = Histogram(
    "gen_ai_client_operation_duration_seconds",
    "GenAI operation duration: one provider call, from request to answer or error.",
    [PROVIDER, OPERATION, "error_type"],
    buckets=DURATION_BUCKETS,
)
token_usage = Histogram(
    "gen_ai_client_token_usage",
    "Number of input and output tokens used, per provider call.",
    [PROVIDER, OPERATION, "gen_ai_token_type"],
    buckets=TOKEN_BUCKETS,
)
cost = Counter(
    "genpipe_provider_cost_usd",
    "Cost in US dollars of provider calls, at the provider's configured prices.",
    [PROVIDER, OPERATION],
)
generations = Counter(
    "genpipe_generations",
    "Generations that entered a status (pending on creation, then processing, completed, "
    "failed, cancelled).",
    ["status", OPERATION, PROVIDER],
)
cache_lookups = Counter(
    "genpipe_cache_lookups",
    "Creates that consulted the cache, by outcome: cache (slot hit), dedup (identical "
    "generation), miss.",
    ["outcome", OPERATION],
)

_CODE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def bounded(value: str) -> str:
    """A label value from code-defined vocabularies, else ``other`` (never free text)."""
    return value if _CODE.fullmatch(value or "") else "other"
