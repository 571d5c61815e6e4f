"""The hot paths' shortcuts give the answers of the slow paths they replace: the compiled
reuse lookups and reads, a new body's slot-first lookup, the one-statement transition, the
cached webhook filters, the skipped budget settlement, the shared serializer fields."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from budgets.services import budget_transition_listener
from caching.keys import slot_storage_key
from caching.services import cache_slot_get
from generations import create_input
from generations.hooks import StatusChange
from generations.models import Generation, Status
from generations.services.lifecycle import generation_transition
from generations.services.lookups import reusable_by_hash, reusable_by_hash_or_id, reusable_by_id
from tests.builders import create_body, transition_body
from webhooks.models import Delivery, Endpoint
from webhooks.services.deliveries import endpoint_filters, event_fan_out

pytestmark = pytest.mark.django_db
CREATE = "/api/v1/generations"


def _create(api, **body):
    response = api.post(CREATE, create_body(**body), format="json")
    assert response.status_code == 201, response.json()
    return Generation.objects.get(id=response.json()["id"])


def test_the_compiled_lookups_answer_like_the_queryset(api, workspace, no_dispatch):
    first = _create(api, config={"prompt": "first"})
    digest = first.reproducible_hash

    def orm() -> Generation | None:
        return (
            Generation.objects.reusable()
            .filter(workspace=workspace, reproducible_hash=digest)
            .order_by("-created_at")
            .first()
        )

    found = reusable_by_hash(workspace_id=workspace.id, digest=digest)
    assert found == orm() == first
    assert found.config == first.config and found.workspace_id == workspace.id
    assert reusable_by_hash(workspace_id=workspace.id + 1, digest=digest) is None
    assert reusable_by_id(workspace_id=workspace.id, generation_id=str(first.id)) == first
    assert reusable_by_id(workspace_id=workspace.id + 1, generation_id=str(first.id)) is None
    assert reusable_by_id(workspace_id=workspace.id, generation_id="not-a-uuid") is None
    Generation.objects.filter(id=first.id).update(invalidated_at=timezone.now())
    assert reusable_by_hash(workspace_id=workspace.id, digest=digest) is None is orm()
    assert reusable_by_id(workspace_id=workspace.id, generation_id=str(first.id)) is None
    Generation.objects.filter(id=first.id).update(invalidated_at=None, status=Status.FAILED)
    assert reusable_by_hash(workspace_id=workspace.id, digest=digest) is None is orm()


def test_the_combined_lookup_answers_like_the_two_in_turn(api, workspace, no_dispatch):
    first = _create(api, config={"prompt": "combined one"})
    second = _create(api, config={"prompt": "combined two"})

    def both(digest: str, generation_id: str, workspace_id: int = workspace.id):
        return reusable_by_hash_or_id(
            workspace_id=workspace_id, digest=digest, generation_id=generation_id
        )

    def in_turn(digest: str, generation_id: str, workspace_id: int = workspace.id):
        found = reusable_by_hash(workspace_id=workspace_id, digest=digest)
        return found or reusable_by_id(workspace_id=workspace_id, generation_id=generation_id)

    cases = [
        (first.reproducible_hash, str(second.id)),  # both match: the hash's row
        ("0" * 64, str(second.id)),  # only the slot's row
        (second.reproducible_hash, str(uuid.uuid4())),  # only the hash's
        ("0" * 64, str(uuid.uuid4())),  # neither
        (first.reproducible_hash, "not-a-uuid"),  # a malformed slot: the hash alone
    ]
    for digest, generation_id in cases:
        assert both(digest, generation_id) == in_turn(digest, generation_id)
    assert both(first.reproducible_hash, str(second.id)) == first
    assert both("0" * 64, str(second.id)) == second
    assert both(first.reproducible_hash, str(first.id), workspace.id + 1) is None
    Generation.objects.filter(id=second.id).update(status=Status.FAILED)
    assert both("0" * 64, str(second.id)) is None is in_turn("0" * 64, str(second.id))


def _generation_reads(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "generations_generation" in q["sql"]]


def test_a_new_bodys_cache_hit_takes_one_statement_and_answers_as_before(api, no_dispatch):
    first = api.post(CREATE, transition_body(), format="json")
    assert first.status_code == 201, first.json()
    other = transition_body()
    other["config"]["prompts"] = ["a body this process has not seen"]
    with CaptureQueriesContext(connection) as queries:
        hit = api.post(CREATE, other, format="json")
    assert hit.status_code == 200 and hit.json()["reused"] == "cache"
    assert hit.json()["id"] == first.json()["id"]
    assert len(_generation_reads(queries)) == 1
    # A body new to this process may still be a repeat (another process saw it first).
    create_input.create_input_forget()
    again = api.post(CREATE, transition_body(), format="json")
    assert again.status_code == 200 and again.json()["reused"] == "dedup"
    assert again.json()["id"] == first.json()["id"]
    # The slot names a generation that may no longer answer: a new one takes the slot.
    Generation.objects.filter(id=first.json()["id"]).update(status=Status.FAILED)
    third = transition_body()
    third["config"]["prompts"] = ["after the failure"]
    fresh = api.post(CREATE, third, format="json")
    assert fresh.status_code == 201, fresh.json()
    after = transition_body()
    after["config"]["prompts"] = ["served from the new slot"]
    served = api.post(CREATE, after, format="json")
    assert served.status_code == 200 and served.json()["reused"] == "cache"
    assert served.json()["id"] == fresh.json()["id"]


@pytest.fixture
def redis_requests(monkeypatch):
    """The Redis requests written to the socket (a pipeline is one)."""
    import redis.connection

    sent: list[bytes] = []
    real = redis.connection.AbstractConnection.send_packed_command

    def send_packed_command(conn, command, check_health=True):  # type: ignore[no-untyped-def]
        packed = b"".join(command) if isinstance(command, list | tuple) else bytes(command)
        sent.append(packed)
        return real(conn, command, check_health)

    monkeypatch.setattr(
        redis.connection.AbstractConnection, "send_packed_command", send_packed_command
    )
    return sent


def test_a_new_bodys_miss_looks_only_under_the_lock_and_still_finds_a_repeat(
    api, workspace, no_dispatch, redis_requests, settings
):
    with CaptureQueriesContext(connection) as queries:
        created = api.post(CREATE, transition_body(), format="json")
    assert created.status_code == 201, created.json()
    reads = _generation_reads(queries)
    # The locked look (the lock rides in its round trip on PostgreSQL), then the insert.
    assert len(reads) == 2, reads
    if settings.REDIS_URL:
        # The slot read outside the lock, then its read and claim under it: one script,
        # with the budget guard's read of the workspace's budgets in the same round trip.
        slot_requests = [r for r in redis_requests if b":slot:" in r]
        assert [r.split(b"\r\n")[2] for r in slot_requests] == [b"GET", b"EVAL"]
        budgets = f":budgets:ws:{workspace.id}".encode()
        assert budgets in slot_requests[1]
    # The slot is gone (expired, say) but the identical generation is not: a body new to
    # this process still answers with it, found by the look under the lock.
    key = Generation.objects.get(id=created.json()["id"]).cache_key
    cache.delete(slot_storage_key(workspace.id, key))
    assert cache_slot_get(workspace_id=workspace.id, key=key) is None
    create_input.create_input_forget()
    again = api.post(CREATE, transition_body(), format="json")
    assert again.status_code == 200 and again.json()["reused"] == "dedup"
    assert again.json()["id"] == created.json()["id"]
    assert Generation.objects.count() == 1
    if settings.REDIS_URL:
        # With the workspace's budgets cached (the first create filled the cache), that
        # is the only request that names them.
        redis_requests.clear()
        body = transition_body(player_context={"playthrough_id": "b"})
        other = api.post(CREATE, body, format="json")
        assert other.status_code == 201, other.json()
        eval_request = [r for r in redis_requests if b":slot:" in r and b"EVAL" in r]
        assert [r for r in redis_requests if budgets in r] == eval_request


@pytest.mark.postgres  # the one-statement path is PostgreSQL's
def test_a_transition_is_one_statement_with_the_same_outcome(api, no_dispatch):
    generation = _create(api)
    started = timezone.now()
    with CaptureQueriesContext(connection) as queries:
        claimed = generation_transition(
            generation_id=generation.id,
            to_status=Status.PROCESSING,
            from_statuses=frozenset({Status.PENDING}),
            actor="worker",
            reason="claimed",
            now=started,
            fields={"attempt_count": 1, "claimed_by": "w1"},
        )
    assert len(queries.captured_queries) == 1
    assert (claimed.from_status, claimed.to_status) == (Status.PENDING, Status.PROCESSING)
    done = started + timedelta(milliseconds=1234)
    generation_transition(
        generation_id=generation.id,
        to_status=Status.COMPLETED,
        now=done,
        fields={"result": {"text": "ok"}},
    )
    generation.refresh_from_db()
    assert generation.status == Status.COMPLETED
    assert (generation.started_at, generation.completed_at) == (started, done)
    assert generation.latency_ms == 1234
    assert generation.claimed_by == "w1" and generation.result == {"text": "ok"}
    events = list(generation.events.order_by("id").values_list("from_status", "to_status"))
    assert events == [("", "pending"), ("pending", "processing"), ("processing", "completed")]


def test_the_webhook_filters_are_forgotten_when_an_endpoint_changes(
    api, workspace, no_dispatch, settings
):
    settings.GENPIPE_WEBHOOK_ALLOW_PRIVATE = True
    generation = _create(api)
    assert endpoint_filters(workspace.id) == []  # cached empty
    registered = api.post(
        "/api/v1/webhooks",
        {"url": "http://127.0.0.1:9/hook", "events": ["generation.completed"]},
        format="json",
    )
    assert registered.status_code == 201, registered.json()
    assert endpoint_filters(workspace.id) == [["generation.completed"]]
    event = generation.events.get()
    change = StatusChange(
        event_id=event.id,
        generation_id=generation.id,
        workspace_id=workspace.id,
        provider_id=generation.provider_id,
        operation_type=generation.operation_type,
        from_status="processing",
        to_status="completed",
        reason="test",
        at=timezone.now(),
    )
    event_fan_out(change)
    assert Delivery.objects.filter(event=event).count() == 1
    Endpoint.objects.get().delete()
    assert endpoint_filters(workspace.id) == []


def test_without_budgets_the_settlement_reads_no_ledger(api, workspace, no_dispatch):
    generation = _create(api)
    change = StatusChange(
        event_id=1,
        generation_id=generation.id,
        workspace_id=workspace.id,
        provider_id=generation.provider_id,
        operation_type=generation.operation_type,
        from_status="processing",
        to_status="completed",
        reason="test",
        at=timezone.now(),
    )
    budget_transition_listener(change)  # fills the cached (empty) budget list
    with CaptureQueriesContext(connection) as queries:
        budget_transition_listener(change)
    assert [q["sql"] for q in queries.captured_queries if "budgets_" in q["sql"]] == []


def test_shared_serializer_fields_keep_requests_apart(api, no_dispatch):
    bad = create_body(config={"prompt": 12, "strategy": "sometimes"}, priority=99)
    first = api.post(CREATE, bad, format="json")
    assert first.status_code == 400
    fields = first.json()["error"]["fields"]
    assert ("priority" in fields and "config.strategy" in str(fields)) or "config" in fields
    good = api.post(CREATE, create_body(config={"prompt": "fine"}), format="json")
    assert good.status_code == 201, good.json()
    again = api.post(CREATE, bad, format="json")
    assert again.json() == first.json()


def test_the_worker_loads_its_generation_provider_and_breaker_in_one_query(api, no_dispatch):
    from generations.models import ProviderBreaker
    from generations.services.lookups import generation_for_worker

    generation = _create(api)
    assert generation_for_worker(generation_id="not-a-uuid") is None
    without_row = generation_for_worker(generation_id=str(generation.id))
    assert without_row == generation and without_row.config == generation.config
    ProviderBreaker.objects.create(provider_id=generation.provider_id, window_calls=7)
    with CaptureQueriesContext(connection) as queries:
        loaded = generation_for_worker(generation_id=str(generation.id))
        assert loaded.provider.id == generation.provider_id
        assert loaded.provider.breaker.window_calls == 7
    assert len(queries.captured_queries) == 1
    with pytest.raises(ProviderBreaker.DoesNotExist):
        without_row.provider.breaker  # noqa: B018  (cached as missing: no query)


def test_the_detail_reads_a_members_generation_with_the_compiled_lookup(
    api, other_api, user, django_user_model, no_dispatch
):
    from generations.errors import GenerationNotFound
    from generations.models import Generation
    from generations.rendering import generation_json
    from generations.selectors import generation_get

    generation = _create(api)
    found = generation_get(user=user, generation_id=generation.id)
    assert found == Generation.objects.filter(id=generation.id).visible_to(user.pk).first()
    assert generation_json(found) == generation_json(generation)
    stranger = django_user_model.objects.create_user(username="stranger", password="x")
    with pytest.raises(GenerationNotFound):
        generation_get(user=stranger, generation_id=generation.id)
    with pytest.raises(GenerationNotFound):
        generation_get(user=user, generation_id="not-a-uuid")
    with CaptureQueriesContext(connection) as queries:
        response = api.get(f"{CREATE}/{generation.id}")
    assert response.status_code == 200 and response.json()["id"] == str(generation.id)
    # the compiled statement, not a queryset's .first() (which orders by the key)
    assert [q["sql"] for q in queries.captured_queries if "ORDER BY" in q["sql"]] == []
    assert other_api.get(f"{CREATE}/{generation.id}").status_code == 404


@pytest.mark.postgres  # the one-statement transitions are PostgreSQL's
def test_the_worker_completes_in_three_statements_with_the_rows_of_the_orm_path(
    api, no_dispatch, monkeypatch
):
    from generations.models import ProviderAttempt, ProviderBreaker
    from generations.services import transition_sql
    from generations.services.processing import generation_process

    def run(prompt: str) -> tuple[list[str], dict[str, object]]:
        generation = _create(api, config={"prompt": prompt})
        with CaptureQueriesContext(connection) as queries:
            outcome = generation_process(generation_id=str(generation.id), delivery="t:0")
        assert outcome.status == "completed"
        generation.refresh_from_db()
        attempt = ProviderAttempt.objects.get(generation=generation)
        assert attempt.finished_at is not None and attempt.latency_ms is not None
        assert generation.latency_ms is not None and generation.claimed_by.startswith("t:0@")
        rows = {
            "generation": (generation.status, generation.attempt_count, generation.tokens_out),
            "cost": (generation.cost_usd, attempt.cost_usd),
            "attempt": (attempt.outcome, attempt.attempt_number, attempt.operation_type),
            "summary": attempt.request_summary,
            "usage": (attempt.tokens_in, attempt.tokens_out, attempt.provider_job_id),
            "events": list(
                generation.events.order_by("id").values_list("from_status", "to_status")
            ),
            "window_calls": ProviderBreaker.objects.get().window_calls,
        }
        return [q["sql"].split()[0] for q in queries.captured_queries], rows

    provider_id = _create(api, config={"prompt": "provider"}).provider_id
    ProviderBreaker.objects.create(provider_id=provider_id, window_started_at=timezone.now())
    statements, fast = run("fast path prompt")
    # the load (with the provider and breaker), claim + attempt, completion + attempt + window
    assert statements == ["SELECT", "WITH", "WITH"]
    monkeypatch.setattr(transition_sql, "supported", lambda updates: False)
    statements, orm = run("orm path prompt!")
    assert len(statements) > 3
    assert fast.pop("window_calls") == 1 and orm.pop("window_calls") == 2
    assert fast["summary"] == {"prompt_chars": len("fast path prompt"), "timeout_s": None}
    assert fast == orm


def test_a_compiled_read_builds_the_instance_from_db_builds(
    api, workspace, no_dispatch, monkeypatch
):
    from django.db.models.signals import post_init

    from generations.compiled import model_from_db, plain_attributes
    from generations.services import lookups

    first = _create(api, config={"prompt": "plain attributes"})
    compiled = lookups._compile(
        "by_hash",
        "default",
        lookups._by_hash_queryset,
        {lookups._WORKSPACE: "workspace", lookups._HASH: "digest"},
    )
    assert compiled.plain_attributes  # Generation: the fast build is the one taken
    found = reusable_by_hash(workspace_id=workspace.id, digest=first.reproducible_hash)
    expected = Generation.objects.get(id=first.id)  # built by the ORM (Model.__init__)
    assert {k: v for k, v in vars(found).items() if k != "_state"} == {
        k: v for k, v in vars(expected).items() if k != "_state"
    }
    assert (found._state.adding, found._state.db) == (False, "default")
    found.name = "saved as a loaded row"
    found.save(update_fields=["name"])  # an UPDATE, not an INSERT
    assert Generation.objects.get(id=first.id).name == "saved as a loaded row"

    seen: list[object] = []

    def listener(sender, instance, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(instance)

    post_init.connect(listener, sender=Generation)
    try:
        again = model_from_db(
            Generation,
            "default",
            compiled.field_names,
            [getattr(found, name) for name in compiled.field_names],
        )
    finally:
        post_init.disconnect(listener, sender=Generation)
    assert seen == [again]  # with a listener, the signals are sent (through from_db)

    original_init = Generation.__init__

    def wrapped_init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(Generation, "__init__", wrapped_init)
    assert not plain_attributes(Generation, compiled.field_names)  # its own __init__ runs
    monkeypatch.undo()
    assert not plain_attributes(Generation, compiled.field_names[::-1])


@pytest.mark.parametrize(
    ("result", "written_by_orjson"),
    [
        ({"text": "scene-1 fade-in 0.00001 e-5", "n": 2**63 - 1, "f": [0.5, 1e16, -0.0]}, True),
        ({"f": 0.00001}, False),  # json.dumps writes 1e-05, orjson 0.00001
        ({"f": [1, -1.5e-7]}, False),  # 1.5e-07 against 1.5e-7
        ({"n": 2**70}, False),  # orjson refuses it
        ({"s": "\u2028 and \u2029"}, True),  # escaped as DRF escapes them
    ],
)
def test_a_generation_is_written_as_drf_writes_it(
    api, workspace, no_dispatch, result, written_by_orjson
):
    from rest_framework.renderers import JSONRenderer as DrfJSONRenderer

    from core.renderers import PlainJSON
    from generations.rendering import generation_document, generation_json

    generation = _create(api, config={"prompt": f"written {result!r}"})
    Generation.objects.filter(id=generation.id).update(result=result)
    generation.refresh_from_db()
    expected = DrfJSONRenderer().render(generation_json(generation))
    document = generation_document(generation)
    on_postgresql = connection.vendor == "postgresql"
    assert (type(document) is PlainJSON) is (written_by_orjson and on_postgresql)
    response = api.get(f"{CREATE}/{generation.id}")
    assert response.status_code == 200
    assert response.content == expected
    repeat = api.post(CREATE, create_body(config={"prompt": f"written {result!r}"}), format="json")
    assert repeat.status_code == 200
    assert repeat.content == DrfJSONRenderer().render(generation_json(generation, reused="dedup"))
