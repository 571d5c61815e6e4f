"""The budget guarantee on the embedded default: SQLite, the database store, no Redis."""

from __future__ import annotations

import json

from tests.embedded import embedded_site

SCRIPT = r"""
import json, threading
from decimal import Decimal
from django.db import connection
from django.utils import timezone
from budgets.models import Budget
from budgets.money import to_micros
from budgets.store import store_figures, store_name
from generations.models import Generation, Provider, ProviderAttempt, Workspace
from generations.operations import operation_for
from generations.services.creation import generation_create
from generations.services.pricing import cost_estimate
from generations.tasks import process_generation
from core.errors import ApiError

Provider.objects.filter(id="sandbox").update(
    price_per_1k_input_tokens=Decimal("0.00015"), price_per_1k_output_tokens=Decimal("0.0006"),
    price_per_image=Decimal("0.04"), price_per_video_second=Decimal("0.05"),
    settings={"latency_ms": 0, "failure_rate": 0.0})
sandbox = Provider.objects.get(id="sandbox")
KINDS = {
    "text": {"generation_type": "dialogue"},
    "image": {"generation_type": "text_to_image"},
    "video": {"generation_type": "image_to_video", "image_url": "https://a.example/s.png",
              "duration": {"max": 6, "target": 4}},
}
out = {"store": store_name()}
for kind, extra in KINDS.items():
    ws = Workspace.objects.create(slug="ws-" + kind, name=kind)
    def body(i):
        return {"provider_id": "sandbox", "config": {"purpose": "adaptive", "strategy": "once",
                "fallback": {"mode": "skip"}, "prompt": f"scene number {i:04d}", **extra}}
    cfg = body(0)["config"]
    estimate = cost_estimate(sandbox, operation_for(cfg["generation_type"]), cfg["prompt"], cfg)
    budget = Budget.objects.create(workspace=ws, limit_usd=estimate * 37)
    codes, samples, done = [], [], threading.Event()
    def worker(offset):
        try:
            for i in range(offset, 200, 8):
                try:
                    generation_create(workspace=ws, user=None, data=body(i))
                    codes.append(201)
                except ApiError as exc:
                    codes.append(exc.code)
        finally:
            connection.close()
    def sampler():
        try:
            while not done.is_set():
                budget.refresh_from_db()
                spent, reserved = store_figures(budget, now=timezone.now())
                samples.append(spent + reserved)
        finally:
            connection.close()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    watch = threading.Thread(target=sampler)
    for t in [*threads, watch]: t.start()
    for t in threads: t.join()
    done.set(); watch.join()
    for gid in Generation.objects.filter(workspace=ws).values_list("id", flat=True):
        process_generation.apply(args=[str(gid)])
    budget.refresh_from_db()
    spent, reserved = store_figures(budget, now=timezone.now())
    attempts = ProviderAttempt.objects.filter(generation__workspace=ws)
    actual = sum(to_micros(a.cost_usd) for a in attempts)
    out[kind] = {"accepted": codes.count(201), "refused": codes.count("budget_exceeded"),
                 "max_sample": max(samples or [0]), "limit": to_micros(budget.limit_usd),
                 "spent": spent, "reserved": reserved, "actual": actual,
                 "statuses": sorted(set(
                     Generation.objects.filter(workspace=ws).values_list("status", flat=True)))}
print(json.dumps(out))
"""


def test_sqlite_concurrent_creates_never_overspend(tmp_path):
    site = embedded_site(tmp_path)
    result = json.loads(site.shell(SCRIPT).strip().splitlines()[-1])
    assert result["store"] == "database"
    for kind in ("text", "image", "video"):
        figures = result[kind]
        assert figures["accepted"] == 37, (kind, figures)
        assert figures["refused"] == 200 - 37, (kind, figures)
        assert figures["max_sample"] <= figures["limit"], (kind, figures)
        assert figures["statuses"] == ["completed"], (kind, figures)
        assert figures["reserved"] == 0, (kind, figures)
        assert figures["spent"] == figures["actual"] > 0, (kind, figures)
