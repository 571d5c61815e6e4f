"""Reservations on the embedded default (SQLite, the database store, the filesystem
broker) end with their generations: failure, retry, cancel, the sweeper, a reservation
whose listener never ran, lost counters rebuilt from the ledger, and a real worker killed
with SIGKILL in the middle of a provider call."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.embedded import ROOT, EmbeddedSite, embedded_site

COMMON = r"""
import json
from datetime import timedelta
from decimal import Decimal
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient
from budgets.models import Budget, BudgetEntry
from budgets.money import to_micros
from budgets.store import ledger_figures, store_figures, store_name
from generations.models import Generation, Provider, ProviderAttempt, Workspace
from generations.models import WorkspaceMembership

def client():
    api = APIClient()
    api.force_authenticate(get_user_model().objects.get(username="ada"))
    return api

def post(api, prompt, **extra):
    body = {"provider_id": "sandbox", "config": {"generation_type": "text_to_image",
            "purpose": "adaptive", "strategy": "always", "prompt": prompt}, **extra}
    response = api.post("/api/v1/generations", body, format="json", HTTP_HOST="localhost")
    assert response.status_code == 201, response.content
    return response.json()["id"]

def figures(budget):
    budget.refresh_from_db()
    spent, reserved = store_figures(budget, now=timezone.now())
    actual = sum(to_micros(a.cost_usd) for a in ProviderAttempt.objects.all())
    return {"spent": spent, "reserved": reserved, "actual": actual}
"""

SETUP = (
    COMMON
    + r"""
user = get_user_model().objects.create_user("ada", password="pw-ada-12345")
ws = Workspace.objects.create(slug="studio", name="Studio")
WorkspaceMembership.objects.create(workspace=ws, user=user, role="owner")
Provider.objects.filter(id="sandbox").update(
    price_per_image=Decimal("0.04"), settings={"latency_ms": %d, "reject_marker": "REJECT"})
print(Budget.objects.create(workspace=ws, limit_usd=Decimal("10")).id)
"""
)

FLOW = (
    COMMON
    + r"""
from generations.models import Status
from generations.services.lifecycle import generation_transition
from generations.services.sweeper import generations_sweep, processing_deadline
from generations.tasks import process_generation
from budgets.services import budget_reconcile

budget = Budget.objects.get()
api = client()
out = {"store": store_name()}
failed = post(api, "REJECT this one")
process_generation.apply(args=[failed])
out["failed"] = [Generation.objects.get(id=failed).status, figures(budget)]
sandbox = Provider.objects.get(id="sandbox")
sandbox.settings = {}  # the retry is no longer refused
sandbox.save()
retry = api.post(f"/api/v1/generations/{failed}/retry", HTTP_HOST="localhost").json()["id"]
process_generation.apply(args=[retry])
out["retried"] = [Generation.objects.get(id=retry).status, figures(budget)]
later = (timezone.now() + timedelta(hours=1)).isoformat()
waiting = post(api, "cancel me", scheduled_at=later)
out["waiting"] = figures(budget)
api.post(f"/api/v1/generations/{waiting}/cancel", HTTP_HOST="localhost")
out["cancelled"] = [Generation.objects.get(id=waiting).status, figures(budget)]
lost = post(api, "lost worker")
generation_transition(generation_id=lost, to_status=Status.PROCESSING)
long_ago = timezone.now() - processing_deadline() - timedelta(hours=1)
Generation.objects.filter(id=lost).update(
    started_at=long_ago, attempt_count=99, claimed_at=long_ago, deadline_at=long_ago)
generations_sweep(now=timezone.now())
out["swept"] = [Generation.objects.get(id=lost).status, figures(budget)]
crash = post(api, "crashed before its listener")
Generation.objects.filter(id=crash).update(status=Status.CANCELLED)  # no listener ran
out["crashed"] = figures(budget)
out["reconciled"] = [budget_reconcile()["settled"], figures(budget)]
from budgets.periods import period_bounds
start = period_bounds(budget.period, timezone.now())[0]
Budget.objects.filter(id=budget.id).update(  # counters lost: rebuilt from the ledger
    spent_micros=123, reserved_micros=456, counters_period_start=None)
out["rebuilt"] = [figures(budget), list(ledger_figures(budget.id, start))]
post(api, "after the rebuild", scheduled_at=later)  # reserves on the rebuilt counters
budget.refresh_from_db()
ledger = list(ledger_figures(budget.id, start))
out["counters"] = [budget.spent_micros, budget.reserved_micros, ledger]
print(json.dumps(out))
"""
)

STATE = (
    COMMON
    + r"""
budget = Budget.objects.get()
rows = list(Generation.objects.values_list("status", flat=True))
attempts = sorted(ProviderAttempt.objects.values_list("outcome", flat=True))
print(json.dumps({"statuses": rows, "attempts": attempts, **figures(budget)}))
"""
)


def _last_json(site: EmbeddedSite, code: str) -> dict:
    return json.loads(site.shell(code).strip().splitlines()[-1])


def test_sqlite_failure_retry_cancel_sweeper_and_a_rebuild_leave_nothing_reserved(tmp_path):
    site = embedded_site(tmp_path)
    site.shell(SETUP % 0)
    out = _last_json(site, FLOW)
    image = 40_000  # the sandbox's price per image, in millionths of a dollar
    assert out["store"] == "database"
    status, figures = out["failed"]
    assert (status, figures["reserved"], figures["spent"]) == ("failed", 0, 0)
    status, figures = out["retried"]
    assert (status, figures["reserved"]) == ("completed", 0)
    assert figures["spent"] == figures["actual"] >= image
    spent = figures["spent"]
    assert out["waiting"]["reserved"] >= image  # the scheduled one holds its estimate
    status, figures = out["cancelled"]
    assert (status, figures["reserved"], figures["spent"]) == ("cancelled", 0, spent)
    status, figures = out["swept"]
    assert (status, figures["reserved"], figures["spent"]) == ("failed", 0, spent)
    assert out["crashed"]["reserved"] >= image  # left behind by the "crash"
    settled, figures = out["reconciled"]
    assert (settled, figures["reserved"], figures["spent"]) == (1, 0, spent)
    figures, ledger = out["rebuilt"]
    assert [figures["spent"], figures["reserved"]] == ledger == [spent, 0]
    counters_spent, counters_reserved, ledger = out["counters"]
    assert [counters_spent, counters_reserved] == ledger  # not the lost 123 / 456
    assert ledger[0] == spent and ledger[1] >= image


@pytest.fixture
def worker_site(tmp_path: Path):
    site = embedded_site(tmp_path)
    workers: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "celery", "-A", "genpipe_site", "worker"]
        command += ["--concurrency=2", "--loglevel=WARNING", "--without-heartbeat"]
        command += ["--without-gossip", "--without-mingle"]
        process = subprocess.Popen(command, cwd=ROOT, env=site.env, start_new_session=True)
        workers.append(process)
        return process

    try:
        yield site, start
    finally:
        for process in workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


def _until(site: EmbeddedSite, done, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = _last_json(site, STATE)
        if done(state) or time.monotonic() > deadline:
            return state
        time.sleep(0.5)


@pytest.mark.worker
def test_sqlite_worker_sigkill_mid_call_then_the_sweeper_leaves_nothing_reserved(worker_site):
    site, start = worker_site
    site.shell(SETUP % 30000)  # a 30 s provider call: the kill lands inside it
    worker = start()
    site.shell(COMMON + "api = client()\nfor i in range(4): post(api, f'scene {i}')\n")
    state = _until(site, lambda s: "processing" in s["statuses"])
    assert "processing" in state["statuses"], state
    assert state["reserved"] > 0

    os.killpg(worker.pid, signal.SIGKILL)  # the worker and its pool children, at once
    worker.wait(timeout=10)
    killed = _last_json(site, STATE)
    assert "running" in killed["attempts"], killed  # interrupted inside the provider call
    site.shell(  # the work that runs again need not wait that long
        "from generations.models import Provider\n"
        "Provider.objects.filter(id='sandbox').update(settings={'latency_ms': 0})\n"
    )
    start()
    time.sleep(3.5)  # the sweeper's age rules: the interrupted work is older than 3 s
    swept = site.manage("sweep_generations", "--processing-after", "3", "--pending-after", "3")
    assert swept.returncode == 0, swept.stderr

    state = _until(
        site, lambda s: set(s["statuses"]) <= {"completed", "failed"} and not s["reserved"]
    )
    assert set(state["statuses"]) == {"completed"}, state
    assert "abandoned" in state["attempts"], state
    assert state["reserved"] == 0, state
    assert state["spent"] == state["actual"] >= 4 * 40_000, state
