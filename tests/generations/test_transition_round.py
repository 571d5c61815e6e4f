"""The transition round: the listeners' prepared Redis reads and publishes go in one
pipeline, answer what their own round trips would, and fall back to those when it fails."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from budgets.services import _config_key, budget_configs
from generations import hooks
from generations.hooks import StatusChange, TransitionRound
from streams.wakeup import wakeup_channel
from webhooks.models import Delivery, Endpoint
from webhooks.services.deliveries import _filters_key, endpoint_filters

pytestmark = pytest.mark.django_db
HEARD: list[Any] = []


# The Redis cache (the marker skips without REDIS_URL, and is an error in CI).
needs_redis = pytest.mark.redis


def _change(workspace_id: int = 1, to_status: str = "completed", event_id: int = 7) -> Any:
    return StatusChange(
        event_id=event_id,
        generation_id=uuid.uuid4(),
        workspace_id=workspace_id,
        provider_id="sandbox",
        operation_type="image",
        from_status="processing",
        to_status=to_status,
        reason="",
        at=timezone.now(),
    )


def reader(change: Any) -> None:
    HEARD.append(("read", hooks.cached("round:a"), hooks.cached("round:b")))


def _reader_prepare(change: Any, batch: TransitionRound) -> None:
    batch.read("round:a")
    batch.read("round:b")
    batch.publish("round:channel", str(change.event_id))


reader.prepare = _reader_prepare  # type: ignore[attr-defined]


def breaks_prepare(change: Any) -> None:
    HEARD.append(("still heard", change.event_id))


def _raise(change: Any, batch: TransitionRound) -> None:
    raise RuntimeError("prepare bug")


breaks_prepare.prepare = _raise  # type: ignore[attr-defined]


@pytest.fixture
def listening(settings: Any) -> Iterator[list[Any]]:
    HEARD.clear()
    settings.GENPIPE_TRANSITION_LISTENERS = [
        "tests.generations.test_transition_round.breaks_prepare",
        "tests.generations.test_transition_round.reader",
    ]
    cache.delete_many(["round:a", "round:b"])
    yield HEARD
    cache.delete_many(["round:a", "round:b"])


def _rounds(monkeypatch: pytest.MonkeyPatch) -> list[TransitionRound]:
    sent: list[TransitionRound] = []
    original = TransitionRound.send

    def send(self: TransitionRound) -> bool:
        ok = original(self)
        if ok:
            sent.append(self)
        return ok

    monkeypatch.setattr(TransitionRound, "send", send)
    return sent


@needs_redis
def test_prepared_reads_answer_what_the_cache_answers(listening, monkeypatch, caplog):
    cache.set("round:a", {"nested": [1, "two"], "n": 3})
    sent = _rounds(monkeypatch)
    hooks.status_changed(_change())
    assert len(sent) == 1 and sent[0].keys == ["round:a", "round:b"]
    # The same values cache.get gives, a missing key included, and the other listener
    # heard the change although its prepare raised (logged).
    assert listening == [
        ("still heard", 7),
        ("read", cache.get("round:a"), cache.get("round:b")),
    ]
    assert listening[1][1] == {"nested": [1, "two"], "n": 3} and listening[1][2] is None
    assert "prepare failed" in caplog.text


@needs_redis
def test_an_unsent_round_leaves_the_listeners_their_own_reads(listening, monkeypatch):
    cache.set("round:a", "from the cache")

    def broken(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("down")

    monkeypatch.setattr("core.redis_round.Round.execute", broken)
    hooks.status_changed(_change())
    assert listening[-1] == ("read", "from the cache", None)
    assert hooks.round_published("round:channel", "7") is False


@needs_redis
def test_a_value_the_round_cannot_decode_is_read_by_the_listener(listening, monkeypatch):
    cache.set("round:a", "kept")
    cache.set("round:b", "undecodable here")
    decode = cache.client.decode  # type: ignore[attr-defined]
    failed: list[Any] = []

    def picky(raw: Any) -> Any:  # fails once: the round's decode, not the listener's read
        value = decode(raw)
        if value == "undecodable here" and not failed:
            failed.append(raw)
            raise ValueError("bad pickle")
        return value

    monkeypatch.setattr(cache.client, "decode", picky)  # type: ignore[attr-defined]
    hooks.status_changed(_change(event_id=8))
    # The round still went out (its publish included); the listener's own read took over.
    assert listening[-1][0] == "read" and listening[-1][1] == "kept"
    assert listening[-1][2] == "undecodable here" and len(failed) == 1


def test_without_a_round_cached_is_the_cache(listening):
    cache.set("round:b", [1, 2])
    assert hooks.cached("round:b") == [1, 2]
    assert hooks.cached("round:a") is None


@needs_redis
def test_the_real_listeners_read_in_one_round_what_their_own_lookups_read(workspace, monkeypatch):
    Endpoint.objects.create(workspace=workspace, url="https://example.com/h", events=[])
    cache.delete_many([_filters_key(workspace.id), _config_key(workspace.id)])
    slow_filters, slow_budgets = endpoint_filters(workspace.id), budget_configs(workspace.id)
    sent = _rounds(monkeypatch)
    published: list[Any] = []

    def own_client(*args: Any) -> Any:
        published.append(args)
        raise AssertionError("the wake-up took its own round trip")

    monkeypatch.setattr("streams.wakeup._client", own_client)
    change = _change(workspace.id, to_status="completed", event_id=123456)
    hooks.status_changed(change)
    assert len(sent) == 1
    batch = sent[0]
    assert batch.keys == [_config_key(workspace.id), _filters_key(workspace.id)]
    assert batch.values[_filters_key(workspace.id)] == slow_filters == [[]]
    assert [tuple(r) for r in batch.values[_config_key(workspace.id)]] == [
        tuple(vars(r).values()) for r in slow_budgets
    ]
    assert batch.publishes == [(wakeup_channel(), "123456")]
    assert published == []  # the wake-up went in the round, not on its own client


@needs_redis
@pytest.mark.parametrize("round_sent", [True, False])
def test_the_real_listeners_do_the_same_with_or_without_the_round(
    round_sent, workspace, api, monkeypatch, django_capture_on_commit_callbacks
):
    from tests.builders import create_body

    Endpoint.objects.create(workspace=workspace, url="https://example.com/h", events=[])
    sent = _rounds(monkeypatch)
    if not round_sent:
        monkeypatch.setattr(TransitionRound, "send", lambda self: False)
    published: list[str] = []

    class Client:
        def publish(self, channel: str, message: str) -> None:
            published.append(message)

    monkeypatch.setattr("streams.wakeup._client", lambda *a: Client())
    monkeypatch.setattr("webhooks.services.deliveries.delivery_enqueue", lambda **_: None)
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/api/v1/generations", create_body(), format="json")
    assert created.status_code == 201
    types = sorted(Delivery.objects.values_list("event_type", flat=True))
    assert types == ["generation.completed", "generation.pending", "generation.processing"]
    events = [p[1] for r in sent for p in r.publishes] if round_sent else published
    assert len(events) == 3 and len(set(events)) == 3  # each wake-up once
    assert (len(sent), len(published)) == ((3, 0) if round_sent else (0, 3))


def _completed_once(api: Any) -> str:
    from generations.models import Generation
    from tests.builders import create_body

    body = create_body(config={"prompt": f"round telemetry {uuid.uuid4()}"})
    response = api.post("/api/v1/generations", body, format="json")
    assert response.status_code == 201, response.json()
    generation = Generation.objects.get(id=response.json()["id"])
    assert generation.status == "completed"  # the eager worker ran it
    return str(generation.id)


def _cache_on_telemetrys_redis(settings: Any) -> None:
    # Telemetry's Redis is the cache's, as in production (one REDIS_URL): same database.
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": settings.REDIS_URL}}


@needs_redis
@pytest.mark.django_db(transaction=True)  # commits run their callbacks, as in a worker
def test_a_completions_telemetry_goes_in_its_listener_round(
    api, sandbox, settings, telemetry_redis, monkeypatch
):
    from telemetry import keys, store
    from telemetry.recording import ATTEMPT_LUA, TERMINAL_LUA
    from telemetry.store import script_sha

    _cache_on_telemetrys_redis(settings)
    client = store.telemetry_client()
    assert client is not None
    own: list[str] = []
    for name in ("pipeline", "evalsha", "eval"):
        real = getattr(client, name)
        monkeypatch.setattr(
            client, name, lambda *a, _n=name, _r=real, **k: own.append((_n, a[:3])) or _r(*a, **k)
        )
    sent = _rounds(monkeypatch)
    telemetry_redis.script_flush()  # the first time, Redis learns the scripts on the way
    _completed_once(api)
    counters = telemetry_redis.hgetall(keys.counters("provider", "sandbox"))
    assert (counters["total"], counters["completed"], counters["attempts"]) == ("1", "1", "1")
    own.clear()
    generation_id = _completed_once(api)
    events = {script_sha(ATTEMPT_LUA), script_sha(TERMINAL_LUA)}
    # Neither event went on its own (the create's statistics do, in their own round trip).
    assert [call for call in own if call[0] == "pipeline" or call[1][0] in events] == []
    assert any(r.sent for r in sent)
    counters = telemetry_redis.hgetall(keys.counters("provider", "sandbox"))
    assert (counters["total"], counters["completed"], counters["attempts"]) == ("2", "2", "2")
    assert telemetry_redis.zscore(keys.latencies("provider", "sandbox"), generation_id)


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_a_round_that_fails_counts_its_telemetry_as_failed_and_the_work_goes_on(
    api, sandbox, settings, telemetry_redis, monkeypatch
):
    from telemetry.store import FAILURES

    _cache_on_telemetrys_redis(settings)

    def broken(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("down")

    monkeypatch.setattr("core.redis_round.Round.execute", broken)
    before = FAILURES["count"]
    _completed_once(api)  # completed all the same
    assert FAILURES["count"] == before + 2  # the attempt and the terminal event
