"""Several Redis commands in one round trip, without redis-py's ``Pipeline`` machinery.

A non-transactional ``Pipeline`` costs about 80 µs of CPU for four small commands, of
which the round trip itself is about 45: the rest is the pipeline's bookkeeping (its
command stack, response callbacks, retry wrapper, the per-argument checks of redis-py's
packer). The worker sends two such rounds per generation (its transitions' listener
rounds, ``generations.hooks``), a create one. ``Round`` queues the commands, writes them
with hiredis' packer on one connection of the client's pool and reads the replies in
order, the way ``Pipeline.execute(raise_on_error=False)`` answers: a command's error reply
(``NoScriptError``, ``ResponseError``) takes its place in the list; a connection that
fails is dropped and the error raised, without retrying (callers fall back on their own
round trips, or count the loss).

Arguments are encoded as the client's own ``Encoder`` encodes them (its encoding;
``DataError`` for what redis-py refuses), the exact ``str``, ``bytes``, ``int`` and
``float`` without its chain of checks.
"""

from __future__ import annotations

from typing import Any

import hiredis
import redis
from redis.exceptions import ResponseError


class Round:
    """Commands for one round trip on ``client`` (a ``redis.Redis``): queue them with the
    command methods, then ``execute()``."""

    __slots__ = ("_client", "_encoder", "_packed")

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._encoder = client.connection_pool.get_encoder()
        self._packed: list[bytes] = []

    def __len__(self) -> int:
        return len(self._packed)

    def command(self, *args: Any) -> Round:
        """Queue one command (its name first)."""
        encoder = self._encoder
        encoding, errors = encoder.encoding, encoder.encoding_errors
        encoded = []
        for arg in args:  # the usual exact types first, as ``Encoder.encode`` writes them
            kind = type(arg)
            if kind is str:
                encoded.append(arg.encode(encoding, errors))
            elif kind is bytes:
                encoded.append(arg)
            elif kind is int or kind is float:
                encoded.append(repr(arg).encode())
            else:  # hiredis takes no bytearray: the encoder hands those back as they are
                value = encoder.encode(arg)
                encoded.append(bytes(value) if isinstance(value, bytearray) else value)
        # hiredis' stub types the argument as a tuple of one element
        self._packed.append(hiredis.pack_command(tuple(encoded)))  # type: ignore[arg-type]
        return self

    def mget(self, keys: list[Any]) -> Round:
        return self.command("MGET", *keys)

    def publish(self, channel: Any, message: Any) -> Round:
        return self.command("PUBLISH", channel, message)

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> Round:
        return self.command("EVALSHA", sha, numkeys, *keys_and_args)

    def execute(self) -> list[Any]:
        """Send the queued commands and return their replies in order, an error reply as
        its exception; raises when the connection fails (it is then dropped)."""
        if not self._packed:
            return []
        pool = self._client.connection_pool
        connection = pool.get_connection()
        try:
            connection.send_packed_command([b"".join(self._packed)])
            replies: list[Any] = []
            for _ in self._packed:
                try:
                    replies.append(connection.read_response())
                except ResponseError as error:  # the command's own error: the rest follow
                    replies.append(error)
        except BaseException:
            connection.disconnect()  # replies may be left unread: never reuse it
            raise
        finally:
            pool.release(connection)
        self._packed.clear()
        return replies
