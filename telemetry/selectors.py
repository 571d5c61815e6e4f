"""Read telemetry: totals, 1 h and 24 h windows, latency percentiles, errors, health.

The Redis aggregates answer when Redis is configured and reachable; otherwise the same
figures are computed from the database (ProviderAttempt and Generation rows), so the
endpoints never depend on Redis. Windows are bucket-aligned: "1h" starts at the beginning
of the minute 59 minutes ago, "24h" at the beginning of the hour 23 hours ago. Latency
percentiles cover the last 24 h (nearest rank, see ``telemetry.percentiles``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.module_loading import import_string

from generations.models import Generation, Provider, ProviderAttempt, Status
from generations.services.breaker import BreakerView, breaker_view

from . import keys
from .health import health_classify, thresholds
from .percentiles import PERCENTILES, nearest_rank
from .store import count_failure, run_script, telemetry_client

FIELDS = (
    "total",
    "completed",
    "failed",
    "cancelled",
    "attempts",
    "attempt_failures",
    "tokens_in",
    "tokens_out",
)
ERROR_WINDOW = timedelta(days=7)
TOP_ERRORS = 5

# Trim a latency set to its window, then answer each percentile by rank (nearest rank, see
# telemetry.percentiles): {n, value or '' per percentile}. Never pulls the samples out.
_RANKS_LUA = """
local function ranks(values, times, cutoff, first, last)
  local old = redis.call('ZRANGEBYSCORE', times, '-inf', '(' .. cutoff, 'LIMIT', 0, 5000)
  if #old > 0 then
    redis.call('ZREM', values, unpack(old))
    redis.call('ZREM', times, unpack(old))
  end
  local n = redis.call('ZCARD', values)
  local out = {tostring(n)}
  for i = first, last do
    local p = tonumber(ARGV[i])
    local need = math.ceil(100 / (100 - p) - 1e-9)
    if n < need or n < 1 then
      out[#out + 1] = ''
    else
      local rank = math.max(1, math.ceil(p / 100 * n - 1e-9))
      out[#out + 1] = redis.call('ZRANGE', values, rank - 1, rank - 1, 'WITHSCORES')[2]
    end
  end
  return out
end
"""

# The percentiles alone (KEYS = latencies, latency times; ARGV = cutoff, percentiles).
_PERCENTILE_LUA = _RANKS_LUA + "return ranks(KEYS[1], KEYS[2], ARGV[1], 2, #ARGV)\n"

_READ_LUA = (
    _RANKS_LUA
    + """
local function sum(first, last)
  local acc, names = {}, {}
  for i = first, last do
    local flat = redis.call('HGETALL', KEYS[i])
    for j = 1, #flat, 2 do
      local name = flat[j]
      if acc[name] == nil then acc[name] = 0; names[#names + 1] = name end
      acc[name] = acc[name] + tonumber(flat[j + 1])
    end
  end
  local out = {}
  for _, name in ipairs(names) do
    out[#out + 1] = name
    out[#out + 1] = string.format('%.17g', acc[name])
  end
  return out
end
local totals = redis.call('HGETALL', KEYS[1])
local minutes = sum(5, 64)
local hours = sum(65, 88)
local r = ranks(KEYS[2], KEYS[3], ARGV[1], 2, #ARGV)
local errors = redis.call('ZREVRANGE', KEYS[4], 0, 4)
return {totals, minutes, hours, r, errors}
"""
)


@dataclass
class Counts:
    total: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    attempts: int = 0
    attempt_failures: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: Decimal = Decimal("0")

    def add(self, raw: dict[str, str]) -> None:
        for name in FIELDS:
            setattr(self, name, getattr(self, name) + int(raw.get(name) or 0))
        self.cost_usd += Decimal(raw.get("cost_usd") or "0")

    def as_dict(self) -> dict[str, Any]:
        decided = self.completed + self.failed
        cost = self.cost_usd.quantize(Decimal("0.000001"))
        return {
            **{name: getattr(self, name) for name in FIELDS},
            "success_rate": round(self.completed / decided, 4) if decided else None,
            "cost_usd": str(cost),
            "avg_cost_usd": (
                str((cost / self.completed).quantize(Decimal("0.000001")))
                if self.completed
                else None
            ),
        }


@dataclass
class Stats:
    scope: str
    ident: str
    source: str
    totals: Counts = field(default_factory=Counts)
    last_1h: Counts = field(default_factory=Counts)
    last_24h: Counts = field(default_factory=Counts)
    samples: int = 0
    percentiles: dict[int, float | None] = field(default_factory=dict)
    consecutive_failures: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(
        self, limits: dict[str, float], breaker: BreakerView | None = None
    ) -> dict[str, Any]:
        """The report; a provider's ``breaker`` supplies its health figures and state."""
        if breaker is not None:
            health = health_classify(
                attempts=breaker.window_calls,
                attempt_failures=breaker.window_failures,
                consecutive_failures=breaker.consecutive_failures,
                p95_ms=self.percentiles.get(95),
                limits=limits,
                breaker_state=breaker.state,
                breaker_reason=breaker.reason,
                window=f"the last {breaker.window_s} s",
            )
        else:
            health = health_classify(
                attempts=self.last_1h.attempts,
                attempt_failures=self.last_1h.attempt_failures,
                consecutive_failures=self.consecutive_failures,
                p95_ms=self.percentiles.get(95),
                limits=limits,
            )
        return {
            "source": self.source,
            "health": health.as_dict(),
            "totals": self.totals.as_dict(),
            "last_1h": self.last_1h.as_dict(),
            "last_24h": self.last_24h.as_dict(),
            "latency_ms": {
                "window": "24h",
                "samples": self.samples,
                **{f"p{p}": self.percentiles.get(p) for p in PERCENTILES},
            },
            "consecutive_failures": (
                breaker.consecutive_failures if breaker is not None else self.consecutive_failures
            ),
            **({"breaker": breaker.as_dict()} if breaker is not None else {}),
            "top_errors": self.errors,
        }


def _integral(value: str) -> str:
    """Lua sums come back as %.17g text; counters are whole numbers."""
    number = float(value)
    return str(int(number)) if number.is_integer() else value


def window_starts(now: datetime) -> tuple[datetime, datetime]:
    minute = now.replace(second=0, microsecond=0)
    hour = minute.replace(minute=0)
    return minute - timedelta(minutes=59), hour - timedelta(hours=23)


# --- Redis -------------------------------------------------------------------------------


def _pairs(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _from_redis(client: Any, scope: str, ident: str, now: datetime) -> Stats:
    stats = Stats(scope, ident, "redis")
    bucket_keys = keys.minute_buckets(scope, ident, now) + keys.hour_buckets(scope, ident, now)
    reply = run_script(
        client,
        _READ_LUA,
        [
            keys.counters(scope, ident),
            keys.latencies(scope, ident),
            keys.latency_times(scope, ident),
            keys.error_index(scope, ident),
            *bucket_keys,
        ],
        [(now - keys.LATENCY_WINDOW).timestamp(), *PERCENTILES],
    )
    totals, minutes, hours, ranks, error_types = reply
    totals = _pairs(totals)
    stats.totals.add(totals)
    stats.last_1h.add({k: _integral(v) for k, v in _pairs(minutes).items()})
    stats.last_24h.add({k: _integral(v) for k, v in _pairs(hours).items()})
    stats.consecutive_failures = int(totals.get("consecutive_failures") or 0)
    stats.samples = int(ranks[0])
    for p, value in zip(PERCENTILES, ranks[1:], strict=True):
        stats.percentiles[p] = float(value) if value != "" else None
    if error_types:
        pipe = client.pipeline(transaction=False)
        for code in error_types:
            pipe.hgetall(keys.error(scope, ident, code))
        for code, raw in zip(error_types, pipe.execute(), strict=True):
            if raw:
                stats.errors.append(
                    {
                        "error_type": code,
                        "count": int(raw.get("count") or 0),
                        "last_error": raw.get("last_error", ""),
                        "last_seen": raw.get("last_seen"),
                    }
                )
        stats.errors.sort(key=lambda e: (-e["count"], e["error_type"]))
    return stats


# --- Database ----------------------------------------------------------------------------


def _db_counts(
    generations: QuerySet[Generation],
    attempts: QuerySet[ProviderAttempt],
    since: datetime | None,
) -> Counts:
    if since is not None:
        generations = generations.filter(completed_at__gte=since)
        attempts = attempts.filter(finished_at__gte=since)
    g = generations.filter(status__in=[Status.COMPLETED, Status.FAILED, Status.CANCELLED])
    row = g.aggregate(
        total=Count("id"),
        completed=Count("id", filter=Q(status=Status.COMPLETED)),
        failed=Count("id", filter=Q(status=Status.FAILED)),
        cancelled=Count("id", filter=Q(status=Status.CANCELLED)),
    )
    a = attempts.filter(finished_at__isnull=False).aggregate(
        attempts=Count("id"),
        attempt_failures=Count("id", filter=Q(outcome=ProviderAttempt.Outcome.FAILED)),
        tokens_in=Sum("tokens_in"),
        tokens_out=Sum("tokens_out"),
        cost_usd=Sum("cost_usd"),
    )
    counts = Counts(**{k: row[k] for k in ("total", "completed", "failed", "cancelled")})
    counts.attempts, counts.attempt_failures = a["attempts"], a["attempt_failures"]
    counts.tokens_in, counts.tokens_out = a["tokens_in"] or 0, a["tokens_out"] or 0
    counts.cost_usd = Decimal(a["cost_usd"] or 0)
    return counts


def _from_db(scope: str, ident: str, now: datetime) -> Stats:
    lookup = {"provider_id": ident} if scope == "provider" else {"operation_type": ident}
    generations = Generation.objects.filter(**lookup)
    attempts = ProviderAttempt.objects.filter(**lookup)
    hour_start, day_start = window_starts(now)
    stats = Stats(scope, ident, "database")
    stats.totals = _db_counts(generations, attempts, None)
    stats.last_1h = _db_counts(generations, attempts, hour_start)
    stats.last_24h = _db_counts(generations, attempts, day_start)
    samples = (
        generations.filter(
            status__in=[Status.COMPLETED, Status.FAILED],
            latency_ms__isnull=False,
            completed_at__gte=now - keys.LATENCY_WINDOW,
        )
        .order_by("latency_ms")
        .values_list("latency_ms", flat=True)
    )
    stats.samples = samples.count()
    for p in PERCENTILES:
        rank = nearest_rank(stats.samples, p)
        value = samples[rank - 1] if rank else None
        stats.percentiles[p] = float(value) if value is not None else None
    recent = attempts.filter(finished_at__isnull=False).order_by("-finished_at", "-id")
    for outcome in recent.values_list("outcome", flat=True)[:100]:
        if outcome != ProviderAttempt.Outcome.FAILED:
            break
        stats.consecutive_failures += 1
    failed = attempts.filter(
        outcome=ProviderAttempt.Outcome.FAILED, finished_at__gte=now - ERROR_WINDOW
    )
    groups = (
        failed.values("error_code")
        .annotate(count=Count("id"), last_seen=Max("finished_at"))
        .order_by("-count", "error_code")[:TOP_ERRORS]
    )
    for group in groups:
        last = failed.filter(error_code=group["error_code"]).order_by("-finished_at").first()
        stats.errors.append(
            {
                "error_type": group["error_code"] or "unknown",
                "count": group["count"],
                "last_error": last.error_message[:500] if last else "",
                "last_seen": group["last_seen"].isoformat(),
            }
        )
    return stats


# --- Public reads ------------------------------------------------------------------------


def telemetry_stats(
    *, scope: str, ident: str, now: datetime | None = None, source: str | None = None
) -> Stats:
    """Figures of one provider or operation type; Redis first, the database as fallback."""
    now = now or timezone.now()
    client = telemetry_client() if source != "database" else None
    if client is not None:
        try:
            return _from_redis(client, scope, ident, now)
        except Exception as exc:
            count_failure("read", exc)
    return _from_db(scope, ident, now)


def provider_limits(provider: Provider) -> dict[str, float]:
    overrides = dict(getattr(settings, "TELEMETRY_HEALTH", {}) or {})
    objective = (provider.settings or {}).get("latency_objective_ms")
    if objective:
        overrides["latency_objective_ms"] = objective
    return thresholds(overrides)


def provider_report(
    provider: Provider, *, now: datetime | None = None, source: str | None = None
) -> dict[str, Any]:
    stats = telemetry_stats(scope="provider", ident=provider.id, now=now, source=source)
    breaker = breaker_view(provider=provider, now=now)
    report = {
        "provider_id": provider.id,
        "name": provider.name,
        "enabled": provider.enabled,
        **stats.as_dict(provider_limits(provider), breaker),
    }
    # Apps above telemetry add figures by dotted path (experiments: feedback means).
    for key, dotted in (getattr(settings, "TELEMETRY_PROVIDER_EXTRAS", {}) or {}).items():
        report[key] = import_string(dotted)(provider)
    return report


def provider_report_all(
    *, now: datetime | None = None, source: str | None = None
) -> list[dict[str, Any]]:
    """Every provider, busiest first (lifetime generations, then id)."""
    reports = [provider_report(p, now=now, source=source) for p in Provider.objects.all()]
    return sorted(reports, key=lambda r: (-r["totals"]["total"], r["provider_id"]))


def operation_report(
    operation_type: str, *, now: datetime | None = None, source: str | None = None
) -> dict[str, Any]:
    stats = telemetry_stats(scope="operation", ident=operation_type, now=now, source=source)
    limits = thresholds(getattr(settings, "TELEMETRY_HEALTH", {}) or {})
    return {"operation_type": operation_type, **stats.as_dict(limits)}


def telemetry_series(
    *, scope: str, ident: str, hours: int = 24, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Hourly completed/failed/cancelled counts, oldest first (for the dashboard charts)."""
    now = now or timezone.now()
    starts = [
        (now - timedelta(hours=i)).replace(minute=0, second=0, microsecond=0)
        for i in reversed(range(hours))
    ]
    client = telemetry_client()
    rows: list[dict[str, str]] | None = None
    if client is not None:
        try:
            pipe = client.pipeline(transaction=False)
            for start in starts:
                pipe.hgetall(keys.hour_bucket(scope, ident, start))
            rows = pipe.execute()
        except Exception as exc:
            count_failure("series read", exc)
    if rows is None:
        from django.db.models.functions import TruncHour

        lookup = {"provider_id": ident} if scope == "provider" else {"operation_type": ident}
        grouped = (
            Generation.objects.filter(**lookup, completed_at__gte=starts[0])
            .annotate(hour=TruncHour("completed_at"))
            .values("hour", "status")
            .annotate(n=Count("id"))
        )
        by_hour: dict[datetime, dict[str, str]] = {}
        for row in grouped:
            by_hour.setdefault(row["hour"], {})[row["status"]] = str(row["n"])
        rows = [by_hour.get(start, {}) for start in starts]
    return [
        {
            "hour": start,
            "completed": int(raw.get("completed") or 0),
            "failed": int(raw.get("failed") or 0),
            "cancelled": int(raw.get("cancelled") or 0),
        }
        for start, raw in zip(starts, rows, strict=True)
    ]
