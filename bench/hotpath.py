"""In-process profile of one hot path: SQL statements, Redis round trips and CPU per call.

    .venv/bin/python bench/hotpath.py --scenario create_cold -n 300 [--cprofile 25] [--sql]

Sets Django up on the bench settings against the given database and Redis (migrating and
preparing them like ``run.py``), then drives the product's WSGI application in this
process with Django's test client (the full middleware and DRF stack, no socket) or, for
``worker``, runs ``process_generation`` as a Celery task in this process (``detail`` is the
GET of one completed generation, what a polling client asks for). Per call it
reports the mean CPU time, the SQL statements and the Redis round trips (every request
written to a Redis connection, broker included), and optionally a cProfile listing and
the statements of one call. Nothing here is timed in a test: it is a tool for finding
where the time goes.

``--instructions`` runs the same under valgrind's callgrind and reports the instructions
per measured call: the loop alone (``os.getppid()`` marks its ends, and callgrind writes
its counts at each mark), so the set-up, the warm-up and the exit count for nothing. Unlike
CPU time on a shared VM, the figure barely moves from run to run: compare two checkouts
with it.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import run as harness  # noqa: E402  (needs ROOT on sys.path)
from bench.load import cache_hit_params, slot_hit_body  # noqa: E402

SCENARIOS = ("noop", "create_cold", "cache_hit", "slot_hit", "worker", "detail", "list")


class Counters:
    """SQL statements (a connection execute wrapper), the connection health checks run
    (``SELECT 1`` outside Django's wrappers) and Redis requests written."""

    def __init__(self) -> None:
        self.sql: list[str] = []
        self.redis: list[str] = []
        self.health_checks = 0
        self.record = False

    def sql_wrapper(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if self.record:
            self.sql.append(sql)
        return execute(sql, params, many, context)

    def install(self) -> None:
        import redis.connection

        original = redis.connection.AbstractConnection.send_packed_command
        counters = self

        def send_packed_command(conn, command, check_health=True):  # type: ignore[no-untyped-def]
            if counters.record:
                first = command[0] if isinstance(command, list | tuple) else command
                counters.redis.append(bytes(first)[:80].decode(errors="replace"))
            return original(conn, command, check_health)

        redis.connection.AbstractConnection.send_packed_command = send_packed_command  # type: ignore[method-assign]

        from django.db import connections

        wrapper = type(connections["default"])
        is_usable = wrapper.is_usable

        def counted_is_usable(conn):  # type: ignore[no-untyped-def]
            if counters.record:
                counters.health_checks += 1
            return is_usable(conn)

        wrapper.is_usable = counted_is_usable  # type: ignore[method-assign]

    def reset(self) -> None:
        self.sql.clear()
        self.redis.clear()
        self.health_checks = 0


def _client(token: str) -> Any:
    from django.db import close_old_connections
    from django.test import Client

    class ServerClient(Client):
        """Django's test client, with what a server does around every request: Django's
        ``close_old_connections`` on ``request_started`` and ``request_finished``, which the
        test client disconnects. Without it a profile misses the connection's health check
        (``CONN_HEALTH_CHECKS``) that a request's first statement pays under gunicorn."""

        def request(self, **request: Any) -> Any:
            close_old_connections()
            try:
                return super().request(**request)
            finally:
                close_old_connections()

    return ServerClient(HTTP_AUTHORIZATION=f"Token {token}", raise_request_exception=True)


def _post(client: Any, body: dict[str, Any], expect: tuple[int, ...]) -> dict[str, Any]:
    response = client.post("/api/v1/generations", json.dumps(body), content_type="application/json")
    if response.status_code not in expect:
        raise RuntimeError(f"{response.status_code}: {response.content[:400]!r}")
    return dict(response.json())


def _cold() -> dict[str, Any]:
    from tests.builders import create_body

    return create_body(config={"prompt": f"profile cold {uuid.uuid4().hex}", "strategy": "once"})


def make_call(scenario: str, token: str, list_token: str | None) -> Callable[[], Any]:
    """A zero-argument callable running one unit of ``scenario``."""
    client = _client(token)
    if scenario == "noop":

        def noop() -> Any:
            response = client.get("/bench/noop")
            assert response.status_code == 200, response.content

        return noop
    if scenario == "create_cold":
        return lambda: _post(client, _cold(), (201,))
    if scenario == "cache_hit":
        body = cache_hit_params()["body"]
        _post(client, body, (200, 201))
        return lambda: _post(client, body, (200,))
    if scenario == "slot_hit":
        _post(client, slot_hit_body(), (200, 201))

        def slot_hit() -> Any:
            doc = _post(client, slot_hit_body(), (200,))
            assert doc["reused"] == "cache", doc

        return slot_hit
    if scenario == "list":
        lister = _client(list_token or token)

        def page() -> Any:
            response = lister.get("/api/v1/generations?limit=50")
            assert response.status_code == 200, response.content

        return page
    if scenario == "detail":
        # What a polling client calls: the GET of one generation, a completed one.
        created = _post(client, _cold(), (201,))["id"]
        from generations.tasks import process_generation as task

        task.apply(args=[created]).get()
        url = f"/api/v1/generations/{created}"

        def detail() -> Any:
            response = client.get(url)
            assert response.status_code == 200, response.content

        return detail
    if scenario == "worker":
        from generations.tasks import process_generation

        pending: list[str] = []

        def prepare(n: int) -> None:
            for _ in range(n):
                pending.append(_post(client, _cold(), (201,))["id"])

        def work() -> Any:
            outcome = process_generation.apply(args=[pending.pop()]).get()
            assert outcome == "completed", outcome

        work.prepare = prepare  # type: ignore[attr-defined]
        return work
    raise ValueError(scenario)


def _check_own_code() -> None:
    """Stop when the product's modules were imported from another checkout than this
    script's (an editable install of one checkout, the script run from another, say): an
    A/B comparison of two worktrees would otherwise measure one of them twice."""
    import core
    import generations

    for module in (core, generations):
        origin = Path(str(module.__file__)).resolve()
        if not origin.is_relative_to(ROOT):
            raise SystemExit(
                f"{module.__name__} was imported from {origin.parent}, not from {ROOT}: "
                "run this script from outside the other checkout"
            )


MARK = os.getppid  # callgrind writes its counts when this is called (``--dump-before``)


def dump_instructions(path: Path) -> int:
    """The instruction count (``Ir``) of one callgrind dump file."""
    for line in path.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise ValueError(f"no instruction total in {path}")


def loop_instructions(folder: Path) -> int:
    """The instructions between the two marks, from the dumps of one callgrind run:
    ``<name>.1`` ends at the first mark, the last numbered one at the second (more than
    two numbered dumps: something in the loop called the mark too; they add up)."""
    numbered = sorted(
        (int(p.name.rsplit(".", 1)[1]), p)
        for p in folder.iterdir()
        if p.name.rsplit(".", 1)[-1].isdigit()
    )
    if len(numbered) < 2 or [n for n, _ in numbered] != list(range(1, len(numbered) + 1)):
        raise ValueError(f"expected the dumps of two marks in {folder}: {numbered}")
    return sum(dump_instructions(p) for _, p in numbered[1:])


def _under_callgrind(argv: list[str], calls: int) -> int:
    """Run this script (without ``--instructions``) under callgrind; print per call."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    with tempfile.TemporaryDirectory(prefix="genpipe-hotpath-") as folder:
        command = [
            valgrind,
            "--tool=callgrind",
            f"--dump-before={MARK.__name__}",
            f"--callgrind-out-file={folder}/callgrind.out",
            sys.executable,
            str(Path(__file__).resolve()),
            *[a for a in argv if a != "--instructions"],
            "--marks",
        ]
        done = subprocess.run(command, stderr=subprocess.DEVNULL, check=False)
        if done.returncode != 0:
            return done.returncode
        total = loop_instructions(Path(folder))
    print(f"instructions: {total / calls:,.0f} per call ({calls} calls, callgrind)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=SCENARIOS, default="create_cold")
    parser.add_argument("-n", type=int, default=300, help="calls measured")
    parser.add_argument("--warm", type=int, default=30, help="calls before measuring")
    parser.add_argument("--cprofile", type=int, default=0, help="print the top N functions")
    parser.add_argument("--cprofile-out", help="also write the cProfile statistics to this file")
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key")
    parser.add_argument("--sql", action="store_true", help="print one call's statements")
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/genpipe_bench"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/4")
    parser.add_argument("--list-token", default=None, help="token of a list workspace's user")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions per call (valgrind)"
    )
    parser.add_argument("--marks", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.instructions:
        return _under_callgrind(sys.argv[1:] if argv is None else argv, args.n)
    args.throttle_rate = "10000000/s"
    env = harness.bench_env(args)
    harness.database_ensure(args.database_url)
    harness.manage(env, "migrate", "--noinput", "-v", "0")
    token = harness.manage(
        env, "create_api_token", "bench", "--workspace", "bench", "--create-workspace"
    ).strip()
    harness.django_setup(env)
    _check_own_code()
    harness.data_prepare()
    from django.conf import settings
    from django.db import connection

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "0")

    counters = Counters()
    counters.install()
    call = make_call(args.scenario, token, args.list_token)
    if hasattr(call, "prepare"):
        call.prepare(args.warm + args.n + 1)  # type: ignore[attr-defined]
    with connection.execute_wrapper(counters.sql_wrapper):
        for _ in range(args.warm):
            call()
        if args.sql:
            counters.record = True
            call()
            counters.record = False
            print(f"--- one call: {len(counters.sql)} statements")
            for statement in counters.sql:
                print("  ", statement[:220])
            print(f"--- one call: {len(counters.redis)} Redis requests")
            for command in counters.redis:
                print("  ", command.replace("\r\n", " ")[:120])
            counters.reset()
        profiler = cProfile.Profile(time.process_time) if args.cprofile else None
        counters.record = True
        started_cpu, started = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        if args.marks:
            MARK()
        for _ in range(args.n):
            call()
        if args.marks:
            MARK()
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
        counters.record = False
    print(
        f"{args.scenario}: {args.n} calls, CPU {cpu / args.n * 1000:.3f} ms/call, "
        f"wall {wall / args.n * 1000:.3f} ms/call, "
        f"SQL {len(counters.sql) / args.n:.2f}/call "
        f"(+ {counters.health_checks / args.n:.2f} health checks), "
        f"Redis {len(counters.redis) / args.n:.2f}/call"
        + (" (cProfile on: CPU inflated)" if profiler else "")
    )
    kinds = Counter(s.split()[0].upper() for s in counters.sql)
    print("  SQL by verb per call:", {k: round(v / args.n, 2) for k, v in kinds.items()})
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.cprofile)
        if args.cprofile_out:  # for pstats' callers and callees, or snakeviz
            profiler.dump_stats(args.cprofile_out)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
