"""One-shot genpipe benchmark: start the stack, run every scenario, write RESULTS.md.

    .venv/bin/python bench/run.py [--duration 10] [--warmup 2] [--concurrency 8] ...

Starts gunicorn (gthread, 2 workers x 4 threads) on the bench settings and a prefork Celery
worker against PostgreSQL + Redis, measures the ceilings and the product endpoints in the
same run, and always stops what it started (process groups), also on Ctrl-C or an error.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import events_bench, latency, rounds, serving, webhooks_bench  # noqa: E402
from bench.budgets_bench import render_budgets, run_budgets  # noqa: E402
from bench.load import (  # noqa: E402  (needs ROOT on sys.path)
    ScenarioSpec,
    Target,
    cache_hit_params,
    latency_summary,
    run_scenario,
    slot_hit_body,
)

OUT_DIR = BENCH_DIR / "out"
RESULTS_MD = BENCH_DIR / "RESULTS.md"
RESULTS_JSON = OUT_DIR / "results.json"
SETTINGS_MODULE = "bench.bench_site.settings"
WORKSPACE = "bench"
CEILING_WORKSPACE = "bench-ceiling"
ACTIVE = ("pending", "processing")
# List scenarios: per size, a workspace and a user of the same slug (bench-list-<size>),
# member of that workspace only, whose generations are seeded once and kept between runs.
LIST_SIZES = {"100k": 100_000, "1m": 1_000_000}
LIST_PROVIDERS = ("sandbox", "bench-p1", "bench-p2", "bench-p3")  # copies of sandbox
LIST_OPERATIONS = ("text_to_image", "dialogue", "npc_response")
# Cycled by row number: 8 % failed, 4 % cancelled, 4 % pending, 84 % completed. The cycle
# lengths 25, 4 and 3 are coprime, so every status meets every provider and operation.
LIST_STATUSES = ("failed", "failed", "cancelled", "pending", *("completed",) * 21)
LIST_PAGES = {  # kind -> (query string, request the first page's next cursor instead)
    "first": ("limit=50", False),
    "status": ("status=failed&limit=50", False),
    "provider": ("provider=bench-p2&limit=50", False),
    "page2": ("limit=50", True),
}
LIST_SCENARIOS = {  # name -> (size, query, follow_next)
    f"list_{size}_{kind}": (size, query, follow)
    for size in LIST_SIZES
    for kind, (query, follow) in LIST_PAGES.items()
}


# --- processes ----------------------------------------------------------------------------


class Stack:
    """Processes started by the harness; each leads its own process group."""

    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, Path] = {}

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = OUT_DIR / f"{name}.log"
        with log.open("wb") as handle:
            proc = subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: killpg reaches the children
            )
        self.procs[name], self.logs[name] = proc, log
        return proc

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 30) -> str:
        try:
            return "\n".join(self.logs[name].read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for proc in self.procs.values():
            # The leader may be gone while children linger: always sweep the group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        self.procs.clear()


def _raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- environment --------------------------------------------------------------------------


def bench_env(args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    python_path = [str(ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
        DATABASE_URL=args.database_url,
        REDIS_URL=args.redis_url,
        CELERY_BROKER_URL=args.broker_url,
        GENPIPE_THROTTLE_USER=args.throttle_rate,
        GENPIPE_THROTTLE_CREATE=args.throttle_rate,
        DJANGO_DEBUG="0",
        PYTHONPATH=os.pathsep.join(dict.fromkeys(python_path)),
        PYTHONUNBUFFERED="1",
    )
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    if getattr(args, "trace", False):  # bench/hotpath.py has no --trace
        env["BENCH_TRACE_REDIS_URL"] = args.redis_url
    return env


def database_ensure(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def redis_flush(*urls: str) -> None:
    import redis

    for url in urls:
        redis.Redis.from_url(url).flushdb()


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def data_prepare() -> int:
    """Empty the bench database's generations but the list workspaces', tame the sandbox;
    the ceiling workspace id."""
    from django.db import connection

    from generations.models import Provider, Workspace

    generations_reset(keep=[list_slug(size) for size in LIST_SIZES])
    provider = Provider.objects.get(id="sandbox")
    provider.settings = {**(provider.settings or {}), "latency_ms": 0, "failure_rate": 0}
    provider.enabled = True
    provider.save()
    ceiling, _ = Workspace.objects.get_or_create(
        slug=CEILING_WORKSPACE, defaults={"name": "Bench ceiling"}
    )
    connection.close()
    return int(ceiling.pk)


def generations_reset(keep: list[str]) -> None:
    """``TRUNCATE generations CASCADE``, except for the generations of the ``keep``
    workspaces when there are any (the list workspaces, seeded once: reseeding 1.1M rows
    would take minutes every run).

    Then the tables referencing generations (events, attempts, idempotency records; no
    seeded row has any) are truncated with CASCADE instead, every other workspace's
    generations are deleted through the workspace index, and the table is vacuumed so the
    deleted rows of the previous run leave no dead tuples behind.
    """
    from django.db import connection

    from generations.models import Generation, Workspace

    table = Generation._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")  # the DELETE and VACUUM of 1M+ rows
        if not Generation.objects.filter(workspace__slug__in=keep).exists():
            cursor.execute(f'TRUNCATE TABLE "{table}" CASCADE')
            return
        started = time.monotonic()
        cursor.execute(
            "SELECT DISTINCT conrelid::regclass::text FROM pg_constraint"
            " WHERE contype = 'f' AND confrelid = %s::regclass AND conrelid <> confrelid",
            [table],
        )
        referencing = sorted(row[0] for row in cursor.fetchall())
        if referencing:
            cursor.execute(f"TRUNCATE TABLE {', '.join(referencing)} CASCADE")
        others = list(Workspace.objects.exclude(slug__in=keep).values_list("id", flat=True))
        cursor.execute(f'DELETE FROM "{table}" WHERE workspace_id = ANY(%s)', [others])
        deleted = cursor.rowcount
        cursor.execute(f'VACUUM (ANALYZE) "{table}"')
    print(
        f"reset: deleted {deleted:,} generations of earlier runs, kept the list workspaces' "
        f"({time.monotonic() - started:.1f} s with VACUUM ANALYZE)",
        flush=True,
    )


def list_slug(size: str) -> str:
    """Slug of the list workspace of ``size``, also the username of its only member."""
    return f"bench-list-{size}"


def list_sizes(names: list[str]) -> list[str]:
    """The sizes the chosen scenarios list (their workspaces need seeding)."""
    return [s for s in LIST_SIZES if any(LIST_SCENARIOS.get(n, ("",))[0] == s for n in names)]


def list_tokens(env: dict[str, str], sizes: list[str]) -> dict[str, str]:
    """API token per size for user ``bench-list-<size>``, a member of that workspace only
    (so its list is single-workspace); creates the user and the workspace if missing."""
    from django.db import connection

    from generations.models import WorkspaceMembership

    tokens = {}
    for size in sizes:
        slug = list_slug(size)
        command = ("create_api_token", slug, "--workspace", slug, "--create-workspace")
        tokens[size] = manage(env, *command).strip()
        WorkspaceMembership.objects.filter(user__username=slug).exclude(
            workspace__slug=slug
        ).delete()
    connection.close()
    return tokens


def list_providers_ensure() -> None:
    """The extra providers of the seeded rows: copies of ``sandbox``, disabled, so that
    no create can be routed to them (the list filter on ``provider`` does not care)."""
    from generations.models import Provider

    for provider_id in LIST_PROVIDERS:
        if Provider.objects.filter(id=provider_id).exists():
            continue
        provider = Provider.objects.get(id="sandbox")
        provider.pk, provider.name, provider.enabled = provider_id, f"Bench {provider_id}", False
        provider.save(force_insert=True)


def _cycled(param: str) -> str:
    """SQL: element ``g.i mod length`` (1-based) of the text array parameter ``param``."""
    array = f"%({param})s::text[]"
    return f"({array})[1 + mod(g.i, cardinality({array}))]"


def seed_sql() -> str:
    """``INSERT ... SELECT`` of ``%(n)s`` copies of the generation ``%(template)s``.

    The columns come from ``information_schema.columns``, so the model is not hard-coded:
    every column is copied from the template except the varied ones below; the other
    timestamps keep their offset from ``created_at`` (now minus i seconds).
    """
    from django.db import connection

    from generations.models import Generation

    table = Generation._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = %s"
            " ORDER BY ordinal_position",
            [table],
        )
        columns: list[tuple[str, str]] = cursor.fetchall()
    created_at = "(now() - make_interval(secs => g.i))"
    varied = {
        "id": "gen_random_uuid()",
        "workspace_id": "%(workspace_id)s",
        "created_by_id": "%(user_id)s",
        "created_at": created_at,
        "status": _cycled("statuses"),
        "provider_id": _cycled("providers"),
        "operation_type": _cycled("operations"),
        "reproducible_hash": "md5(%(slug)s || ':' || g.i)",
    }
    missing = set(varied) - {name for name, _ in columns}
    if missing:
        raise RuntimeError(f"{table} has no column {sorted(missing)}: update bench/run.py")

    def value(name: str, data_type: str) -> str:
        if name in varied:
            return varied[name]
        if data_type == "timestamp with time zone":  # same offset from created_at
            return f't."{name}" + ({created_at} - t.created_at)'
        return f't."{name}"'

    names = ", ".join(f'"{name}"' for name, _ in columns)
    values = ", ".join(value(name, data_type) for name, data_type in columns)
    return (
        f'INSERT INTO "{table}" ({names}) SELECT {values} FROM "{table}" AS t'
        " CROSS JOIN generate_series(1, %(n)s) AS g(i) WHERE t.id = %(template)s"
    )


def list_seed(template_id: str, sizes: list[str]) -> dict[str, Any]:
    """Fill each list workspace with its N generations, one ``INSERT ... SELECT`` over
    ``generate_series`` each, copying the template row; skipped when the workspace already
    holds exactly N (kept from an earlier run). Then VACUUM ANALYZE and CHECKPOINT, so the
    first scenarios do not share the machine with autovacuum or the checkpointer."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from generations.models import Generation, Workspace

    list_providers_ensure()
    with connection.cursor() as cursor:  # the seed and its VACUUM outlast the API's timeout
        cursor.execute("SET statement_timeout = 0")
    insert = seed_sql()
    table = Generation._meta.db_table
    out: dict[str, Any] = {"template": template_id, "sizes": {}, "vacuum_s": None}
    for size in sizes:
        n, slug = LIST_SIZES[size], list_slug(size)
        workspace = Workspace.objects.get(slug=slug)
        rows = Generation.objects.filter(workspace=workspace)
        entry: dict[str, Any] = {"workspace": slug, "rows": n, "seed_s": None}
        if rows.count() == n:
            print(f"{slug}: {n:,} generations kept from an earlier run", flush=True)
        else:
            print(f"seeding {slug}: {n:,} generations...", flush=True)
            started = time.monotonic()
            params: dict[str, Any] = {
                "n": n,
                "template": template_id,
                "workspace_id": workspace.pk,
                "user_id": get_user_model().objects.get(username=slug).pk,
                "slug": slug,
                "statuses": list(LIST_STATUSES),
                "providers": list(LIST_PROVIDERS),
                "operations": list(LIST_OPERATIONS),
            }
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f'DELETE FROM "{table}" WHERE workspace_id = %s', [workspace.pk])
                cursor.execute(insert, params)
            entry["seed_s"] = time.monotonic() - started
            print(f"seeded {slug}: {n:,} generations in {entry['seed_s']:.1f} s", flush=True)
        out["sizes"][size] = entry
    if any(e["seed_s"] is not None for e in out["sizes"].values()):
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(f'VACUUM (ANALYZE) "{table}"')
            cursor.execute("CHECKPOINT")
        out["vacuum_s"] = time.monotonic() - started
        print(f"VACUUM ANALYZE + CHECKPOINT in {out['vacuum_s']:.1f} s", flush=True)
    for size, entry in out["sizes"].items():
        rows = Generation.objects.filter(workspace__slug=list_slug(size))
        entry["matches"] = {
            query: rows.filter(**{field: value}).count()
            for query, field, value in (
                ("status=failed", "status", "failed"),
                ("provider=bench-p2", "provider_id", "bench-p2"),
            )
        }
    connection.close()
    return out


def active_count() -> int:
    from django.db import connection

    from generations.models import Generation

    count = Generation.objects.filter(workspace__slug=WORKSPACE, status__in=ACTIVE).count()
    connection.close()
    return count


def wait_drained(timeout_s: float = 180.0) -> dict[str, float]:
    """Wait until the worker has finished every bench generation."""
    started = time.monotonic()
    backlog = active_count()
    while True:
        left = active_count()
        if left == 0:
            return {"backlog": backlog, "drain_s": time.monotonic() - started}
        if time.monotonic() - started > timeout_s:
            raise RuntimeError(f"{left} generations still pending/processing after {timeout_s}s")
        time.sleep(0.1)


def row_timings(ids: list[str]) -> dict[str, Any]:
    """Server-side view of POST → completed, from the rows' own timestamps."""
    from django.db import connection

    from generations.models import Generation

    rows = list(
        Generation.objects.filter(id__in=ids).values(
            "status", "created_at", "started_at", "completed_at"
        )
    )
    connection.close()
    done = [r for r in rows if r["status"] == "completed" and r["completed_at"]]

    def ms(a: datetime | None, b: datetime | None) -> float:
        assert a is not None and b is not None
        return (b - a).total_seconds() * 1000

    return {
        "rows": len(rows),
        "completed": len(done),
        "created_to_completed": latency_summary(
            [ms(r["created_at"], r["completed_at"]) for r in done]
        ),
        "created_to_started": latency_summary(
            [ms(r["created_at"], r["started_at"]) for r in done if r["started_at"]]
        ),
        "started_to_completed": latency_summary(
            [ms(r["started_at"], r["completed_at"]) for r in done if r["started_at"]]
        ),
    }


# --- HTTP helpers (setup only; the measured traffic goes through bench.load) ---------------


def http_call(
    port: int, token: str, method: str, path: str, body: Any = None
) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        payload = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        doc = json.loads(raw) if raw else {}
    except ValueError:
        doc = {"raw": raw[:500].decode(errors="replace")}
    return response.status, doc if isinstance(doc, dict) else {"value": doc}


def wait_http(
    stack: Stack, port: int, token: str, timeout_s: float = 60.0, name: str = "gunicorn"
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stack.check_alive()
        with contextlib.suppress(OSError, http.client.HTTPException):
            status, doc = http_call(port, token, "GET", "/bench/noop")
            if status == 200 and doc == {"ok": True}:
                return
            if status not in (502, 503):
                raise RuntimeError(f"/bench/noop answered {status}: {doc}")
        time.sleep(0.2)
    raise RuntimeError(f"{name} not ready after {timeout_s}s:\n{stack.tail(name)}")


def warm_create(stack: Stack, port: int, token: str, body: dict[str, Any]) -> dict[str, Any]:
    """Create the cache-hit body once and wait for the worker to complete it.

    Doubles as the readiness check of the Celery worker.
    """
    status, doc = http_call(port, token, "POST", "/api/v1/generations", body)
    if status not in (200, 201):
        raise RuntimeError(f"warm-up create answered {status}: {doc}")
    gen_id = doc["id"]
    deadline = time.monotonic() + 90
    while doc.get("status") != "completed":
        stack.check_alive()
        if doc.get("status") in ("failed", "cancelled"):
            raise RuntimeError(f"warm-up generation ended {doc.get('status')}: {doc}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"worker did not complete the warm-up:\n{stack.tail('celery')}")
        time.sleep(0.1)
        status, doc = http_call(port, token, "GET", f"/api/v1/generations/{gen_id}")
        if status != 200:
            raise RuntimeError(f"GET of the warm-up generation answered {status}: {doc}")
    return doc


# --- CPU accounting -----------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _proc_stats() -> Iterator[tuple[int, str, int, float]]:
    """(pid, comm, pgrp, cpu seconds incl. reaped children) of every readable process."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        # fields[0] is state (field 3): pgrp is field 5, utime..cstime are fields 14..17
        ticks = sum(int(v) for v in fields[11:15])
        yield int(entry.name), comm, int(fields[2]), ticks / CLK_TCK


def _cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def _machine_jiffies() -> tuple[float, float, float]:
    """(busy, total, steal) jiffies of the machine; steal (the hypervisor ran someone else)
    counts as busy, like any CPU this benchmark did not get."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return float(sum(values[:8]) - idle), float(sum(values[:8])), float(values[7])


COMPONENTS = ("gunicorn", "celery", "postgres", "redis", "client")


class CpuProbe:
    """CPU seconds per component between the edges of a scenario's measured window.

    ``postgres`` counts only the backends connected to the bench database (persistent
    connections, so they live through the window); ``other`` is every busy CPU second of
    the machine that none of the components account for: other tenants of the box, and
    PostgreSQL/kernel background work.
    """

    def __init__(self, stack: Stack, database: str) -> None:
        self.stack = stack
        self.database = database
        self.snapshots: dict[str, dict[str, dict[int, float]]] = {}

    def snapshot(self, client_pids: list[int]) -> dict[str, dict[int, float]]:
        """CPU seconds per component and pid (pid 0 holds the machine's busy/total)."""
        # "gunicorn" is the web tier: the WSGI server and, when started, the ASGI one.
        groups = {
            self.stack.procs[proc].pid: name
            for proc, name in (("gunicorn", "gunicorn"), ("asgi", "gunicorn"), ("celery", "celery"))
            if proc in self.stack.procs
        }
        out: dict[str, dict[int, float]] = {name: {} for name in COMPONENTS}
        for pid, comm, pgrp, cpu in _proc_stats():
            if pgrp in groups:
                out[groups[pgrp]][pid] = cpu
            if comm.startswith("postgres"):
                if f" {self.database} " in _cmdline(pid):
                    out["postgres"][pid] = cpu
            elif comm.startswith("redis-server"):
                out["redis"][pid] = cpu
            if pid in client_pids:
                out["client"][pid] = cpu
        busy, total, steal = _machine_jiffies()
        out["machine_busy"], out["machine_total"] = {0: busy / CLK_TCK}, {0: total / CLK_TCK}
        out["machine_steal"] = {0: steal / CLK_TCK}
        return out

    def hook(self, edge: str, client_pids: list[int]) -> None:
        self.snapshots[edge] = self.snapshot(client_pids)

    def delta(self, requests: int) -> dict[str, Any]:
        start, end = self.snapshots["start"], self.snapshots["end"]
        # Per pid: a process born inside the window counts from zero; one that died inside
        # it (e.g. a PostgreSQL backend closed at CONN_MAX_AGE) loses its last slice.
        diff = {k: sum(cpu - start[k].get(pid, 0.0) for pid, cpu in end[k].items()) for k in end}
        total = diff.pop("machine_total")
        busy = diff.pop("machine_busy")
        steal = diff.pop("machine_steal")
        diff["other"] = max(0.0, busy - sum(diff[k] for k in COMPONENTS))
        per = max(requests, 1)
        return {
            "cpu_s": diff,
            "machine_busy_pct": 100 * busy / total if total else 0.0,
            "other_pct": 100 * diff["other"] / total if total else 0.0,
            "steal_pct": 100 * steal / total if total else 0.0,
            "gunicorn_ms_per_req": 1000 * diff["gunicorn"] / per,
            "stack_ms_per_req": 1000 * sum(diff[k] for k in COMPONENTS if k != "client") / per,
        }


# --- environment report -------------------------------------------------------------------


def environment(args: argparse.Namespace, with_db: bool, load_avg: str) -> dict[str, Any]:
    """Versions and machine; ``with_db``: Django is set up on the bench database (the
    HTTP scenarios), otherwise PostgreSQL is not touched."""
    import celery
    import django
    import gunicorn
    import redis
    import rest_framework

    cpu_model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    pg_version = "not used"
    if with_db:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            pg_version = cursor.fetchone()[0]
        connection.close()
    redis_url = args.redis_url if with_db else args.telemetry_redis_url
    redis_version = redis.Redis.from_url(redis_url).info("server").get("redis_version")
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "host": platform.node(),
        "kernel": platform.release(),
        "cpu_model": cpu_model,
        "cores": os.cpu_count(),
        "mem_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "django": django.get_version(),
        "drf": rest_framework.VERSION,
        "celery": celery.__version__,
        "gunicorn": gunicorn.__version__,
        "postgresql": pg_version,
        "redis": redis_version,
        "redis_py": redis.__version__,
        "load_avg_start": load_avg,
        "gunicorn_flags": serving.flags(serving.wsgi_args(0)),
        "asgi_flags": serving.flags(serving.asgi_args(0)),
        "celery_flags": serving.flags(serving.celery_args()).replace("-A genpipe_site ", ""),
        "throttle_rate": args.throttle_rate,
        "git_head": _git_head(),
    }


def _git_head() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return f"{head}{' (+uncommitted changes)' if dirty else ''}"
    return "unknown"


# --- report -------------------------------------------------------------------------------


def _f(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "-"
    return f"{a / b:.3f}"


def render_markdown(results: dict[str, Any]) -> str:
    env, cfg, sc = results["environment"], results["config"], results["scenarios"]
    lines = [
        "# genpipe benchmark results",
        "",
        "Generated by `bench/run.py` (overwritten on every run; raw data in "
        "`bench/out/results.json`). Read the **ratios**, not the absolute numbers: both "
        "sides of each ratio were measured in this run, on this machine. See bench/README.md.",
        "",
        "## Environment",
        "",
        f"- Date: {env['date']}; git: `{env['git_head']}`",
        f"- CPU: {env['cpu_model']}, {env['cores']} cores, {env['mem_gb']} GB RAM; "
        f"kernel {env['kernel']}",
        f"- Python {env['python']}, Django {env['django']}, DRF {env['drf']}, "
        f"Celery {env['celery']}, gunicorn {env['gunicorn']}, redis-py {env['redis_py']}",
        f"- PostgreSQL {env['postgresql']}, Redis {env['redis']} (both local, same machine)",
    ]
    if env.get("load_avg_start"):
        lines.append(f"- Load average (1/5/15 min) when the run started: {env['load_avg_start']}")
    if sc:
        lines += [
            f"- gunicorn `{env['gunicorn_flags']}`; Celery `{env['celery_flags']}`",
            f"- ASGI server (only the `Prefer: wait` scenarios): `{env.get('asgi_flags', '-')}`",
            f"- Throttles `GENPIPE_THROTTLE_USER` = `GENPIPE_THROTTLE_CREATE` = "
            f"`{env['throttle_rate']}`; `DJANGO_DEBUG=0`",
            "- **The load generator runs on the same machine** (closed loop, "
            f"{cfg['procs']} process(es), `http.client` keep-alive): it competes with the "
            "server for the same cores, so absolute numbers understate a dedicated server.",
            f"- Each scenario: {cfg['warmup']:g} s warm-up (discarded) + {cfg['duration']:g} s "
            "measured; errors are counted over warm-up too.",
        ]
        lines += _render_http(results)
        lines += rounds.render(results)
    if "telemetry" in results:
        lines += render_telemetry(results["telemetry"])
    if "budgets" in results:
        lines += render_budgets(results["budgets"])
    if "peer" in results:
        from bench import peer_report

        lines += peer_report.render_markdown(results)
    if "events" in results:
        lines += events_bench.render(results["events"])
    lines += webhooks_bench.current_section()  # run on its own; kept as it was
    lines += ["", f"Total wall time of the run: {results['wall_s']:.0f} s.", ""]
    return "\n".join(lines)


def _verdict(value: bool | None) -> str:
    return {True: "**PASS**", False: "**FAIL**", None: "not measured"}[value]


def _trips(counts: dict[str, int]) -> str:
    """{"1": 20000} -> "1"; mixed -> "1 (19990 calls), 2 (10 calls)"."""
    if len(counts) == 1:
        return str(next(iter(counts)))
    ordered = sorted(counts.items(), key=lambda kv: int(kv[0]))
    return ", ".join(f"{k} ({v} calls)" for k, v in ordered)


def render_telemetry(tm: dict[str, Any]) -> list[str]:
    lines = ["", "## Telemetry", ""]
    cfg = tm.get("config", {})
    if "events" not in tm:
        lines.append("The telemetry micro-benchmarks produced no result:")
        lines += [f"- {error}" for error in tm.get("errors", [])]
        return lines
    floor, events, reads = tm["floor"], tm["events"], tm.get("percentiles", {})
    ping50, ping_mean = floor["ping"]["p50_us"], floor["ping"]["mean_us"]
    lines += [
        "In-process micro-benchmarks of the telemetry module (`bench/telemetry_bench.py`, run "
        "before the stack starts), against the same Redis server on its own database "
        f"`{cfg.get('redis_url')}` (flushed at start and end), through the product's own "
        "client `telemetry.store.telemetry_client()` (redis-py, reply parser "
        f"{cfg.get('reply_parser', 'not recorded')}; socket timeout "
        f"{cfg.get('socket_timeout_s')} s). Times "
        "are wall-clock per call, nearest-rank percentiles. The floor is one `PING` on the "
        "same client: no Redis call can cost less from this process, so `÷ PING` is what "
        "an operation costs in round-trip units.",
        "",
        "### Targets",
        "",
        "| target | rule | measured | result |",
        "|---|---|---|---|",
    ]
    for t in tm.get("targets", []):
        lines.append(f"| {t['target']} | {t['rule']} | {t['measured']} | {_verdict(t['pass'])} |")
    lines += [
        "",
        "### Floor: one round trip on the telemetry client",
        "",
        "| call | n | mean µs | p50 µs | p95 µs | p99 µs | round trips/call |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, label in (("ping", "`PING`"), ("evalsha_noop", "`EVALSHA` of `return 1`")):
        f = floor[name]
        lines.append(
            f"| {label} | {f['n']:.0f} | {f['mean_us']:.1f} | {f['p50_us']:.1f} | "
            f"{_f(f.get('p95_us'))} | {_f(f.get('p99_us'))} | {_trips(f['round_trips'])} |"
        )
    lines += [
        "",
        "### Cost per recorded event",
        "",
        f"`telemetry_record_attempt` and `telemetry_record_terminal`, {cfg.get('events')} "
        "calls each after a warm-up, provider `sandbox`, operation `dialogue`, "
        "`at=timezone.now()` (built outside the timed call). Attempts: 95 % succeeded with "
        "tokens and a `Decimal` cost, 5 % failed (error hash + index, no tokens). Terminals: "
        "unique generation ids, 93 % completed and 5 % failed (with a latency sample), 2 % "
        "cancelled (no sample).",
        "",
        "| event | n | mean µs | p50 µs | p95 µs | p99 µs | max µs | p50 ÷ PING p50 | "
        "mean ÷ PING mean | round trips/event | client commands/event | Redis commands/event "
        "(expected) | script time in Redis µs/event | client CPU µs/event | KEYS + ARGV bytes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, e in events.items():
        lat = e["latency"]
        server_us = e["server_script_us_per_event"]
        lines.append(
            f"| {kind} | {e['n']} | {lat['mean_us']:.1f} | {lat['p50_us']:.1f} | "
            f"{_f(lat.get('p95_us'))} | {_f(lat.get('p99_us'))} | {lat['max_us']:,.0f} | "
            f"{lat['p50_us'] / ping50:.2f} | {lat['mean_us'] / ping_mean:.2f} | "
            f"{_trips(e['round_trips'])} | {_trips(e['client_commands'])} | "
            f"{e['server_commands_per_event']:.2f} ({e['server_commands_expected_per_event']:.2f})"
            f" | {_f(server_us, 1)} | {e['client_cpu_us_per_event']:.0f} | "
            f"{e['argument_bytes_mean']:,.0f} |"
        )
    lines += [
        "",
        "Round trips and client commands are counted on the client (wrapped "
        "`execute_command` and `send_packed_command`), for every event; the column shows the "
        "value every event had, or the distribution. Redis commands are `INFO commandstats` "
        "deltas over the measured loop (commands run inside the Lua script included), next to "
        "the count expected from the script calls actually sent; `script time in Redis` is the "
        "`EVALSHA` time from the same deltas. Client CPU is the benchmark process over the "
        "whole loop (argument building included), divided by the events.",
    ]
    lines += [
        "",
        "Where an event's time goes (p50 µs; the same calls split in two, "
        f"{cfg.get('decompose_n')} calls each): **Python** = the recording function with "
        "`run_script` replaced by a no-op (keys and arguments); **Redis call** = "
        "`run_script` alone replaying calls the measured loop sent (the round trip, the "
        "script, the reply). The halves need not add up to the event: on the 2-core VM the "
        "harness was built on, the same Redis call costs clearly more when other Python work "
        "runs just before it (as inside an event) than back to back (as in the replay), "
        "through caches and CPU wake-ups. Read them as the relative weight of the two parts.",
        "",
        "| event | event p50 µs | Python p50 µs | Redis call p50 µs | PING p50 µs | "
        "script time in Redis µs |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, e in events.items():
        lines.append(
            f"| {kind} | {e['latency']['p50_us']:.1f} | {e['build_only']['p50_us']:.1f} | "
            f"{e['redis_call_only']['p50_us']:.1f} | {ping50:.1f} | "
            f"{_f(e['server_script_us_per_event'], 1)} |"
        )
    lines += ["", "Redis commands per event, by command (those a recording call can run):", ""]
    for kind, e in events.items():
        by_name = ", ".join(
            f"{name} {count:.2f}"
            for name, count in e["server_commands_by_name"].items()
            if count >= 0.005  # a stray call of another client is no part of an event
        )
        lines.append(f"- {kind}: {by_name}")
    foreign = {k: e["server_commands_foreign"] for k, e in events.items()}
    if any(foreign.values()):
        lines += [
            "",
            "The counters are server-wide: other clients of the same Redis server ran "
            + ", ".join(
                f"{v:.0f} commands during the {k} loop "
                f"({events[k].get('server_commands_other_names', 0):.0f} of them of kinds no "
                "event runs)"
                for k, v in foreign.items()
            )
            + "; the client-side counts are exact.",
        ]
    lines += [
        "",
        "### Percentile reads",
        "",
        "Per size N: the latency set of provider `benchN` and its `:at` companion hold N unique "
        "generation-id members, latency `1 + (i·7919 mod 4999)` ms (values 1..4999 "
        "repeated, inserted in scrambled order), timestamps within the last 23 h so nothing "
        "is trimmed; the provider's counters, its 84 minute/hour buckets and 5 error types "
        'are filled too. Full read = `telemetry_stats(scope="provider", ident=…)`: the '
        "counters + 84 buckets + error index pipeline, the percentile script, the error "
        'pipeline. Every answer is checked: `source == "redis"`, N samples, and p50/p95/p99 '
        "equal to `telemetry.percentiles.percentile` of the same values "
        f"({cfg.get('reps')} timed reads per column, after 3 warm-ups; the three "
        "measurements are interleaved). `script time in Redis` is the mean `EVALSHA` time "
        "from `INFO commandstats` over the percentile-script calls of that size (those of "
        "the full reads included); the pipeline's Redis time is its 85 `HGETALL` at their "
        "mean `usec` per call from the same deltas: the rest of the pipeline's time is the "
        "client (packing 86 commands, parsing about 1,600 reply elements in pure Python).",
        "",
        "| samples | fill s | full read p50 ms | full read p95 ms | round trips/full read | "
        "counters + buckets pipeline alone p50 ms | its Redis time µs | "
        "percentile script p50 ms | "
        "percentile script p95 ms | script time in Redis µs | full read p50 ÷ PING p50 | "
        "expected p50 / p95 / p99 | verified |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for n, r in reads.items():
        full, script, pipe = r["full_read"], r["script"], r["buckets_pipeline"]
        expected = " / ".join(_f(v, 0) for v in r["expected"].values())
        lines.append(
            f"| {int(n):,} | {r['fill_s']:.1f} | {full['p50_ms']:.2f} | "
            f"{_f(full.get('p95_ms'), 2)} | {_trips(full['round_trips'])} | "
            f"{pipe['p50_ms']:.2f} | {_f(r.get('buckets_pipeline_server_us'), 0)} | "
            f"{script['p50_ms']:.3f} | {_f(script.get('p95_ms'), 3)} | "
            f"{_f(r['script_server_us'], 1)} | "
            f"{full['p50_ms'] * 1000 / ping50:.1f} | {expected} | "
            f"{'yes' if r['verified'] else '**NO**'} |"
        )
    lines += ["", "### Telemetry errors", ""]
    if not tm.get("errors"):
        lines.append(
            "None: Redis took every event, and every read answered from Redis with the "
            "expected figures."
        )
    lines += [f"- {error}" for error in tm.get("errors", [])]
    lines.append("")
    lines.append(f"Wall time of the telemetry part: {tm.get('wall_s', 0):.0f} s.")
    return lines


def _render_http(results: dict[str, Any]) -> list[str]:
    cfg, sc = results["config"], results["scenarios"]
    lines = [
        "",
        "## Throughput and latency",
        "",
        "| scenario | conc. | req/s | p50 ms | p95 ms | p99 ms | max ms | errors | "
        "machine busy % | foreign CPU % | steal % | gunicorn CPU ms/req | "
        "stack CPU ms/req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in sc.items():
        lat, cpu = r["latency"], r.get("cpu", {})
        lines.append(
            f"| {name} | {r['spec']['concurrency']} | {_f(r['rps'])} | {_f(lat.get('p50_ms'), 2)}"
            f" | {_f(lat.get('p95_ms'), 2)} | {_f(lat.get('p99_ms'), 2)} | "
            f"{_f(lat.get('max_ms'), 1)} | {r['errors']} | "
            f"{_f(cpu.get('machine_busy_pct'), 0)} | {_f(cpu.get('other_pct'), 0)} | "
            f"{_f(cpu.get('steal_pct'), 0)} | "
            f"{_f(cpu.get('gunicorn_ms_per_req'), 2)} | {_f(cpu.get('stack_ms_per_req'), 2)} |"
        )
    lines += [
        "",
        "`req/s` counts successful requests completing inside the measured window "
        "(post_to_completed: POST→completed operations, each with its polling GETs). CPU "
        "columns come from `/proc` over the same window. `foreign CPU %` is busy CPU of the "
        "machine that neither the stack nor the client used (other processes on the box, "
        "PostgreSQL background work, hypervisor steal); `steal %` is the hypervisor's share "
        "alone, as the guest kernel reports it (not always a subset of the former): when either "
        "is high, the run was disturbed and req/s ratios are less trustworthy than the CPU "
        "ratios. `stack CPU ms/req` = "
        "gunicorn + Celery worker + the bench database's PostgreSQL backends + Redis, per "
        "request of the window; unlike req/s it does not depend on how many cores were free.",
        "",
        "## Ratios to the ceilings (same run)",
        "",
        "| ratio | value |",
        "|---|---:|",
    ]

    def rps(name: str) -> float | None:
        return sc[name]["rps"] if name in sc else None

    def p50(name: str) -> float | None:
        return sc[name]["latency"].get("p50_ms") if name in sc else None

    def cpu_req(name: str, key: str) -> float | None:
        return sc[name].get("cpu", {}).get(key) if name in sc else None

    pairs = [
        ("create_cold", "ceiling_noop"),
        ("create_cache_hit", "ceiling_noop"),
        ("create_cold", "ceiling_insert"),
        ("create_cache_hit", "ceiling_insert"),
        ("ceiling_insert", "ceiling_noop"),
    ]
    for a, b in pairs:
        if a in sc and b in sc:
            lines.append(f"| {a} req/s ÷ {b} req/s | {_ratio(rps(a), rps(b))} |")
    for key, label in (("gunicorn_ms_per_req", "gunicorn"), ("stack_ms_per_req", "stack")):
        for a, b in [*pairs[:2], ("create_slot_hit", "ceiling_noop"), pairs[2]]:
            if a in sc and b in sc:
                lines.append(
                    f"| {a} {label} CPU/req ÷ {b} {label} CPU/req | "
                    f"{_ratio(cpu_req(a, key), cpu_req(b, key))} |"
                )
    lines += _worker_ratios(sc)
    lines += _list_ratios(sc)
    if "ceiling_noop" in sc and "ceiling_noop_recheck" in sc:
        lines.append(
            "| drift check: ceiling_noop_recheck req/s ÷ ceiling_noop req/s | "
            f"{_ratio(rps('ceiling_noop_recheck'), rps('ceiling_noop'))} |"
        )
    foreign = max(
        (
            max(r.get("cpu", {}).get("other_pct", 0.0), r.get("cpu", {}).get("steal_pct", 0.0))
            for r in sc.values()
        ),
        default=0.0,
    )
    lines += [
        "",
        "req/s ratios: higher = the product keeps more of the ceiling's throughput. CPU/req "
        "ratios: how many times the ceiling's CPU one request costs (higher = more expensive).",
    ]
    if any(name in sc for name in LIST_SCENARIOS):
        lines += [
            "",
            "Scale ratios: the same list page with 10 times the workspace's generations; "
            "about 1.0 (req/s and CPU/req alike) means a page costs the same at 1M rows as at "
            "100k.",
        ]
    if foreign > 20:
        lines += [
            "",
            f"**Noise warning**: up to {foreign:.0f}% of the machine's CPU went to processes "
            "outside the benchmark (or hypervisor steal) during a measured window; req/s "
            "ratios are disturbed by it, CPU/req ratios much less. Re-run on a quiet machine "
            "to compare req/s.",
        ]
    lines += ["", "| p50 delta vs ceiling_noop | ms |", "|---|---:|"]
    base = p50("ceiling_noop")
    for name in sc:
        if name != "ceiling_noop" and base is not None and p50(name) is not None:
            lines.append(f"| {name} | {p50(name) - base:+.2f} |")  # type: ignore[operator]

    seed = results.get("list_seed")
    if seed and any(name in sc for name in LIST_SCENARIOS):
        lines += _render_list_seed(seed)
    hit = sc.get("create_cache_hit")
    if hit:
        tags = ", ".join(f"`{k}`: {v}" for k, v in sorted(hit["tag_counts"].items())) or "none"
        lines += [
            "",
            "## create_cache_hit reuse",
            "",
            f"Responses over the whole run (warm-up included) by `reused`: {tags}; "
            f"status codes: {hit['status_counts']}.",
        ]
    cold = sc.get("create_cold")
    if cold:
        drain = cold.get("drain", {})
        lines += [
            "",
            "## create_cold backlog",
            "",
            f"The worker ran during create_cold (it is part of the product). At the end of "
            f"the scenario {drain.get('backlog', '-')} generations were still pending/processing; "
            f"the worker drained them in {_f(drain.get('drain_s'), 1)} s before the next "
            "scenario started.",
        ]
    p2c = [n for n in sc if n.startswith("post_to_completed")]
    if p2c:
        lines += [
            "",
            "## POST → completed",
            "",
            "Client view: POST, then GET every "
            f"{cfg['poll_interval'] * 1000:g} ms until `status == completed`. Row view: "
            "`completed_at - created_at` (and its split at `started_at`, i.e. queue wait vs "
            "worker time) of the same generations.",
            "",
            "| scenario | view | n | p50 ms | p95 ms | p99 ms | max ms | mean polls |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name in p2c:
            r = sc[name]
            views = [("client POST→completed", r["latency"], _f(r["polls_mean"], 1))]
            if r.get("first_latency"):
                views.append(("client POST alone", r["first_latency"], ""))
            rows = r.get("rows", {})
            for label, key in (
                ("rows created→completed", "created_to_completed"),
                ("rows created→started (queue)", "created_to_started"),
                ("rows started→completed (worker)", "started_to_completed"),
            ):
                if key in rows:
                    views.append((label, rows[key], ""))
            for label, lat, polls in views:
                lines.append(
                    f"| {name} | {label} | {lat.get('n', 0)} | {_f(lat.get('p50_ms'), 2)} | "
                    f"{_f(lat.get('p95_ms'), 2)} | {_f(lat.get('p99_ms'), 2)} | "
                    f"{_f(lat.get('max_ms'), 1)} | {polls} |"
                )
    lines += latency.render(results)
    errors = {n: r["error_samples"] for n, r in sc.items() if r["errors"]}
    lines += ["", "## Errors", ""]
    if not errors:
        lines.append("None: every request of every scenario got the expected answer.")
    for name, samples in errors.items():
        lines.append(f"- **{name}**: {sc[name]['errors']} errors, e.g.")
        for s in samples:
            lines.append(f"  - `{s['status']}` {s['error'][:200]}")
    lines += [
        "",
        "## CPU seconds per component during the measured windows",
        "",
        "| scenario | gunicorn | celery | postgres (bench DB) | redis | client | foreign |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in sc.items():
        cpu = r.get("cpu", {}).get("cpu_s", {})
        lines.append(
            f"| {name} | {_f(cpu.get('gunicorn'), 2)} | {_f(cpu.get('celery'), 2)} | "
            f"{_f(cpu.get('postgres'), 2)} | {_f(cpu.get('redis'), 2)} | "
            f"{_f(cpu.get('client'), 2)} | {_f(cpu.get('other'), 2)} |"
        )
    return lines


def worker_ms(result: dict[str, Any] | None) -> float | None:
    """Celery worker CPU ms per successful operation of a scenario's window."""
    if not result or not result.get("ok_window"):
        return None
    seconds = result.get("cpu", {}).get("cpu_s", {}).get("celery")
    return None if seconds is None else seconds * 1000 / result["ok_window"]


def _worker_ratios(sc: dict[str, Any]) -> list[str]:
    """Worker CPU per completed generation (post_to_completed_c1, one at a time) against
    the worker CPU of a no-op Celery task round trip (ceiling_celery_noop)."""
    gen, noop = worker_ms(sc.get("post_to_completed_c1")), worker_ms(sc.get("ceiling_celery_noop"))
    lines = []
    if gen is not None:
        lines.append(
            f"| worker CPU ms per completed generation (post_to_completed_c1) | {_f(gen, 2)} |"
        )
    if noop is not None:
        lines.append(
            f"| worker CPU ms per no-op task round trip (ceiling_celery_noop) | {_f(noop, 2)} |"
        )
    if gen is not None and noop is not None:
        lines.append(f"| worker CPU per generation ÷ per no-op task | {_ratio(gen, noop)} |")
    return lines


def _list_ratios(sc: dict[str, Any]) -> list[str]:
    """Ratio rows of the list scenarios: each to ceiling_noop, then the scale ratios (the
    largest size to the smallest, per page kind)."""

    def value(name: str, key: str) -> float | None:
        if key == "rps":
            return float(sc[name]["rps"])
        return sc[name].get("cpu", {}).get(key)

    lines = [
        f"| {name} req/s ÷ ceiling_noop req/s | "
        f"{_ratio(value(name, 'rps'), value('ceiling_noop', 'rps'))} |"
        for name in LIST_SCENARIOS
        if name in sc and "ceiling_noop" in sc
    ]
    small, big = next(iter(LIST_SIZES)), list(LIST_SIZES)[-1]
    for key, label in (("rps", "req/s"), ("stack_ms_per_req", "stack CPU/req")):
        for kind in LIST_PAGES:
            a, b = f"list_{big}_{kind}", f"list_{small}_{kind}"
            if a in sc and b in sc:
                lines.append(
                    f"| scale: {a} {label} ÷ {b} {label} | {_ratio(value(a, key), value(b, key))} |"
                )
    return lines


def _render_list_seed(seed: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "## List pages",
        "",
        "`GET /api/v1/generations` by the only member of a workspace holding N generations: "
        "`list_<size>_first` `?limit=50`, `_status` `?status=failed&limit=50`, `_provider` "
        "`?provider=bench-p2&limit=50`, `_page2` the `next` cursor of the first page (fetched "
        "once at scenario start). Every response must be 200 with 50 results, each matching "
        "the filter, and be the page fetched at scenario start (same ids, same order). The "
        "rows are copies of one completed generation made through the API, seeded with one "
        "`INSERT ... SELECT ... generate_series` per workspace and kept between runs; "
        f"statuses, providers and operations cycle over {len(LIST_STATUSES)}, "
        f"{len(LIST_PROVIDERS)} and {len(LIST_OPERATIONS)} values (see bench/README.md).",
        "",
        "| workspace | generations | status=failed | provider=bench-p2 | seed s |",
        "|---|---:|---:|---:|---:|",
    ]
    for entry in seed["sizes"].values():
        matches = entry.get("matches", {})
        seeded = "kept" if entry["seed_s"] is None else f"{entry['seed_s']:.1f}"
        lines.append(
            f"| {entry['workspace']} | {entry['rows']:,} | "
            f"{matches.get('status=failed', 0):,} | {matches.get('provider=bench-p2', 0):,} | "
            f"{seeded} |"
        )
    if seed["vacuum_s"] is not None:
        lines += ["", f"`VACUUM ANALYZE` + `CHECKPOINT` after the seed: {seed['vacuum_s']:.1f} s."]
    else:
        lines += ["", "`kept`: seeded by an earlier run, not this one."]
    return lines


# --- main ---------------------------------------------------------------------------------

SCENARIOS = (
    "ceiling_noop",
    "ceiling_insert",
    "ceiling_celery_noop",  # worker-side ceiling: a no-op Celery task round trip
    "create_cold",
    "create_cache_hit",
    "create_slot_hit",  # a hit served from the Redis slot (the dedup lookup misses)
    "post_to_completed_c1",
    "post_to_completed_c4",
    "post_to_completed_wait_c1",  # POST with Prefer: wait, against the ASGI server
    "post_to_completed_getwait_c1",  # POST, then one GET with Prefer: wait (ASGI)
    *LIST_SCENARIOS,  # list_100k_first ... list_1m_page2
    "ceiling_noop_recheck",
    "telemetry",  # in-process Redis micro-benchmarks, run before the stack starts
    "budgets",  # in-process create with budgets off vs on, reserve/settle (budgets_bench.py)
    "events",  # bench/events_bench.py: its own uvicorn, run before the stack starts
)
TELEMETRY_TIMEOUT_S = 300.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="discarded seconds")
    parser.add_argument("--concurrency", type=int, default=8, help="clients, throughput runs")
    parser.add_argument("--procs", type=int, default=1, help="client processes")
    parser.add_argument("--p2c-concurrency", type=int, default=4, help="post_to_completed_c4")
    parser.add_argument("--poll-interval", type=float, default=0.005, help="seconds")
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help=f"comma list from {SCENARIOS}"
    )
    parser.add_argument(
        "--throttle-rate",
        default="10000000/s",
        help="DRF throttle rates (per second on purpose: see README)",
    )
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/genpipe_bench"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/4")
    parser.add_argument(
        "--telemetry-redis-url",
        default="redis://127.0.0.1:6379/8",
        help="Redis database of the telemetry micro-benchmarks (flushed at start and end)",
    )
    parser.add_argument(
        "--telemetry-events", type=int, default=20_000, help="recorded events of each kind"
    )
    parser.add_argument(
        "--telemetry-reps", type=int, default=50, help="timed percentile reads per size"
    )
    parser.add_argument(
        "--telemetry-sizes",
        default="1000,100000,1000000",
        help="latency sample counts of the percentile reads",
    )
    from bench import peer_litellm

    peer_litellm.add_arguments(parser)
    parser.add_argument("--no-markdown", action="store_true", help="only write results.json")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure the ratio scenarios (ceilings and products) this many times, "
        "interleaved; RESULTS.md gives the median ratio of the rounds (bench/rounds.py)",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="stamp each generation's trip through Celery and split POST→completed into "
        "segments (costs CPU: not for the reported run)",
    )
    parser.add_argument(
        "--serve",
        action="store_true",
        help="start the stack, print the port/token/ceiling workspace and wait for Ctrl-C "
        "(drive it with bench/load.py)",
    )
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}")
    args.scenario_list = [s for s in SCENARIOS if s in chosen]
    if args.peer and args.serve:
        parser.error("--peer measures, --serve only serves: choose one")
    return args


def scenario_specs(
    args: argparse.Namespace, ceiling_ws: int, hit: dict[str, Any]
) -> dict[str, ScenarioSpec]:
    def spec(name: str, op: str, concurrency: int, **params: Any) -> ScenarioSpec:
        return ScenarioSpec(
            name=name,
            op=op,
            concurrency=concurrency,
            procs=args.procs,
            duration_s=args.duration,
            warmup_s=args.warmup,
            poll_interval_s=args.poll_interval,
            params=params,
        )

    c = args.concurrency
    lists = {
        name: spec(name, "list", c, query=query, follow_next=follow)
        for name, (_, query, follow) in LIST_SCENARIOS.items()
    }
    return {
        **lists,
        "ceiling_noop": spec("ceiling_noop", "noop", c),
        "ceiling_noop_recheck": spec("ceiling_noop_recheck", "noop", c),
        "ceiling_insert": spec("ceiling_insert", "insert", c, workspace_id=ceiling_ws),
        "create_cold": spec("create_cold", "create_cold", c),
        "create_cache_hit": spec("create_cache_hit", "create_cache_hit", c, **hit),
        "create_slot_hit": spec("create_slot_hit", "create_slot_hit", c),
        "ceiling_celery_noop": spec(
            "ceiling_celery_noop",
            "celery_noop",
            1,
            broker_url=args.broker_url,
            redis_url=args.redis_url,
        ),
        "post_to_completed_c1": spec("post_to_completed_c1", "post_to_completed", 1),
        "post_to_completed_c4": spec(
            "post_to_completed_c4", "post_to_completed", args.p2c_concurrency
        ),
        "post_to_completed_wait_c1": spec(
            "post_to_completed_wait_c1", "post_to_completed_wait", 1, wait_on="post"
        ),
        "post_to_completed_getwait_c1": spec(
            "post_to_completed_getwait_c1", "post_to_completed_wait", 1, wait_on="get"
        ),
    }


def run_telemetry(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """Run bench/telemetry_bench.py in its own process (Django set up on the telemetry
    bench database) and return its JSON document; progress is teed to the terminal and
    bench/out/telemetry.log."""
    out_json, out_log = OUT_DIR / "telemetry.json", OUT_DIR / "telemetry.log"
    cmd = [
        sys.executable,
        str(BENCH_DIR / "telemetry_bench.py"),
        *("--events", str(args.telemetry_events), "--reps", str(args.telemetry_reps)),
        *("--sizes", args.telemetry_sizes, "--redis-url", args.telemetry_redis_url),
    ]
    print(f"telemetry micro-benchmarks on {args.telemetry_redis_url}...", flush=True)
    with out_json.open("w") as stdout, out_log.open("w") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env={**env, "REDIS_URL": args.telemetry_redis_url},
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
        )
        watchdog = threading.Timer(TELEMETRY_TIMEOUT_S, proc.kill)
        watchdog.start()
        try:
            assert proc.stderr is not None
            for line in proc.stderr:
                print(line, end="", flush=True)
                log.write(line)
            rc = proc.wait()
        finally:
            watchdog.cancel()
            if proc.poll() is None:  # interrupted: do not leave it running
                proc.kill()
                proc.wait()
    try:
        doc: dict[str, Any] = json.loads(out_json.read_text())
    except ValueError:
        return {
            "ok": False,
            "errors": [
                f"telemetry_bench.py exited with {rc} without a result (timeout "
                f"{TELEMETRY_TIMEOUT_S:.0f} s), see {out_log.relative_to(ROOT)}"
            ],
        }
    doc["exit_status"] = rc
    return doc


def run(args: argparse.Namespace, stack: Stack) -> dict[str, Any]:
    wall = time.monotonic()
    load_avg = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    env = bench_env(args)
    http = [name for name in args.scenario_list if name not in ("telemetry", "budgets", "events")]
    use_stack = bool(http) or args.serve
    if use_stack or "budgets" in args.scenario_list:
        print("preparing PostgreSQL, Redis, migrations...", flush=True)
        database_ensure(args.database_url)
        redis_flush(args.redis_url, args.broker_url)
        manage(env, "migrate", "--noinput", "-v", "0")
        django_setup(env)
    results: dict[str, Any] = {
        "config": {
            "duration": args.duration,
            "warmup": args.warmup,
            "concurrency": args.concurrency,
            "procs": args.procs,
            "p2c_concurrency": args.p2c_concurrency,
            "poll_interval": args.poll_interval,
            "scenarios": args.scenario_list,
        },
        "environment": environment(args, with_db=use_stack, load_avg=load_avg),
        "scenarios": {},
    }
    if args.peer:  # install before anything is measured: a failed install costs no run
        from bench import peer_litellm

        peer_install = peer_litellm.venv_ensure()
    # Before the stack starts: nothing of the benchmark's own competes for the CPUs.
    if "telemetry" in args.scenario_list and not args.serve:
        results["telemetry"] = run_telemetry(args, env)
    if "budgets" in args.scenario_list and not args.serve:
        print("budgets micro-benchmarks...", flush=True)
        results["budgets"] = run_budgets(env)
    if "events" in args.scenario_list and not args.serve:
        results["events"] = events_bench.run_from_harness(args.database_url, args.redis_url)
    if use_stack:
        run_http(args, stack, env, http, results)
    if args.peer:  # alone on the machine, as genpipe's scenarios were
        stack.stop()
        results["peer"] = peer_litellm.run(
            args, stack, peer_install, results["scenarios"], results.get("rounds")
        )
    results["wall_s"] = time.monotonic() - wall
    return results


def run_http(
    args: argparse.Namespace,
    stack: Stack,
    env: dict[str, str],
    names: list[str],
    results: dict[str, Any],
) -> None:
    ceiling_ws = data_prepare()
    token = manage(
        env, "create_api_token", "bench", "--workspace", WORKSPACE, "--create-workspace"
    ).strip()
    sizes = list_sizes(names)
    tokens = list_tokens(env, sizes)
    port = free_port()

    print(f"starting gunicorn on 127.0.0.1:{port} and the Celery worker...", flush=True)
    stack.start("gunicorn", [sys.executable, *serving.wsgi_args(port)], env)
    stack.start("celery", [sys.executable, *serving.celery_args()], env)
    asgi_port = 0
    if any(name in serving.ASGI_SCENARIOS for name in names) or args.serve:
        asgi_port = free_port()
        print(f"starting the ASGI server on 127.0.0.1:{asgi_port}...", flush=True)
        stack.start("asgi", [sys.executable, *serving.asgi_args(asgi_port)], env)
    wait_http(stack, port, token)
    if asgi_port:
        wait_http(stack, asgi_port, token, name="asgi")
    hit = cache_hit_params()
    warm = warm_create(stack, port, token, hit["body"])
    if "create_slot_hit" in names:  # its fixed scenes' slot, taken by one completed create
        warm_create(stack, port, token, slot_hit_body())
    print(f"stack ready (warm-up generation {warm['id']} completed)", flush=True)
    if sizes:  # the warm-up generation, completed through the API, is the template row
        results["list_seed"] = list_seed(warm["id"], sizes)

    if args.serve:
        print(
            f"serving: --port {port} --token {token} --workspace-id {ceiling_ws}\n"
            f"e.g. {sys.executable} bench/load.py --port {port} --token {token} "
            f"--workspace-id {ceiling_ws} --scenario create_cold\n"
            f"ASGI server (Prefer: wait, streams): --port {asgi_port}\nCtrl-C stops the stack.",
            flush=True,
        )
        for size, list_token in tokens.items():
            print(
                f"list {size}: --token {list_token} --scenario list "
                '--list-query "status=failed&limit=50" [--list-page2]',
                flush=True,
            )
        while True:
            stack.check_alive()
            time.sleep(1)
    target = Target("127.0.0.1", port, token)
    asgi_target = Target("127.0.0.1", asgi_port, token)
    specs = scenario_specs(args, ceiling_ws, hit)
    list_targets = {size: Target("127.0.0.1", port, t) for size, t in tokens.items()}

    def measure(name: str) -> dict[str, Any]:
        spec = specs[name]
        stack.check_alive()
        probe = CpuProbe(stack, urlsplit(args.database_url).path.lstrip("/"))
        size = LIST_SCENARIOS.get(name, ("",))[0]
        aimed = asgi_target if name in serving.ASGI_SCENARIOS else list_targets.get(size, target)
        result = run_scenario(aimed, spec, hook=probe.hook)
        result["cpu"] = probe.delta(result["requests_window"])
        if spec.op in ("create_cold", "post_to_completed", "post_to_completed_wait"):
            result["drain"] = wait_drained()
        if spec.op.startswith("post_to_completed"):
            result["rows"] = row_timings(result["generation_ids"])
            if args.trace:
                traced = latency.stamps(result["client_times"], args.redis_url)
                result["trace"] = latency.breakdown(traced)
                latency.trace_clear(args.redis_url)
        lat = result["latency"]
        print(
            f"{name:<22} {result['rps']:8.1f} req/s  p50 {lat.get('p50_ms', 0):7.2f} ms  "
            f"p95 {lat.get('p95_ms', 0):7.2f} ms  p99 {lat.get('p99_ms', 0):7.2f} ms  "
            f"errors {result['errors']}",
            flush=True,
        )
        for sample in result["error_samples"]:
            print(f"    error {sample['status']}: {sample['error'][:200]}", flush=True)
        return result

    for name in names:
        results["scenarios"][name] = measure(name)
    again = rounds.round_scenarios(names)
    if args.rounds > 1 and again:
        first = {name: results["scenarios"][name] for name in again}
        results["rounds"] = [first, *rounds.run_rounds(args.rounds, again, measure)]
    stack.check_alive()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    # Also when started from a non-interactive shell with "&", which ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stack = Stack()
    try:
        results = run(args, stack)
    except KeyboardInterrupt:
        print("interrupted: stopping the stack", file=sys.stderr)
        return 130
    finally:
        stack.stop()
    RESULTS_JSON.write_text(json.dumps(results, indent=2, default=str))
    if not args.no_markdown:
        RESULTS_MD.write_text(render_markdown(results))
    print(f"wrote {RESULTS_JSON.relative_to(ROOT)}", flush=True)
    if not args.no_markdown:
        print(f"wrote {RESULTS_MD.relative_to(ROOT)}", flush=True)
    errors = sum(r["errors"] for r in results["scenarios"].values())
    peer = results.get("peer", {})
    errors += sum(r["errors"] for r in peer.get("scenarios", {}).values()) + bool(peer.get("error"))
    telemetry = results.get("telemetry")
    if telemetry is not None:
        for target in telemetry.get("targets", []):
            verdict = {True: "PASS", False: "FAIL", None: "n/a"}[target["pass"]]
            print(f"telemetry target {target['target']}: {verdict}", flush=True)
        for error in telemetry.get("errors", []):
            print(f"telemetry error: {error}", flush=True)
        errors += not telemetry.get("ok")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
