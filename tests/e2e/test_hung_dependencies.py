"""A hung or dead Redis cannot stall a request: real gunicorn, real redis-server, signals.

Each test starts a private ``redis-server`` on a free port (cache, telemetry and broker all
on it) and a gunicorn with the README's worker class on the test database, then freezes
(SIGSTOP) or removes the Redis and measures what a client sees.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core.management import call_command
from django.db import connection

from generations.models import Generation
from tests.builders import create_body
from tests.conftest import IN_CI  # in CI a missing redis-server fails, never skips
from tests.ports import free_port

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        shutil.which("redis-server") is None and not IN_CI, reason="needs redis-server"
    ),
]
ROOT = Path(__file__).resolve().parents[2]
URL = "/api/v1/generations"
# The bound README "Timeouts" documents for a create while Redis hangs is about 1 s; the
# assertions allow a generous multiple for a loaded two-core CI machine.
CREATE_BOUND_S = 3.0
HANG_S = 10.0


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class PrivateRedis:
    port: int
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = redis.Redis(port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5)

        def pong() -> bool:
            with contextlib.suppress(redis.RedisError):
                return bool(client.ping())
            return False

        wait_until(pong, 10, f"redis-server on {self.port}")

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
        self.process.wait()
        self.process = None

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def stack_env(redis_port: int, queue: str) -> dict[str, str]:
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        CELERY_BROKER_URL=f"redis://127.0.0.1:{redis_port}/1",
        CELERY_TASK_DEFAULT_QUEUE=queue,
        DJANGO_SETTINGS_MODULE="genpipe_site.settings",
        DJANGO_DEBUG="0",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        GENPIPE_ACCESS_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


@dataclass
class Server:
    port: int
    env: dict[str, str]
    log: Path
    token: str

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 60
    ) -> tuple[int, dict[str, Any], float]:
        """Status, JSON body and seconds taken."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"Host": "127.0.0.1", "Authorization": f"Token {self.token}"}
        payload = None
        if body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        elapsed = time.perf_counter() - started
        return response.status, (json.loads(data) if data else {}), elapsed

    def create(self, prompt: str) -> tuple[int, dict[str, Any], float]:
        body = create_body(config={"strategy": "always", "prompt": prompt})
        return self.request("POST", URL, body)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def server(private_redis: PrivateRedis, sandbox: Any, tmp_path: Path) -> Iterator[Server]:
    out = io.StringIO()
    call_command(
        "create_api_token", "hung-redis", "--workspace", "hung", "--create-workspace", stdout=out
    )
    port = free_port()
    env = stack_env(private_redis.port, f"hung-{port}")
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "genpipe_site.wsgi",
                "-k",
                "gthread",
                "--workers",
                "1",
                "--threads",
                "4",
                "--timeout",
                "30",
                "-b",
                f"127.0.0.1:{port}",
            ],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    srv = Server(port, env, log, out.getvalue().strip())

    def up() -> bool:
        assert process.poll() is None, log.read_text()
        with contextlib.suppress(OSError):
            return srv.request("GET", "/healthz", timeout=2)[0] == 200
        return False

    try:
        wait_until(up, 30, "gunicorn")
        yield srv
    finally:
        private_redis.signal(signal.SIGCONT)
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def parallel(calls: list[Any]) -> list[Any]:
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            results[index] = calls[index]()
        except Exception as exc:  # reported by the assertions below
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def test_creates_answer_within_the_bound_while_redis_hangs(server, private_redis):
    status, body, warm = server.create("warm-up")  # connections to Redis exist before the hang
    assert status == 201, body
    private_redis.signal(signal.SIGSTOP)
    thaw = threading.Timer(HANG_S, private_redis.signal, args=(signal.SIGCONT,))
    thaw.start()  # a hang of HANG_S at most, so a regression fails instead of blocking

    def probe() -> float:
        time.sleep(0.3)  # the creates are in flight by now
        return server.request("GET", "/healthz")[2]

    results = parallel([lambda i=i: server.create(f"hang {i}") for i in range(8)] + [probe])
    creates, healthz = results[:-1], results[-1]
    for result in creates:
        assert not isinstance(result, Exception), result
    latencies = sorted(elapsed for _, _, elapsed in creates)
    print(f"warm create {warm:.3f}s; hung creates {latencies}; healthz {healthz:.3f}s")
    assert [status for status, _, _ in creates] == [201] * 8, creates
    assert latencies[-1] < CREATE_BOUND_S, latencies
    assert healthz < CREATE_BOUND_S, healthz

    ids = [body["id"] for _, body, _ in creates]
    rows = Generation.objects.filter(id__in=ids)
    assert sorted(str(g.id) for g in rows) == sorted(ids)
    assert {g.status for g in rows} == {"pending"}

    # Redis comes back: the sweeper hands every unpublished row to the broker.
    thaw.cancel()
    private_redis.signal(signal.SIGCONT)
    time.sleep(1.1)  # the sweeper's smallest --pending-after is 1 s
    sweep = subprocess.run(
        [sys.executable, "manage.py", "sweep_generations", "--pending-after", "1"],
        cwd=ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert sweep.returncode == 0, sweep.stdout + sweep.stderr
    broker = redis.Redis.from_url(private_redis.url(1))
    queue = server.env["CELERY_TASK_DEFAULT_QUEUE"]
    queued = b"".join(  # one list per priority step: "<queue>", "<queue>\x06\x16<priority>"
        b"".join(broker.lrange(key, 0, -1)) for key in broker.scan_iter(f"{queue}*")
    )
    for generation_id in ids:
        assert generation_id.encode() in queued

    # A create after the hang publishes at once again.
    status, body, _ = server.create("after the hang")
    assert status == 201, body
    assert body["id"].encode() in b"".join(
        b"".join(broker.lrange(key, 0, -1)) for key in broker.scan_iter(f"{queue}*")
    )
    # One warning per dependency for the whole hang, one recovery line each, no traceback.
    log = server.log_text()
    redis_name = f"redis 127.0.0.1:{private_redis.port}"
    assert_one_outage(log, redis_name)
    assert_one_outage(log, "broker")


def outage_lines(log: str, dependency: str) -> tuple[list[str], list[str]]:
    warnings = [line for line in log.splitlines() if f"{dependency} unavailable:" in line]
    recoveries = [line for line in log.splitlines() if f"{dependency} recovered after" in line]
    return warnings, recoveries


def assert_one_outage(log: str, dependency: str) -> None:
    warnings, recoveries = outage_lines(log, dependency)
    assert len(warnings) == 1, log
    assert " WARNING genpipe.outage " in warnings[0]
    assert len(recoveries) == 1, log
    assert " INFO genpipe.outage " in recoveries[0]
    assert "Traceback" not in log
    assert "Exception ignored" not in log


def test_dead_redis_logs_one_warning_per_outage_and_one_recovery(server, private_redis):
    assert server.create("warm-up")[0] == 201
    private_redis.stop()  # connections refused from now on

    for i in range(6):
        status, body, elapsed = server.create(f"redis down {i}")
        assert status == 201, body
        assert elapsed < CREATE_BOUND_S
        status, _, _ = server.request("GET", f"{URL}/{body['id']}")
        assert status == 200
        time.sleep(0.2)  # spread over the fail-fast window, so some calls really try
    pending = Generation.objects.filter(status="pending").count()
    assert pending >= 6

    private_redis.start()  # same port, empty
    time.sleep(1.1)  # past the fail-fast window
    for i in range(3):
        assert server.create(f"redis back {i}")[0] == 201
    log = server.log_text()
    assert_one_outage(log, f"redis 127.0.0.1:{private_redis.port}")
    assert_one_outage(log, "broker")
    warning = outage_lines(log, "broker")[0][0]
    assert "OperationalError" in warning and "Connection refused" in warning, warning
