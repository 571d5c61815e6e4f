"""``core.redis_round.Round`` answers what redis-py's pipeline answers, in one round trip,
and never reuses a connection whose replies were left unread."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings

from core.redis_round import Round

pytestmark = pytest.mark.redis

SCRIPT = "return {KEYS[1], ARGV[1], ARGV[2], ARGV[3]}"


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    if not settings.REDIS_URL:
        pytest.fail("needs REDIS_URL")
    connection = redis.Redis.from_url(settings.REDIS_URL)
    prefix = f"round-test:{uuid.uuid4().hex}"
    connection.set(f"{prefix}:a", b"1")
    connection.set(f"{prefix}:text", "caf\u00e9")
    connection.lpush(f"{prefix}:list", b"x")
    connection.prefix = prefix  # type: ignore[attr-defined]
    yield connection
    connection.delete(f"{prefix}:a", f"{prefix}:text", f"{prefix}:list")
    connection.close()


def _queue(target: Any, prefix: str, sha: str) -> None:
    target.mget([f"{prefix}:a", f"{prefix}:missing", f"{prefix}:text"])
    target.publish(f"{prefix}:channel", "m\u00e9ssage")
    target.evalsha(sha, 1, f"{prefix}:key", 7, 1.5e-7, "\u00e9t\u00e9")
    target.evalsha("0" * 40, 0)  # a script Redis does not know: NOSCRIPT, then the rest
    target.mget([f"{prefix}:list"])  # a wrong-type key gives nil in MGET, never an error


def test_the_replies_are_the_pipelines_in_the_same_order(client):
    sha = client.script_load(SCRIPT)
    pipe = client.pipeline(transaction=False)
    _queue(pipe, client.prefix, sha)
    expected = pipe.execute(raise_on_error=False)
    lean = Round(client)
    _queue(lean, client.prefix, sha)
    assert len(lean) == 5
    got = lean.execute()
    assert [type(r) for r in got] == [type(r) for r in expected]
    assert isinstance(got[3], redis.exceptions.NoScriptError)
    assert [r for r in got if not isinstance(r, Exception)] == [
        r for r in expected if not isinstance(r, Exception)
    ]
    # Arguments as redis-py encodes them: UTF-8 text, ints and floats by their repr.
    assert got[2] == [f"{client.prefix}:key".encode(), b"7", b"1.5e-07", "\u00e9t\u00e9".encode()]
    assert got[0] == [b"1", None, "caf\u00e9".encode()]
    assert len(lean) == 0 and lean.execute() == []


def test_an_error_reply_takes_its_place_and_the_rest_follow(client):
    lean = Round(client)
    lean.command("GET", f"{client.prefix}:a")
    lean.command("LPOP", f"{client.prefix}:a")  # WRONGTYPE on a string
    lean.command("GET", f"{client.prefix}:a")
    first, error, last = lean.execute()
    assert first == last == b"1"
    assert isinstance(error, redis.exceptions.ResponseError) and "WRONGTYPE" in str(error)
    assert client.get(f"{client.prefix}:a") == b"1"  # the connection is still in step


def test_byte_like_values_are_written_as_their_bytes(client):
    key = f"{client.prefix}:bytes-like"
    lean = Round(client)
    lean.command("SET", key, bytearray(b"ab\x00c"))
    lean.command("APPEND", key, memoryview(b"de"))
    lean.command("GET", key)
    assert lean.execute() == [b"OK", 6, b"ab\x00cde"]  # raw replies, as a pipeline reads them
    client.delete(key)


@pytest.mark.parametrize("value", [True, None, 1 + 2j, object()])
def test_values_redis_py_refuses_are_refused(client, value):
    with pytest.raises(redis.DataError):
        Round(client).command("SET", f"{client.prefix}:refused", value)
    with pytest.raises(redis.DataError):
        client.set(f"{client.prefix}:refused", value)


def test_a_connection_that_fails_mid_reply_is_dropped_not_reused(client, monkeypatch):
    lean = Round(client)
    lean.command("GET", f"{client.prefix}:a")
    lean.command("GET", f"{client.prefix}:text")
    calls = {"n": 0}
    original = redis.Connection.read_response

    def failing(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise redis.ConnectionError("lost")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Connection, "read_response", failing)
    with pytest.raises(redis.ConnectionError):
        lean.execute()
    monkeypatch.undo()
    # Two replies were left unread on that socket: a reused connection would answer the
    # next command with them.
    again = Round(client)
    again.command("GET", f"{client.prefix}:text")
    assert again.execute() == ["caf\u00e9".encode()]
    assert client.get(f"{client.prefix}:a") == b"1"


def test_an_unreachable_server_raises(client):
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    lean = Round(dead)
    lean.command("PING")
    with pytest.raises(redis.ConnectionError):
        lean.execute()
