"""Reading telemetry: Redis and database agree, windows roll over, endpoints answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from generations.figures import telemetry_stats
from generations.models import Generation
from generations.services.lifecycle import generation_transition
from telemetry.recording import telemetry_record_attempt, telemetry_record_terminal
from tests.builders import create_body

URL = "/api/v1/generations"
T = datetime(2026, 11, 23, 14, 30, 0, tzinfo=UTC)


def run_mix(api, sandbox, capture) -> None:
    """Ten generations through the real pipeline: completed, failed, cancelled."""
    with capture(execute=True):
        for i in range(6):
            api.post(URL, create_body(config={"prompt": f"ok {i}"}), format="json")
    sandbox.settings = {"failure_rate": 1.0, "failure_code": "sandbox_busy", "max_retries": 0}
    sandbox.save()
    with capture(execute=True):
        for i in range(3):
            api.post(
                URL,
                create_body(config={"generation_type": "dialogue", "prompt": f"bad {i}"}),
                format="json",
            )
    sandbox.settings = {}
    sandbox.save()
    pending = api.post(URL, create_body(config={"prompt": "to cancel"}), format="json").json()
    with capture(execute=True):
        generation_transition(generation_id=pending["id"], to_status="cancelled")


def comparable(stats) -> dict:
    report = stats.as_dict(
        {
            "min_samples": 10,
            "degraded_success_rate": 0.9,
            "down_success_rate": 0.5,
            "degraded_consecutive_failures": 3,
            "down_consecutive_failures": 5,
            "latency_objective_ms": 30000,
        }
    )
    report.pop("source")
    for error in report["top_errors"]:
        error.pop("last_seen")  # same instant, different string formats
    return report


@pytest.mark.redis
def test_redis_and_database_give_the_same_figures(
    api, sandbox, telemetry_redis, django_capture_on_commit_callbacks
):
    run_mix(api, sandbox, django_capture_on_commit_callbacks)
    for scope, ident in (
        ("provider", "sandbox"),
        ("operation", "text_to_image"),
        ("operation", "dialogue"),
    ):
        from_redis = telemetry_stats(scope=scope, ident=ident)
        from_db = telemetry_stats(scope=scope, ident=ident, source="database")
        assert from_redis.source == "redis"
        assert from_db.source == "database"
        assert comparable(from_redis) == comparable(from_db)
    provider = comparable(telemetry_stats(scope="provider", ident="sandbox"))
    assert provider["totals"]["total"] == 10
    assert (
        provider["totals"]["completed"],
        provider["totals"]["failed"],
        provider["totals"]["cancelled"],
    ) == (6, 3, 1)
    assert provider["totals"]["success_rate"] == round(6 / 9, 4)
    assert Decimal(provider["totals"]["cost_usd"]) > 0
    assert provider["latency_ms"]["samples"] == 9
    assert provider["latency_ms"]["p50"] is not None
    assert provider["consecutive_failures"] == 3
    assert provider["top_errors"][0]["error_type"] == "sandbox_busy"
    assert provider["top_errors"][0]["count"] == 3
    assert provider["health"]["state"] == "degraded"


@pytest.mark.redis
def test_rebuild_replays_the_database_into_redis(
    api, sandbox, telemetry_redis, django_capture_on_commit_callbacks
):
    run_mix(api, sandbox, django_capture_on_commit_callbacks)
    before = comparable(telemetry_stats(scope="provider", ident="sandbox"))
    telemetry_redis.set("genpipe-unrelated", "kept")
    telemetry_redis.delete("generation:agg:provider:sandbox:counters")
    call_command(
        "rebuild_telemetry", stdout=__import__("io").StringIO(), stderr=__import__("io").StringIO()
    )
    assert comparable(telemetry_stats(scope="provider", ident="sandbox")) == before
    assert telemetry_redis.get("genpipe-unrelated") == "kept"


@pytest.mark.redis
def test_windows_roll_over_with_an_injected_clock(telemetry_redis):
    telemetry_record_attempt(
        provider_id="p",
        operation_type="dialogue",
        succeeded=True,
        tokens_in=10,
        cost_usd=Decimal("0.5"),
        at=T,
    )
    telemetry_record_terminal(
        generation_id="g",
        provider_id="p",
        operation_type="dialogue",
        status="completed",
        latency_ms=120,
        at=T,
    )

    def read(now):
        stats = telemetry_stats(scope="provider", ident="p", now=now)
        return (
            stats.last_1h.completed,
            stats.last_24h.completed,
            stats.totals.completed,
            (stats.samples),
        )

    assert read(T) == (1, 1, 1, 1)
    assert read(T + timedelta(minutes=59)) == (1, 1, 1, 1)
    assert read(T + timedelta(minutes=61)) == (0, 1, 1, 1)
    assert read(T + timedelta(hours=23, minutes=29)) == (0, 1, 1, 1)
    assert read(T + timedelta(hours=25)) == (0, 0, 1, 0)


def test_without_redis_the_endpoints_answer_from_the_database(
    staff_api, api, sandbox, settings, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = ""
    run_mix(api, sandbox, django_capture_on_commit_callbacks)
    providers = staff_api.get(f"{URL}/telemetry/providers").json()["results"]
    sandbox_report = next(p for p in providers if p["provider_id"] == "sandbox")
    assert sandbox_report["source"] == "database"
    assert sandbox_report["totals"]["total"] == 10
    assert sandbox_report["health"]["state"] in {"healthy", "degraded", "down"}
    assert providers[0]["provider_id"] == "sandbox"  # busiest first
    detail = staff_api.get(f"{URL}/telemetry/providers/sandbox").json()
    assert detail["totals"] == sandbox_report["totals"]
    operation = staff_api.get(f"{URL}/telemetry/operations/dialogue").json()
    assert operation["totals"]["failed"] == 3
    assert operation["top_errors"][0]["error_type"] == "sandbox_busy"


def test_telemetry_endpoints_are_staff_only_and_404_unknown(staff_api, api):
    assert api.get(f"{URL}/telemetry/providers").status_code == 403
    assert api.get(f"{URL}/cache/stats").status_code == 403
    response = staff_api.get(f"{URL}/telemetry/providers/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "provider_not_found"
    assert staff_api.get(f"{URL}/telemetry/operations/nope").status_code == 404


@pytest.mark.redis
def test_cache_stats_count_hits_and_misses(staff_api, api, telemetry_redis):
    api.post(URL, create_body(), format="json")  # miss
    api.post(URL, create_body(), format="json")  # dedup hit
    api.post(URL, create_body(config={"strategy": "always"}), format="json")  # no lookup
    stats = staff_api.get(f"{URL}/cache/stats").json()
    assert stats["available"] is True
    assert stats["last_1h"] == {
        "hits": 1,
        "hits_cache": 0,
        "hits_dedup": 1,
        "misses": 1,
        "hit_rate": 0.5,
    }
    assert stats["last_24h"]["hits"] == 1
    assert stats["entries"]["by_strategy"]["once"] >= 1


@pytest.mark.redis
def test_a_create_counts_validation_and_cache_lookup_in_one_write(
    api, telemetry_redis, monkeypatch
):
    from generations.services import creation
    from telemetry.validation import validation_outcomes

    writes: list[list[str]] = []
    real = creation.bucket_count

    def recording(increments, ttls):
        writes.append(sorted(key.split(":")[2] for key in increments))  # cache / validation
        real(increments, ttls)

    monkeypatch.setattr(creation, "bucket_count", recording)
    assert api.post(URL, create_body(), format="json").status_code == 201
    assert api.post(URL, create_body(), format="json").status_code == 200  # dedup hit
    bad = create_body(config={"duration": {"min": 9, "max": 1}})
    assert api.post(URL, bad, format="json").status_code == 400
    # One bucket count (one script when written) per create: minute + hour of the lookup,
    # the validation hour; the refused request has no lookup to count.
    assert writes == [["cache", "cache", "validation"]] * 2 + [["validation"]]
    hour = telemetry_redis.hgetall(f"generation:stats:cache:h:{timezone.now():%Y%m%d%H}")
    assert hour == {"misses": "1", "hits_dedup": "1"}
    totals = validation_outcomes()["totals"]
    assert totals == {"valid": 2, "invalid": 1, "creates": 3, "validations": 0}


def test_bucket_merge_sums_fields_and_keeps_the_longest_ttl():
    from telemetry.buckets import bucket_merge

    merged = bucket_merge(
        [({"a": {"x": 1}}, {"a": 60}), ({"a": {"x": 2, "y": 1}, "b": {"z": 1}}, {"a": 30, "b": 5})]
    )
    assert merged == ({"a": {"x": 3, "y": 1}, "b": {"z": 1}}, {"a": 60, "b": 5})


def test_generation_latency_is_stored_for_generations_that_ran(
    api, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        done = api.post(URL, create_body(), format="json").json()
    cancelled = api.post(URL, create_body(config={"prompt": "x"}), format="json").json()
    generation_transition(generation_id=cancelled["id"], to_status="cancelled")
    assert Generation.objects.get(id=done["id"]).latency_ms is not None
    assert Generation.objects.get(id=cancelled["id"]).latency_ms is None


def test_cache_and_validation_stats_are_kept_without_redis(staff_api, api, settings):
    settings.REDIS_URL = ""  # the embedded default: counted in the Django cache
    api.post(URL, create_body(), format="json")  # miss
    api.post(URL, create_body(), format="json")  # dedup hit
    api.post(
        f"{URL}/validate", create_body(config={"duration": {"min": 9, "max": 1}}), format="json"
    )
    stats = staff_api.get(f"{URL}/cache/stats").json()
    assert stats["available"] is True and stats["approximate"] is True
    assert (stats["last_1h"]["hits"], stats["last_1h"]["misses"]) == (1, 1)
    from telemetry.validation import validation_outcomes

    outcomes = validation_outcomes()
    assert outcomes["totals"]["invalid"] == 1
    assert outcomes["totals"]["valid"] == 2
    assert {"kind": "error", "code": "duration_range_invalid", "count": 1} in outcomes["by_code"]


@pytest.mark.parametrize("source", [pytest.param("redis", marks=pytest.mark.redis), "database"])
def test_breaker_health_state_from_either_source(
    api, sandbox, settings, django_capture_on_commit_callbacks, source
):
    from generations.figures import provider_report
    from generations.models import Provider

    def health() -> tuple[str, str]:
        report = provider_report(Provider.objects.get(id="sandbox"))
        return report["health"]["state"], report["breaker"]["state"]

    if source == "database":
        settings.REDIS_URL = ""
    assert health() == ("healthy", "closed")
    sandbox.settings = {"failure_rate": 1.0, "max_retries": 0}
    sandbox.save()
    for i in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            api.post(URL, create_body(config={"prompt": f"f{i}"}), format="json")
    assert health() == ("degraded", "closed")
    for i in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            api.post(URL, create_body(config={"prompt": f"g{i}"}), format="json")
    assert health() == ("down", "open")
