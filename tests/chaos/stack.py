"""A private genpipe stack for fault tests: PostgreSQL, Redis, gunicorn and a Celery worker.

Every service listens on a free 127.0.0.1 port in a temporary directory of its own, each
process in its own process group, so a fault can kill exactly one of them and the
finalizer can kill all of them. Logs go to files (``Service.log``) that tests read.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path
from typing import Any

import psycopg
import requests

from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_TASK_DEFAULT_QUEUE")
# The provider credential the echoing fake provider gives back (tests/chaos: no real key).
PROVIDER_KEY_VAR = "GENPIPE_CHAOS_PROVIDER_KEY"


def wait_until(condition: Callable[[], Any], timeout: float, what: str, step: float = 0.1) -> Any:
    """Poll ``condition`` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not after {timeout:g} s")
        time.sleep(step)


def postgres_bindir() -> Path | None:
    for candidate in sorted(glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def missing_binaries() -> list[str]:
    missing = [] if postgres_bindir() else ["initdb/pg_ctl (PostgreSQL server)"]
    if not shutil.which("redis-server"):
        missing.append("redis-server")
    return missing


def children_of(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (Linux /proc)."""
    out = []
    for stat in glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            out.append(int(Path(stat).parent.name))
    return out


def tail(path: Path, lines: int = 400) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class Process:
    """A child process leading its own process group, output appended to ``log``."""

    name: str
    command: list[str]
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env or None,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was never started"
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal_group(self, sig: signal.Signals) -> None:
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, sig)

    def kill(self) -> None:
        """SIGKILL the whole group and reap the leader."""
        self.signal_group(signal.SIGKILL)
        if self.popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the group, then SIGKILL whatever is left."""
        if self.popen is None:
            return
        self.signal_group(signal.SIGCONT)  # a stopped process cannot act on SIGTERM
        self.signal_group(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=timeout)
        self.kill()

    def log_size(self) -> int:
        try:
            return self.log.stat().st_size
        except OSError:
            return 0

    def log_since(self, offset: int) -> str:
        try:
            with self.log.open("rb") as handle:
                handle.seek(offset)
                return handle.read().decode(errors="replace")
        except OSError:
            return ""


class Postgres:
    """A throwaway cluster: ``initdb`` + ``pg_ctl`` in ``root``, run as ``postgres`` as root."""

    def __init__(self, root: Path) -> None:
        bindir = postgres_bindir()
        assert bindir is not None
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.log = root / "postgres.log"
        self.port = free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, cwd="/")

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def dsn(self, database: str = "genpipe") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/genpipe"

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn(), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []


class Redis:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.process = Process(
            "redis",
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
                "--dir",
                str(root),
            ],
            root / "redis.log",
        )

    def start(self) -> None:
        self.process.start()
        wait_until(self.ping, 10, "redis-server answering PING")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.settimeout(0.5)
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


class Stack:
    """The whole private stack; ``Stack.up()`` starts it, ``Stack.down()`` removes it."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="genpipe-chaos-"))
        os.chmod(self.dir, 0o755)  # the postgres user must reach its data directory
        self.postgres = Postgres(self.dir / "pg")
        self.redis = Redis(self.dir)
        self.web_port = free_port()
        self.provider_key = "sk-chaos-" + secrets.token_hex(16)
        self.env = self._env()
        python = sys.executable
        self.web = Process(
            "web",
            [
                python,
                "-m",
                "gunicorn",
                "genpipe_site.wsgi",
                "-k",
                "gthread",
                "--workers",
                "2",
                "--threads",
                "4",
                "--timeout",
                "30",
                "-b",
                f"127.0.0.1:{self.web_port}",
            ],
            self.dir / "web.log",
            self.env,
        )
        self.worker = self._worker_process()
        self.tokens: dict[str, str] = {}
        self.base_url = f"http://127.0.0.1:{self.web_port}"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
        env.update(
            DATABASE_URL=self.postgres.url(),
            REDIS_URL=self.redis.url(0),
            CELERY_BROKER_URL=self.redis.url(1),
            DJANGO_SETTINGS_MODULE="genpipe_site.settings",
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY=secrets.token_urlsafe(40),
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            GENPIPE_VAR_DIR=str(self.dir / "var"),
            PYTHONUNBUFFERED="1",
            **{PROVIDER_KEY_VAR: self.provider_key},
        )
        env.pop("GENPIPE_ENV", None)
        return env

    def _worker_process(self) -> Process:
        command = [sys.executable, "-m", "celery", "-A", "genpipe_site", "worker"]
        command += ["--concurrency", "2", "-l", "info", "-n", f"chaos-{self.web_port}@%h"]
        return Process("worker", command, self.dir / "worker.log", self.env)

    # --- lifecycle ------------------------------------------------------------------------

    def up(self) -> None:
        self.postgres.init()
        self.postgres.start()
        with psycopg.connect(self.postgres.dsn("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE genpipe")
        self.redis.start()
        self.manage("migrate", "--no-input", "-v", "0")
        self.tokens = json.loads(self.shell(_USERS_SCRIPT))
        self.web.start()
        wait_until(self.web_ready, 30, "gunicorn answering /healthz", step=0.2)
        self.worker_start()

    def down(self) -> None:
        for process in (self.worker, self.web):
            process.stop()
        self.redis.process.stop()
        if self.postgres.data.exists():
            self.postgres.stop("immediate")
        keep = os.environ.get("GENPIPE_CHAOS_KEEP_LOGS")  # a folder: the logs are copied there
        if keep:
            for log in self.dir.glob("*.log"):
                shutil.copy(log, Path(keep) / log.name)
        shutil.rmtree(self.dir, ignore_errors=True)

    def restore(self) -> None:
        """Bring every service back after a test's fault (a no-op when all are up)."""
        self.redis.process.signal_group(signal.SIGCONT)
        if not self.redis.process.alive():
            self.redis.start()
        if not self.postgres.running():
            self.postgres.start()
        if not self.worker.alive():
            self.worker_start()
        if not self.web.alive():
            self.web.start()
            wait_until(self.web_ready, 30, "gunicorn answering /healthz", step=0.2)

    # --- helpers --------------------------------------------------------------------------

    def manage(self, *args: str, timeout: float = 120) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def shell(self, code: str) -> str:
        return self.manage("shell", "--no-imports", "-c", code).strip()

    def web_ready(self) -> bool:
        try:
            return requests.get(f"{self.base_url}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def worker_ready_since(self, offset: int) -> bool:
        return " ready." in self.worker.log_since(offset)

    def worker_start(self) -> None:
        offset = self.worker.log_size()
        self.worker = self._worker_process()
        self.worker.start()
        wait_until(lambda: self.worker_ready_since(offset), 60, "celery worker ready", step=0.2)

    def worker_pool_children(self) -> list[int]:
        return children_of(self.worker.pid)

    def provider_save(self, provider_id: str, **fields: Any) -> None:
        """Create or update a Provider row through the ORM (new fields get their defaults)."""
        self.shell(_PROVIDER_SCRIPT % json.dumps({"id": provider_id, "fields": fields}))

    def sweep(self, *args: str) -> str:
        return self.manage("sweep_generations", "-v", "2", *args)


_USERS_SCRIPT = """
import io, json
from django.contrib.auth import get_user_model
from django.core.management import call_command
tokens = {}
for name, slug in (("alice", "alpha"), ("bob", "beta"), ("root", "ops")):
    out = io.StringIO()
    call_command(
        "create_api_token", name, "--workspace", slug, "--create-workspace", stdout=out
    )
    tokens[name] = out.getvalue().strip()
get_user_model().objects.filter(username="root").update(is_staff=True, is_superuser=True)
print(json.dumps(tokens))
"""

_PROVIDER_SCRIPT = """
import json
from generations.models import OperationType, Provider
spec = json.loads(%r)
fields = {"name": spec["id"], "enabled": True,
          "operation_types": [c.value for c in OperationType], **spec["fields"]}
Provider.objects.update_or_create(id=spec["id"], defaults=fields)
"""


@contextlib.contextmanager
def running_stack() -> Iterator[Stack]:
    stack = Stack()
    try:
        stack.up()
        yield stack
    finally:
        stack.down()
