"""flush_generation_cache: exactly the matching slots go, nothing else ever does."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command

from caching.flush import FlushError
from caching.inventory import slot_keys, slot_parse
from caching.keys import cache_key, slot_storage_key
from caching.services import cache_slot_get, cache_slot_set
from caching.stats import cache_stats, cache_stats_write
from generations.models import Workspace
from generations.services.invalidation import generation_slots_flush
from telemetry.buckets import bucket_add
from telemetry.recording import telemetry_record_attempt
from tests.embedded import embedded_site


def _key(op: str, purpose: str, frm: str | None, to: str | None, strategy: str, **kw: Any) -> str:
    key = cache_key(
        operation_type=op,
        purpose=purpose,
        from_scene_id=frm,
        to_scene_id=to,
        strategy=strategy,
        version=1,
        **kw,
    )
    assert key is not None
    return key


@pytest.fixture
def slots(backend: str) -> dict[str, tuple[int, str]]:
    return _seed()


def _seed() -> dict[str, tuple[int, str]]:
    """Five slots in two workspaces: label → (workspace id, cache key)."""
    a = Workspace.objects.create(slug="alpha", name="Alpha")
    b = Workspace.objects.create(slug="beta", name="Beta")
    transition = _key(
        "video_transition", "gap_fill", "scene-1", "scene-2", "per_playthrough", playthrough_id="p1"
    )
    made = {
        "a_once": (a.id, _key("text_to_image", "adaptive", None, None, "once", content_hash="ab")),
        "a_pt": (a.id, transition),
        "a_player": (
            a.id,
            _key("dialogue", "adaptive", "scene-2", "scene-3", "per_player", player_id="u1"),
        ),
        "b_pt": (b.id, transition),
        "b_pipe": (b.id, _key("fusion", "variation", "x|y", None, "once")),
    }
    for workspace_id, key in made.values():
        strategy = slot_parse(slot_storage_key(workspace_id, key)).strategy  # type: ignore[union-attr]
        cache_slot_set(
            workspace_id=workspace_id, key=key, strategy=strategy, generation_id=str(uuid.uuid4())
        )
    # Neighbours that are not slots: a throttle counter and an idempotency-style marker.
    cache.set("throttle:user:1:123", 7, 60)
    cache.set("idempotency:alpha:k1", "x", 60)
    return made


def _left(slots: dict[str, tuple[int, str]]) -> set[str]:
    return {
        label
        for label, (workspace_id, key) in slots.items()
        if cache_slot_get(workspace_id=workspace_id, key=key)
    }


def _flush(*args: str) -> str:
    out = io.StringIO()
    call_command("flush_generation_cache", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_flush_all_deletes_every_slot_and_nothing_else(slots):
    output = _flush("--all")
    assert _left(slots) == set()
    assert "Deleted 5 generation cache slots; selection: all." in output
    assert "  once: 2" in output
    assert "  per_playthrough: 2" in output
    assert "  per_player: 1" in output
    assert cache.get("throttle:user:1:123") == 7
    assert cache.get("idempotency:alpha:k1") == "x"
    assert "Deleted 0 generation cache slots" in _flush("--all")  # idempotent


@pytest.mark.parametrize(
    ("args", "gone"),
    [
        (["--strategy", "per_playthrough"], {"a_pt", "b_pt"}),
        (["--strategy", "once"], {"a_once", "b_pipe"}),
        (["--workspace", "alpha"], {"a_once", "a_pt", "a_player"}),
        (["--scene", "scene-2"], {"a_pt", "a_player", "b_pt"}),
        (["--scene", "x|y"], {"b_pipe"}),
        (["--scene", "scene-9"], set()),
        (["--strategy", "per_playthrough", "--workspace", "beta"], {"b_pt"}),
        (["--scene", "scene-2", "--strategy", "per_player"], {"a_player"}),
    ],
)
def test_filters_delete_exactly_the_matching_slots(slots, args, gone):
    _flush(*args)
    assert _left(slots) == set(slots) - gone


def test_workspace_by_numeric_id(slots):
    workspace_id = slots["b_pt"][0]
    output = _flush("--workspace", str(workspace_id))
    assert _left(slots) == {"a_once", "a_pt", "a_player"}
    assert f"selection: workspace=beta (#{workspace_id})" in output


def test_key_applies_to_every_workspace_unless_one_is_named(slots):
    key = slots["a_pt"][1]
    _flush("--key", key, "--workspace", "beta")
    assert _left(slots) == set(slots) - {"b_pt"}
    _flush("--key", key)
    assert _left(slots) == set(slots) - {"b_pt", "a_pt"}


def test_dry_run_deletes_nothing_and_lists_what_would_go(slots):
    output = io.StringIO()
    args = ["--strategy", "per_playthrough", "--dry-run", "--verbosity", "2"]
    call_command("flush_generation_cache", *args, stdout=output)
    text = output.getvalue()
    assert _left(slots) == set(slots)
    assert "Would delete 2 generation cache slots (dry run: nothing was deleted)" in text
    assert f"  workspace {slots['a_pt'][0]}  {slots['a_pt'][1]}" in text
    assert f"  workspace {slots['b_pt'][0]}  {slots['b_pt'][1]}" in text
    assert "Scanned 5 slots." in text


def test_service_reports_counts_and_samples(slots):
    result = generation_slots_flush(scene="scene-2", dry_run=True, sample_size=1)
    assert (result.matched, result.deleted, len(result.sample)) == (3, 0, 1)
    assert dict(result.by_strategy) == {"per_playthrough": 2, "per_player": 1}
    result = generation_slots_flush(scene="scene-2")
    assert (result.matched, result.deleted) == (3, 3)


def test_stats_count_the_slots_the_flush_sees(slots):
    keys, truncated = slot_keys()
    assert (len(keys), truncated) == (5, False)
    assert cache_stats()["entries"]["by_strategy"] == {
        "once": 2,
        "per_playthrough": 2,
        "per_player": 1,
    }
    assert slot_keys(limit=2) == (keys[:2], True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Nothing selected"),
        (["--all", "--strategy", "once"], "cannot be combined"),
        (["--strategy", "always"], "unknown strategy 'always'"),
        (["--workspace", "nowhere"], "No workspace 'nowhere'"),
        (["--workspace", "999999"], "No workspace '999999'"),
        (["--key", "slot:1:generation:x"], "is not a generation cache key"),
    ],
)
def test_bad_arguments_are_command_errors_and_delete_nothing(slots, args, message):
    with pytest.raises(CommandError, match=message):
        _flush(*args)
    assert _left(slots) == set(slots)


def test_service_rejects_an_unknown_strategy(db):
    with pytest.raises(FlushError):
        generation_slots_flush(strategy="sometimes")


@pytest.mark.redis
def test_redis_flush_leaves_telemetry_stats_and_other_prefixes_alone(db, settings):
    """Telemetry and cache statistics share the cache's Redis database in production."""
    from telemetry.store import _client, telemetry_client

    settings.REDIS_URL = settings.CACHES["default"]["LOCATION"]  # as in production
    _client.cache_clear()

    slots = _seed()
    raw = cache.client.get_client(write=True)  # type: ignore[attr-defined]
    telemetry = telemetry_client()
    assert telemetry is not None
    same_db = telemetry.connection_pool.connection_kwargs.get("db")
    assert same_db == raw.connection_pool.connection_kwargs.get("db")
    provider = f"flushtest-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    telemetry_record_attempt(
        provider_id=provider,
        operation_type="dialogue",
        succeeded=False,
        error_code="boom",
        error_message="x",
        at=now,
    )
    bucket_add(*cache_stats_write(outcome="miss", now=now))
    other_site = f"other-site-{provider}:1:slot:1:generation:a|b|none|none|once|v1"
    raw.set(other_site, "g")
    try:
        telemetry_keys = set(telemetry.scan_iter(match=f"generation:*{provider}*"))
        stats_keys = set(telemetry.scan_iter(match=f"generation:stats:cache:m:{now:%Y%m%d%H%M}"))
        assert telemetry_keys and stats_keys
        assert "Deleted 5 generation cache slots" in _flush("--all")
        assert set(telemetry.scan_iter(match=f"generation:*{provider}*")) == telemetry_keys
        assert all(telemetry.exists(key) for key in stats_keys)
        assert raw.get(other_site) == b"g"
        assert _left(slots) == set()
    finally:
        for key in [*telemetry.scan_iter(match=f"generation:*{provider}*"), other_site]:
            telemetry.delete(key)


def test_flush_as_a_subprocess_on_the_embedded_default(tmp_path):
    site = embedded_site(tmp_path)
    site.shell(
        "from caching.services import cache_slot_set\n"
        "from generations.models import Workspace\n"
        "ws = Workspace.objects.create(slug='ops', name='Ops')\n"
        "for i in range(3):\n"
        "    cache_slot_set(workspace_id=ws.id, strategy='once', generation_id=str(i),\n"
        "        key=f'generation:text_to_image|adaptive|s{i}|none|once|v1')\n"
        "cache_slot_set(workspace_id=ws.id, strategy='per_player', generation_id='p',\n"
        "    key='generation:dialogue|adaptive|s0|s1|per_player|player:u|v1')\n"
    )
    dry = site.manage("flush_generation_cache", "--strategy", "once", "--dry-run", "-v", "2")
    assert dry.returncode == 0, dry.stderr
    assert "Would delete 3 generation cache slots" in dry.stdout
    assert "generation:text_to_image|adaptive|s2|none|once|v1" in dry.stdout
    real = site.manage("flush_generation_cache", "--workspace", "ops", "--scene", "s0")
    assert real.returncode == 0, real.stderr
    assert "Deleted 2 generation cache slots" in real.stdout
    left = site.manage("flush_generation_cache", "--all", "--dry-run")
    assert "Would delete 2 generation cache slots" in left.stdout
    bad = site.manage("flush_generation_cache")
    assert bad.returncode == 1
    assert "Nothing selected" in bad.stderr
