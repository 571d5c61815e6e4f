"""The circuit breaker of each provider: the one place that decides whether a call may go.

States, per provider (one ``ProviderBreaker`` row):

- ``closed``: calls go through. Only provider-side faults count (timeouts, connection
  errors, 5xx, 429, the adapter's transient codes, redirects and oversized answers; see
  ``ProviderError.provider_fault``); a request the provider rejects as invalid, unsafe or
  unauthorized fails that generation alone. The breaker opens when, within its window
  (``GENPIPE_BREAKER_WINDOW_S``, default 60 s), either ``down_consecutive_failures``
  provider faults came in a row (each within the window of the previous one), or at least
  ``min_samples`` calls were made and fewer than ``down_success_rate`` of them succeeded
  (thresholds of ``TELEMETRY_HEALTH``, see ``telemetry.health``).
- ``open`` until ``open_until`` = opening + the provider's ``breaker_cooldown_s``
  (doubled after each failed probe, capped by ``GENPIPE_BREAKER_COOLDOWN_CAP_S``): no call
  goes; generations fail over or wait out their retries until then.
- ``half_open``: the first attempt after ``open_until`` claims the single probe with a
  conditional UPDATE (two workers cannot both probe); success closes the breaker, a
  provider fault opens it again with the doubled cool-down. A probe whose worker died is
  taken over once it is older than the provider's read timeout plus a margin.

Every write is a conditional UPDATE on the row, so concurrent workers on any number of
machines agree without a lock service; it works the same on SQLite and PostgreSQL.
``breaker_view`` is what dashboards, the telemetry API and ``provider_health`` show, and
``telemetry.health.health_classify`` turns it into the health state, so the breaker and
the dashboards never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from telemetry.health import thresholds

from ..models import Provider, ProviderBreaker

State = ProviderBreaker.State
PROBE_MARGIN = timedelta(seconds=30)


@dataclass(frozen=True)
class Admission:
    """Whether a call may go now; ``probe`` when it is the half-open probe.

    A refused call carries ``retry_at``: when the breaker may let a call through again.
    """

    allowed: bool
    probe: bool = False
    retry_at: datetime | None = None
    reason: str = ""


@dataclass(frozen=True)
class BreakerView:
    """The breaker as shown to operators (plain values, safe to serialize)."""

    state: str
    open_until: datetime | None
    reason: str
    consecutive_failures: int
    window_calls: int
    window_failures: int
    window_s: int
    cooldown_s: int
    failed_probes: int
    closed_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "open_until": self.open_until.isoformat() if self.open_until else None,
            "reason": self.reason,
            "consecutive_failures": self.consecutive_failures,
            "window": {
                "seconds": self.window_s,
                "calls": self.window_calls,
                "failures": self.window_failures,
            },
            "cooldown_s": self.cooldown_s,
            "failed_probes": self.failed_probes,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
        }


def window_s() -> int:
    return int(getattr(settings, "GENPIPE_BREAKER_WINDOW_S", 60))


def cooldown_cap_s() -> int:
    return int(getattr(settings, "GENPIPE_BREAKER_COOLDOWN_CAP_S", 300))


def _limits() -> dict[str, float]:
    return thresholds(getattr(settings, "TELEMETRY_HEALTH", {}) or {})


def _cooldown(provider: Provider, failed_probes: int) -> timedelta:
    base = max(1, int(provider.breaker_cooldown_s or 30))
    return timedelta(seconds=min(cooldown_cap_s(), base * 2 ** min(failed_probes, 16)))


def _row(provider_id: str, now: datetime) -> ProviderBreaker:
    row, _ = ProviderBreaker.objects.get_or_create(
        provider_id=provider_id, defaults={"window_started_at": now}
    )
    return row


def _loaded(provider: Provider) -> ProviderBreaker | None:
    """The breaker row read with the provider (``select_related("provider__breaker")``,
    as the worker loads its generation), so a closed breaker costs no statement."""
    if not Provider.breaker.is_cached(provider):  # type: ignore[attr-defined]
        return None
    try:
        return provider.breaker  # type: ignore[no-any-return]
    except ProviderBreaker.DoesNotExist:
        return None


def breaker_closed(provider: Provider) -> bool:
    """Is the breaker row read with ``provider`` closed? Then ``breaker_admit`` would let
    the call go without a statement (``False`` also when no row was read with it)."""
    row = _loaded(provider)
    return row is not None and row.state == State.CLOSED


def breaker_admit(*, provider: Provider, now: datetime) -> Admission:
    """May a call to ``provider`` go now? Claims the half-open probe when one is due.

    Side effect: ``open → half_open`` (or a stale probe's takeover) by a conditional
    UPDATE; exactly one caller wins it. A breaker row loaded with ``provider`` is used as
    read (the worker loads it with the generation, a few milliseconds earlier).
    """
    row = _loaded(provider) or _row(provider.id, now)
    if row.state == State.CLOSED:
        return Admission(True)
    breakers = ProviderBreaker.objects.filter(provider_id=provider.id)
    if row.state == State.OPEN:
        if row.open_until is not None and now < row.open_until:
            return Admission(False, retry_at=row.open_until, reason=row.reason)
        won = breakers.filter(state=State.OPEN, open_until=row.open_until).update(
            state=State.HALF_OPEN, probe_started_at=now
        )
    else:
        stale = now - timedelta(seconds=provider.read_timeout_s) - PROBE_MARGIN
        if row.probe_started_at is not None and row.probe_started_at > stale:
            retry_at = now + timedelta(seconds=max(1, int(provider.breaker_cooldown_s or 30)))
            return Admission(False, retry_at=retry_at, reason="half-open: a probe is running")
        won = breakers.filter(state=State.HALF_OPEN, probe_started_at=row.probe_started_at).update(
            probe_started_at=now
        )
    if won:
        return Admission(True, probe=True)
    retry_at = now + timedelta(seconds=max(1, int(provider.breaker_cooldown_s or 30)))
    return Admission(False, retry_at=retry_at, reason="half-open: a probe is running")


def breaker_record(
    *, provider: Provider, succeeded: bool, provider_fault: bool, probe: bool, now: datetime
) -> None:
    """Feed one finished call to the breaker.

    A success closes a half-open breaker (and counts in the window of a closed one); a
    provider fault counts against a closed breaker, opening it past the thresholds, and
    re-opens a half-open one with a doubled cool-down. Anything else (the provider
    rejected this request) changes nothing.
    """
    breakers = ProviderBreaker.objects.filter(provider_id=provider.id)
    if succeeded:
        if not probe and _count(provider.id, now, failed=False):
            return
        # A success proves the provider works: it closes a breaker that is not closed
        # (the probe's, or a call admitted before the breaker opened).
        closed = breakers.exclude(state=State.CLOSED).update(
            state=State.CLOSED,
            reason="",
            open_until=None,
            probe_started_at=None,
            failed_probes=0,
            closed_at=now,
            consecutive_failures=0,
            window_started_at=now,
            window_calls=1,
            window_failures=0,
        )
        if not closed and not probe:  # no row yet: this call starts its first window
            _row(provider.id, now)
            _count(provider.id, now, failed=False)
        return
    if not provider_fault:
        return
    row = _row(provider.id, now)
    if probe:
        breakers.filter(state=State.HALF_OPEN).update(
            state=State.OPEN,
            open_until=now + _cooldown(provider, row.failed_probes + 1),
            probe_started_at=None,
            failed_probes=F("failed_probes") + 1,
            reason=f"probe failed ({row.failed_probes + 1} in a row)",
        )
        return
    _count(provider.id, now, failed=True)
    _open_if_tripped(provider, now)


def _count(provider_id: str, now: datetime, *, failed: bool) -> int:
    """Count one call in a closed breaker's window (a stale window starts afresh);
    returns the rows updated (0: the breaker is not closed).

    One conditional UPDATE in plain SQL (every call of every worker runs it; the ORM's
    CASE expressions cost more to build than the statement costs to run)."""
    sql, params = _count_statement(provider_id, now, failed=failed)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def _count_statement(
    provider_id: str, now: datetime, *, failed: bool, condition: str = ""
) -> tuple[str, list[Any]]:
    table = connection.ops.quote_name(ProviderBreaker._meta.db_table)
    at = connection.ops.adapt_datetimefield_value(now)
    cutoff = connection.ops.adapt_datetimefield_value(now - timedelta(seconds=window_s()))
    stale = "(window_started_at < %s OR window_started_at IS NULL)"
    sets = [
        f"window_started_at = CASE WHEN {stale} THEN %s ELSE window_started_at END",
        f"window_calls = CASE WHEN {stale} THEN 1 ELSE window_calls + 1 END",
        f"window_failures = CASE WHEN {stale} THEN %s ELSE window_failures + %s END",
    ]
    params: list[Any] = [cutoff, at, cutoff, cutoff, int(failed), int(failed)]
    if failed:
        sets.append(
            "consecutive_failures = CASE WHEN last_failure_at >= %s"
            " THEN consecutive_failures + 1 ELSE 1 END"
        )
        sets.append("last_failure_at = %s")
        params += [cutoff, at]
    else:
        sets.append("consecutive_failures = 0")
    sql = f"UPDATE {table} SET {', '.join(sets)} WHERE provider_id = %s AND state = %s{condition}"
    return sql, [*params, provider_id, str(State.CLOSED)]


@dataclass(frozen=True)
class WindowSuccess:
    """A companion of the transition that completes a generation (``transition_sql``):
    counts its provider call as a success in a closed breaker's window, as
    ``breaker_record`` does, in the same statement. Returns 1, or ``None`` when the breaker
    is not closed (then ``breaker_record`` must see the call)."""

    provider_id: str
    now: datetime

    def statement(self) -> tuple[str, list[Any]]:
        sql, params = _count_statement(
            self.provider_id, self.now, failed=False, condition=" AND EXISTS (SELECT 1 FROM upd)"
        )
        return f"{sql} RETURNING 1", params

    def write(self) -> int | None:
        return 1 if _count(self.provider_id, self.now, failed=False) else None


def _open_if_tripped(provider: Provider, now: datetime) -> None:
    limits = _limits()
    row = _row(provider.id, now)
    if row.state != State.CLOSED:
        return
    reason = ""
    if row.consecutive_failures >= limits["down_consecutive_failures"]:
        reason = f"{row.consecutive_failures} consecutive failures"
    elif row.window_calls >= limits["min_samples"]:
        rate = (row.window_calls - row.window_failures) / row.window_calls
        if rate < limits["down_success_rate"]:
            reason = f"{row.window_failures} of {row.window_calls} calls failed in {window_s()} s"
    if not reason:
        return
    ProviderBreaker.objects.filter(
        provider_id=provider.id, state=State.CLOSED, window_calls=row.window_calls
    ).update(
        state=State.OPEN,
        reason=reason,
        opened_at=now,
        open_until=now + _cooldown(provider, 0),
        failed_probes=0,
        probe_started_at=None,
    )


def breaker_reset(*, provider: Provider, now: datetime | None = None) -> bool:
    """Close the breaker by hand (admin action, ``provider_health --reset``).

    Returns whether it was not closed before. The window starts afresh either way.
    """
    now = now or timezone.now()
    _row(provider.id, now)
    was_open = (
        ProviderBreaker.objects.filter(provider_id=provider.id)
        .exclude(state=State.CLOSED)
        .update(state=State.CLOSED)
    )
    ProviderBreaker.objects.filter(provider_id=provider.id).update(
        reason="",
        open_until=None,
        probe_started_at=None,
        failed_probes=0,
        closed_at=now,
        consecutive_failures=0,
        window_started_at=now,
        window_calls=0,
        window_failures=0,
    )
    return bool(was_open)


def breaker_view(*, provider: Provider, now: datetime | None = None) -> BreakerView:
    """The breaker of ``provider`` as dashboards show it; a window older than its length
    counts as empty, an open breaker past ``open_until`` shows as ``half_open``."""
    now = now or timezone.now()
    row = ProviderBreaker.objects.filter(provider_id=provider.id).first()
    if row is None:
        row = ProviderBreaker(provider_id=provider.id)
    seconds = window_s()
    current = row.window_started_at is not None and row.window_started_at >= now - timedelta(
        seconds=seconds
    )
    state = row.state
    if state == State.OPEN and row.open_until is not None and now >= row.open_until:
        state = State.HALF_OPEN
    fresh_run = row.last_failure_at is not None and row.last_failure_at >= now - timedelta(
        seconds=seconds
    )
    return BreakerView(
        state=state,
        open_until=row.open_until if row.state == State.OPEN else None,
        reason=row.reason
        or ("half-open: the next call is a probe" if state == State.HALF_OPEN else ""),
        consecutive_failures=(
            row.consecutive_failures if fresh_run or state != State.CLOSED else 0
        ),
        window_calls=row.window_calls if current else 0,
        window_failures=row.window_failures if current else 0,
        window_s=seconds,
        cooldown_s=int(_cooldown(provider, row.failed_probes).total_seconds()),
        failed_probes=row.failed_probes,
        closed_at=row.closed_at,
    )
