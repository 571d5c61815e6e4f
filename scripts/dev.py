#!/usr/bin/env python3
"""genpipe developer commands. Standard library only; needs Python 3.11+ and nothing else.

    python3 scripts/dev.py run [--port 8000]    the service with demo data, worker included
    python3 scripts/dev.py test [pytest args]   the test suite (-n auto unless -n is given),
                                                then the fault tests serially (tests/chaos)
    python3 scripts/dev.py check                ruff, ruff format --check, mypy, migrations,
                                                import-linter's layers

Every command first makes sure the virtualenv exists (``GENPIPE_VENV``, default ``.venv``,
relative to the repository root) and holds ``pip install -e '.[dev]'`` of the current
``pyproject.toml``; a stamp file in the virtualenv with the file's SHA-256 skips the
install while it is unchanged.

``run`` uses whatever ``DATABASE_URL``, ``REDIS_URL`` and ``CELERY_BROKER_URL`` say; with
none of them set it is the embedded default (SQLite, database cache and the filesystem
broker, all under ``GENPIPE_VAR_DIR``, default ``./var``). It migrates, loads the demo the
first time (``load_demo --once``: later starts change nothing, so settings edited in the
admin stay), starts a Celery worker (its log goes to ``var/log/worker.log``) and the web
server (uvicorn on the ASGI application: the API, the admin and its static files, the SSE
streams and the WebSocket), each in its own process group, prints the banner once both are
ready, and stops both on Ctrl-C or when the web server dies. A worker that exits is
restarted (it stops everything only when it exits 3 times in a row within 10 s of
starting). POSIX (Linux, macOS) only.

``test`` uses PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 when they are up and
the URLs are not set; with ``CI=true`` both are required (exit code 2 when missing).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
STAMP_NAME = ".genpipe-install.sha256"
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")
POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql", "postgis")
DETECTED_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/genpipe"
DETECTED_REDIS_URL = "redis://127.0.0.1:6379/1"
DETECTED_BROKER_URL = "redis://127.0.0.1:6379/2"
DEMO_LOGIN = ("demo", "demo-password")  # load_demo's documented local-only login
# `run` restarts a worker that exits; one that exits this many times in a row within
# WORKER_QUICK_EXIT_S of its start is broken, and stops everything.
WORKER_QUICK_EXITS = 3
WORKER_QUICK_EXIT_S = 10.0
WORKER_READY_S = 60.0  # the banner waits this long for the worker's "ready" at most


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def die(message: str, code: int = 1) -> NoReturn:
    print(f"[dev] error: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def show(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def call(command: list[str], env: dict[str, str] | None = None) -> int:
    """Run a command in the repository root; its exit code.

    A first Ctrl-C reaches the child too (same process group) and is left to it, so pytest
    can report and exit on its own; a second one kills it.
    """
    proc = subprocess.Popen(command, cwd=ROOT, env=env)
    interrupted = False
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:
            if interrupted:
                proc.kill()
                raise
            interrupted = True


# --- virtualenv ---------------------------------------------------------------------------


def venv_dir() -> Path:
    path = Path(os.environ.get("GENPIPE_VENV") or ".venv")
    return path if path.is_absolute() else ROOT / path


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def bootstrap() -> Path:
    """Create the virtualenv if needed and install the project into it; its python."""
    venv = venv_dir()
    python = venv_python(venv)
    if not python.exists():
        command = [sys.executable, "-m", "venv"]
        if venv.exists() and any(venv.iterdir()):
            if not (venv / "pyvenv.cfg").exists():
                die(f"{venv} exists and is not a virtualenv; set GENPIPE_VENV to another path")
            command.append("--clear")  # a broken virtualenv (its python is gone)
        say(f"creating the virtualenv {show(venv)} ({sys.executable})")
        if subprocess.call([*command, str(venv)]) != 0:
            die("could not create the virtualenv (on Debian/Ubuntu: apt install python3-venv)")
    stamp = venv / STAMP_NAME
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text().strip() == digest:
        return python
    say(f"installing genpipe with its dev dependencies into {show(venv)} (pip install -e '.[dev]')")
    install = [str(python), "-m", "pip", "install", "--quiet", "-e", ".[dev]"]
    if subprocess.call(install, cwd=ROOT) != 0:
        die("pip install failed")
    stamp.write_text(digest + "\n")
    return python


# --- services -----------------------------------------------------------------------------


def redact(url: str) -> str:
    """The URL without its password."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def tcp_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def redis_reply(host: str, port: int, timeout: float = 0.5) -> bytes | None:
    """The first bytes Redis answers to PING, or ``None`` when nothing answers."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64) or None
    except OSError:
        return None


def url_endpoint(url: str, default_port: int) -> tuple[str, int] | None:
    """Host and port of a service URL; ``None`` when it has no TCP host (unix sockets)."""
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    try:
        port = parts.port or default_port
    except ValueError:
        return None
    return parts.hostname, port


def is_postgres(url: str) -> bool:
    return urlsplit(url).scheme in POSTGRES_SCHEMES


def var_dir(env: dict[str, str]) -> Path:
    path = Path(env.get("GENPIPE_VAR_DIR") or "var")
    return path if path.is_absolute() else ROOT / path


def backends(env: dict[str, str]) -> tuple[str, str, str]:
    """Human descriptions of the database, cache and broker the settings will pick."""
    database_url, redis_url = env.get("DATABASE_URL", ""), env.get("REDIS_URL", "")
    if not database_url:
        database = f"SQLite {show(var_dir(env) / 'genpipe.sqlite3')}"
    elif is_postgres(database_url):
        database = f"PostgreSQL {redact(database_url)}"
    else:
        database = redact(database_url)
    cache = f"Redis {redact(redis_url)}" if redis_url else "database cache"
    broker_url = env.get("CELERY_BROKER_URL") or redis_url or "filesystem://"
    broker = (
        f"filesystem broker {show(var_dir(env) / 'broker')}"
        if broker_url.startswith("filesystem://")
        else redact(broker_url)
    )
    return database, cache, broker


def embedded_env() -> dict[str, str]:
    """The environment without any service URL: the settings' embedded default."""
    return {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}


# --- run ----------------------------------------------------------------------------------


class Stop(Exception):
    """SIGTERM or SIGHUP received: shut down like on Ctrl-C."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


def manage(python: Path, env: dict[str, str], *args: str) -> None:
    say("manage.py " + " ".join(args))
    code = subprocess.call([str(python), "manage.py", *args], cwd=ROOT, env=env)
    if code != 0:
        die(f"manage.py {args[0]} failed (exit code {code})", code)


def load_demo(python: Path, env: dict[str, str]) -> tuple[str | None, tuple[str, str]]:
    """Run ``load_demo --once`` (the first start loads the demo, later ones change
    nothing), echoing its output; the API token and login it printed."""
    say("manage.py load_demo --once")
    proc = subprocess.Popen(
        [str(python), "manage.py", "load_demo", "--once"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    token, login = None, DEMO_LOGIN
    assert proc.stdout is not None
    for line in proc.stdout:
        print(line, end="", flush=True)
        if match := re.match(r"^API token: (\S+)", line):
            token = match.group(1)
        if match := re.match(r"^Demo login[^:]*: (\S+) / (\S+)", line):
            login = (match.group(1), match.group(2))
    if proc.wait() != 0:
        die(f"manage.py load_demo failed (exit code {proc.returncode})", proc.returncode)
    if token is None:
        token = (
            subprocess.run(
                [str(python), "manage.py", "create_api_token", login[0], "--workspace", "demo"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            ).stdout.strip()
            or None
        )
    return token, login


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def spawn(
    command: list[str], env: dict[str, str], log: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start ``command`` in a session of its own (Ctrl-C reaches only this script, which
    stops the group); its output is appended to ``log`` when given."""
    if log is None:
        return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, start_new_session=True, stdout=out, stderr=out
        )


def log_since(log: Path, offset: int) -> str:
    """What ``log`` received after byte ``offset``."""
    try:
        with log.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def log_size(log: Path) -> int:
    return log.stat().st_size if log.exists() else 0


def signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def stop_all(procs: dict[str, subprocess.Popen[bytes]], timeout: float = 15.0) -> None:
    """SIGTERM every process group, wait, then SIGKILL what is left."""
    for proc in procs.values():
        signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    try:
        for proc in procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    except (KeyboardInterrupt, Stop):
        say("stopping right now")
    for name, proc in procs.items():
        if proc.poll() is None:
            say(f"the {name} did not stop in time: killing it")
        signal_group(proc, signal.SIGKILL)  # also reaps leftovers of a stopped group
        proc.wait()


def banner(
    port: int, token: str | None, login: tuple[str, str], env: dict[str, str], ready: bool
) -> str:
    base = f"http://127.0.0.1:{port}"
    database, cache, broker = backends(env)
    auth = f"Authorization: Token {token or '<token>'}"
    body = (
        '{"config": {"generation_type": "text_to_image", "purpose": "adaptive", '
        '"strategy": "once", "seed_source": "fixed", "prompt": "a lighthouse at dusk"}}'
    )
    rule = "=" * 78
    lines = [
        rule,
        "genpipe is running",
        f"  Admin      {base}/admin/",
        f"  Login      {login[0]} / {login[1]}   (demo account, local use only)",
        f"  API        {base}/api/v1/generations",
        f"  API docs   {base}/api/docs/",
        f"  Events     {base}/api/v1/generations/events (SSE)",
        f"  WebSocket  ws://127.0.0.1:{port}/ws/v1/generations",
        f"  API token  {token or '(unknown: manage.py create_api_token demo --workspace demo)'}",
        f"  Backends   {database}; {cache}; {broker}",
        f"  Worker log {show(worker_log(env))}"
        + ("" if ready else f"   (not ready after {WORKER_READY_S:.0f} s: look there)"),
        "",
        "Create a generation:",
        f"  curl -s -X POST {base}/api/v1/generations \\",
        f"    -H {shlex.quote(auth)} -H 'Content-Type: application/json' \\",
        f"    -d {shlex.quote(body)}",
        "Then follow it (use the id from the answer):",
        f"  curl -s -H {shlex.quote(auth)} {base}/api/v1/generations/<id>",
        f"  curl -sN -H {shlex.quote(auth)} {base}/api/v1/generations/<id>/events",
        "",
        "Ctrl-C stops the server and the worker.",
        rule,
    ]
    return "\n".join(lines)


def metrics_dir_prepare(env: dict[str, str]) -> Path:
    """The folder where the dev server and the worker write their metrics (docs/metrics.md),
    so `/metrics` shows the worker's provider calls too: ``PROMETHEUS_MULTIPROC_DIR`` when
    set, else ``GENPIPE_VAR_DIR/prometheus``, emptied here (before either process starts)."""
    if env.get("PROMETHEUS_MULTIPROC_DIR"):
        return Path(env["PROMETHEUS_MULTIPROC_DIR"])
    folder = var_dir(env) / "prometheus"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return folder


def worker_log(env: dict[str, str]) -> Path:
    return var_dir(env) / "log" / "worker.log"


def cmd_run(port: int) -> int:
    python = bootstrap()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    metrics_dir_prepare(env)
    database, cache, broker = backends(env)
    mode = "embedded default" if not any(env.get(v) for v in SERVICE_VARS) else "from env"
    say(f"backends ({mode}): {database}; {cache}; {broker}")
    if not port_free(port):
        die(f"port {port} on 127.0.0.1 is in use; pick another with --port")
    manage(python, env, "migrate", "--no-input")  # also creates the database cache table
    token, login = load_demo(python, env)

    worker_cmd = [str(python), "-m", "celery", "-A", "genpipe_site", "worker"]
    worker_cmd += ["--pool=threads", "--concurrency=4", "--loglevel=INFO", "-n", "genpipe-dev@%h"]
    # ASGI, so the event streams and the WebSocket work here too; WhiteNoise serves the
    # static files from the apps' folders (DEBUG), as runserver did.
    server_cmd = [str(python), "-m", "uvicorn", "genpipe_site.asgi:application"]
    server_cmd += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    server_cmd += ["--timeout-graceful-shutdown", "5"]  # open streams never end by themselves
    procs: dict[str, subprocess.Popen[bytes]] = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_stop)
    # Ctrl-C stops everything even when this script inherited SIGINT ignored (started in the
    # background of a script, as `cmd &` does): Python then installs no handler of its own,
    # so the signal would do nothing, and a later kill would leave the server and the worker
    # running in their own sessions.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        log = worker_log(env)
        say(f"starting the Celery worker (its log: {show(log)}): " + shlex.join(worker_cmd[1:]))
        log_offset = log_size(log)
        procs["celery worker"] = spawn(worker_cmd, env, log)
        say("starting the dev server: " + shlex.join(server_cmd[1:]))
        procs["dev server"] = spawn(server_cmd, env)
        announced = False
        worker_started, quick_exits = time.monotonic(), 0
        run_started = worker_started
        while True:
            for name, proc in procs.items():
                code = proc.poll()
                if code is None:
                    continue
                if name == "celery worker" and quick_exits < WORKER_QUICK_EXITS:
                    # A worker that dies (e.g. on a broker connection loss) comes back, as
                    # under the production supervisor; one that cannot start stops all.
                    lived = time.monotonic() - worker_started
                    quick_exits = quick_exits + 1 if lived < WORKER_QUICK_EXIT_S else 0
                    say(f"the {name} exited (code {code}) after {lived:.0f} s; restarting it")
                    tail = log_since(log, log_offset).splitlines()[-5:]
                    print("".join(f"  | {line}\n" for line in tail), end="", flush=True)
                    signal_group(proc, signal.SIGKILL)  # leftovers of its process group
                    time.sleep(1)
                    log_offset = log_size(log)
                    procs[name] = spawn(worker_cmd, env, log)
                    worker_started = time.monotonic()
                    break
                others = " and ".join(n for n in procs if n != name)
                where = f" (its log: {show(log)})" if name == "celery worker" else ""
                say(f"the {name} exited (code {code}){where}; stopping the {others}")
                stop_all(procs)
                return code if code > 0 else 128 - code if code < 0 else 1
            if not announced and tcp_open("127.0.0.1", port, timeout=0.2):
                # After the worker's "ready" line (in its log), so nothing buries the banner.
                ready = " ready." in log_since(log, log_offset)
                if ready or time.monotonic() - run_started > WORKER_READY_S:
                    print("\n" + banner(port, token, login, env, ready) + "\n", flush=True)
                    announced = True
            time.sleep(0.3)
    except (KeyboardInterrupt, Stop):
        print(flush=True)
        say("stopping the dev server and the Celery worker")
        stop_all(procs)
        say("stopped")
        return 0


# --- test ---------------------------------------------------------------------------------


def ci_problems(env: dict[str, str]) -> list[str]:
    """Why the services CI requires are not usable, one line each."""
    problems = []
    database_url = env.get("DATABASE_URL", "")
    if not database_url:
        problems.append("PostgreSQL: DATABASE_URL is unset and 127.0.0.1:5432 does not answer")
    elif not is_postgres(database_url):
        problems.append(f"PostgreSQL: DATABASE_URL is not PostgreSQL ({redact(database_url)})")
    elif (endpoint := url_endpoint(database_url, 5432)) and not tcp_open(*endpoint, timeout=2):
        problems.append(f"PostgreSQL: {redact(database_url)} does not accept connections")
    redis_url = env.get("REDIS_URL", "")
    if not redis_url:
        problems.append("Redis: REDIS_URL is unset and 127.0.0.1:6379 does not answer")
    elif (endpoint := url_endpoint(redis_url, 6379)) and not (
        tcp_open(*endpoint, timeout=2)
        if urlsplit(redis_url).scheme == "rediss"
        else redis_reply(*endpoint, timeout=2)
    ):
        problems.append(f"Redis: {redact(redis_url)} does not answer")
    return problems


CHAOS_TESTS = "tests/chaos"
XDIST_VALUED = ("-n", "--numprocesses", "--dist", "--maxprocesses")


def selects_tests(args: list[str]) -> bool:
    """Whether pytest arguments name what to run (a path or ``-m``): then it runs as given."""
    for arg in args:
        if arg == "-m" or (arg.startswith("-m") and not arg.startswith("--")):
            return True
        if not arg.startswith("-") and (ROOT / arg.split("::")[0]).exists():
            return True
    return False


def without_xdist(args: list[str]) -> list[str]:
    """The arguments minus xdist's options (``-n 4``, ``-n4``, ``--dist=load``, ...)."""
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in XDIST_VALUED:
            skip = True
        elif not arg.startswith(XDIST_VALUED):
            out.append(arg)
    return out


def cmd_test(pytest_args: list[str]) -> int:
    """pytest under xdist; then, unless the arguments pick tests, the fault tests (marker
    ``chaos``) serially: each run starts its own private stack and must not share the
    machine's two cores with a parallel suite."""
    python = bootstrap()
    env = dict(os.environ)
    detected = set()
    if not env.get("DATABASE_URL") and tcp_open("127.0.0.1", 5432):
        env["DATABASE_URL"] = DETECTED_DATABASE_URL
        detected.add("DATABASE_URL")
    if not env.get("REDIS_URL") and (redis_reply("127.0.0.1", 6379) or b"").startswith(b"+PONG"):
        env["REDIS_URL"] = DETECTED_REDIS_URL
        detected.add("REDIS_URL")
        if not env.get("CELERY_BROKER_URL"):
            env["CELERY_BROKER_URL"] = DETECTED_BROKER_URL
            detected.add("CELERY_BROKER_URL")
    if truthy(env.get("CI")):
        problems = ci_problems(env)
        if problems:
            for problem in problems:
                print(f"[dev] CI requires {problem}", file=sys.stderr)
            return 2

    args = list(pytest_args)
    picked = selects_tests(args)
    parallel = not any(
        a.startswith(("-n", "--numprocesses", "--dist")) or a == "no:xdist" for a in args
    ) and not any(CHAOS_TESTS in a for a in args)  # one private stack per session
    if parallel:
        args = ["-n", "auto", *args]
    if not picked:
        args = [*args, "-m", "not chaos"]
    database, cache, _ = backends(env)
    marks = {
        "DATABASE_URL": " (detected)" if "DATABASE_URL" in detected else "",
        "REDIS_URL": " (detected)" if "REDIS_URL" in detected else "",
    }
    broker = env.get("CELERY_BROKER_URL") or env.get("REDIS_URL") or "filesystem://"
    say(
        f"tests use: database {database}{marks['DATABASE_URL']}; "
        f"cache {cache}{marks['REDIS_URL']}; broker {redact(broker)} (tasks run eagerly "
        f"except worker tests); {'xdist -n auto' if parallel else 'xdist as given'}"
    )
    code = call([str(python), "-m", "pytest", *args], env=env)
    if picked:
        return code
    say(f"fault tests ({CHAOS_TESTS}, serial, on a private PostgreSQL, Redis, web and worker)")
    chaos = [str(python), "-m", "pytest", "-p", "no:xdist", *without_xdist(pytest_args)]
    chaos_code = call([*chaos, "-m", "chaos", CHAOS_TESTS], env=env)
    if chaos_code == 5:  # -k or the like left no fault test to run
        chaos_code = 0
    return code or chaos_code


# --- check --------------------------------------------------------------------------------


def cmd_check() -> int:
    python = str(bootstrap())
    steps = [
        ("ruff check", [python, "-m", "ruff", "check", "."]),
        ("ruff format --check", [python, "-m", "ruff", "format", "--check", "."]),
        ("mypy", [python, "-m", "mypy", "."]),
        (
            "makemigrations --check",
            [python, "manage.py", "makemigrations", "--check", "--dry-run"],
        ),
        # The apps depend one way (docs/architecture.md; the contract is in pyproject.toml).
        ("lint-imports", [str(Path(python).parent / "lint-imports"), "--no-cache"]),
    ]
    failed = []
    with tempfile.TemporaryDirectory(prefix="genpipe-check-") as var:
        # The embedded default, in a throwaway var dir: checks never touch ./var.
        env = dict(embedded_env(), GENPIPE_VAR_DIR=var)
        for name, command in steps:
            say(name)
            if call(command, env=env) != 0:
                failed.append(name)
    if failed:
        say("FAILED: " + ", ".join(failed))
        return 1
    say("all checks passed")
    return 0


# --- main ---------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="scripts/dev.py",
        description="genpipe developer commands (see the module docstring).",
    )
    commands = main.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="migrate, load the demo, start worker and server")
    run.add_argument("--port", type=int, default=8000, help="dev server port (default 8000)")
    test = commands.add_parser("test", help="run pytest (-n auto unless -n is given)")
    test.add_argument("pytest_args", nargs="*", help="passed to pytest unchanged")
    commands.add_parser("check", help="ruff, ruff format --check, mypy, makemigrations --check")
    return main


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - the script may be started by an older python3
        die("Python 3.11 or newer is required (run it with python3.11 or newer)")
    if argv[:1] == ["test"]:
        return cmd_test(argv[1:])  # everything after "test" belongs to pytest
    args = parser().parse_args(argv)
    if args.command == "run":
        return cmd_run(args.port)
    return cmd_check()


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
