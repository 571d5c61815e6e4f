"""Fixtures of the fault tests: one private stack per session, a ledger after every test.

The stack (PostgreSQL, Redis, gunicorn, a Celery worker, all on free ports) starts once;
each test creates its own providers, so one test's provider health never reaches the next.
Outside CI the tests skip when ``initdb``/``redis-server`` are missing; in CI
(``CI=true``) that is an error. Run them serially: ``pytest -p no:xdist -m chaos``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from .ledger import LedgerResult, ledger_check
from .load import Api
from .stack import Stack, missing_binaries, running_stack, tail

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    missing = missing_binaries()
    if os.geteuid() == 0 and not shutil.which("runuser"):
        missing.append("runuser (to run PostgreSQL as the postgres user)")
    if missing:
        message = "chaos tests need " + ", ".join(missing)
        if IN_CI:
            pytest.fail(f"CI requires them: {message}")
        pytest.skip(message)
    with running_stack() as running:
        yield running


class Chaos:
    """What a test works with: the stack, a recording API client, and its ledger."""

    def __init__(self, stack: Stack, request: pytest.FixtureRequest) -> None:
        self.stack = stack
        self.api = Api(stack.base_url, stack.tokens)
        self.name = request.node.name
        self.since: datetime = stack.postgres.query("select clock_timestamp()")[0][0]
        self.web_log_offset = stack.web.log_size()
        self.worker_log_offset = stack.worker.log_size()
        self.result: LedgerResult | None = None
        self._request = request
        self._providers = 0

    def provider(self, adapter: str = "sandbox", **fields: Any) -> str:
        """A provider of this test's own (fresh telemetry, fresh breaker); its id."""
        self._providers += 1
        slug = re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")
        provider_id = f"{slug[-40:].strip('-')}-{self._providers}"
        fields.setdefault("settings", {"latency_ms": 0, "failure_rate": 0.0})
        self.stack.provider_save(provider_id, adapter=adapter, **fields)
        return provider_id

    def check(
        self, *, terminal_within_s: float = 30.0, max_retries: dict[str, int] | None = None
    ) -> LedgerResult:
        """Run the ledger, print it, and fail the test on any broken invariant."""
        self.result = ledger_check(
            self.stack,
            self.api,
            since=self.since,
            web_log_offset=self.web_log_offset,
            terminal_within_s=terminal_within_s,
            max_retries=max_retries,
        )
        self.emit(self.result.text, label="ledger")
        assert not self.result.problems, "ledger:\n" + self.result.text
        return self.result

    def emit(self, text: str, label: str = "chaos") -> None:
        """Show ``text`` in the run's output (also without ``-s``) and in a failure report."""
        reporter = self._request.config.pluginmanager.get_plugin("terminalreporter")
        block = "\n".join(f"  {line}" for line in text.splitlines())
        if reporter is not None:
            reporter.write_line(f"\n[{label}] {self.name}\n{block}")
        self._request.node.add_report_section("call", label, text)


@pytest.fixture
def chaos(stack: Stack, request: pytest.FixtureRequest) -> Iterator[Chaos]:
    stack.restore()
    harness = Chaos(stack, request)
    yield harness
    failed = getattr(request.node, "chaos_failed", True)
    if failed:
        node = request.node
        node.add_report_section("teardown", "web log (tail)", tail(stack.web.log))
        worker_log = stack.worker.log_since(harness.worker_log_offset)
        node.add_report_section(
            "teardown", "worker log (tail)", "\n".join(worker_log.splitlines()[-60:])
        )
    stack.restore()
    try:
        if harness.result is None and failed:  # the ledger still tells what the fault did
            harness.result = ledger_check(
                stack,
                harness.api,
                since=harness.since,
                web_log_offset=harness.web_log_offset,
                terminal_within_s=10,
            )
            harness.emit(harness.result.text, label="ledger (after the failure)")
        _cancel_leftovers(stack, harness)
    except Exception as exc:  # a broken stack must not hide the test's own failure
        if not failed:
            raise
        harness.emit(f"{type(exc).__name__}: {exc}", label="teardown")
    if not failed:
        assert harness.result is not None, "a chaos test must end with chaos.check()"


def _cancel_leftovers(stack: Stack, harness: Chaos) -> None:
    """Cancel what a failed test left running, so it cannot act in the next test."""
    rows = stack.postgres.query(
        "select g.id::text, u.username from generations_generation g "
        "join auth_user u on u.id = g.created_by_id where g.created_at >= %s "
        "and g.status in ('pending', 'processing')",
        (harness.since,),
    )
    for generation_id, username in rows:
        harness.api.request(
            "POST", f"/api/v1/generations/{generation_id}/cancel", user=username, record=False
        )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.chaos_failed = report.failed  # type: ignore[attr-defined]
    return report
