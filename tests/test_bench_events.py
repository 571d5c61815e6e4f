"""bench/events_bench.py, run by the harness: an interrupted run stops the server it
started in a session of its own instead of leaving it running."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bench import events_bench

# Stands in for events_bench.py: a "server" in its own session, stopped in a finally.
CHILD = textwrap.dedent(
    """
    import os, signal, subprocess, sys, time
    from pathlib import Path
    # An interrupt that came before the try (a slow start on a busy machine) would skip
    # the finally: it waits, blocked, until the server is there to be stopped.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    out = Path(sys.argv[1])
    server = subprocess.Popen(["sleep", "120"], start_new_session=True)
    (out / "server.pid").write_text(str(server.pid))
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        time.sleep(120)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()
        (out / "stopped").write_text("yes")
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_an_interrupted_run_stops_the_server_it_started(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    with (tmp_path / "log").open("w") as log, pytest.raises(subprocess.TimeoutExpired):
        # Out of time as an interrupted run is: the child is interrupted, not killed.
        events_bench.run_interruptibly(
            [sys.executable, str(script), str(tmp_path)], log, timeout_s=3
        )
    server = int((tmp_path / "server.pid").read_text())
    assert (tmp_path / "stopped").read_text() == "yes"
    deadline = time.monotonic() + 5
    while _alive(server) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(server)


def test_a_finished_run_gives_its_exit_status(tmp_path: Path) -> None:
    with (tmp_path / "log").open("w") as log:
        status = events_bench.run_interruptibly(
            [sys.executable, "-c", "print('done'); raise SystemExit(3)"], log, timeout_s=30
        )
    assert status == 3
    assert (tmp_path / "log").read_text() == "done\n"
