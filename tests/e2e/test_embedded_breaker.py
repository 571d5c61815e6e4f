"""On the embedded default (SQLite, filesystem broker, a real worker process): a provider
that failed a storm closes its circuit breaker again by itself once it recovers."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.embedded import ROOT, EmbeddedSite, embedded_site

pytestmark = [pytest.mark.worker]

SETUP = """
from django.contrib.auth import get_user_model
from generations.models import Provider, Workspace, WorkspaceMembership
user = get_user_model().objects.create_user("ada", password="pw-ada-12345")
ws = Workspace.objects.create(slug="studio", name="Studio")
WorkspaceMembership.objects.create(workspace=ws, user=user, role="owner")
Provider.objects.filter(id="sandbox").update(
    settings={"failure_rate": 1.0, "max_retries": 0}, breaker_cooldown_s=2)
"""

CREATE = """
import json
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient
client = APIClient()
client.force_authenticate(get_user_model().objects.get(username="ada"))
ids = []
for i in range(%d):
    body = {"provider_id": "sandbox", "config": {"generation_type": "text_to_image",
            "purpose": "adaptive", "strategy": "always", "prompt": "%s " + str(i)}}
    response = client.post("/api/v1/generations", body, format="json", HTTP_HOST="localhost")
    assert response.status_code == 201, response.content
    ids.append(response.json()["id"])
print(json.dumps(ids))
"""

STATE = """
import json
from generations.models import Generation, Provider
from generations.figures import provider_report
report = provider_report(Provider.objects.get(id="sandbox"))
rows = dict(Generation.objects.filter(id__in=%s).values_list("id", "status"))
print(json.dumps({"breaker": report["breaker"]["state"], "health": report["health"]["state"],
                  "statuses": sorted(set(rows.values()))}))
"""


@pytest.fixture
def site(tmp_path: Path) -> Iterator[EmbeddedSite]:
    site = embedded_site(tmp_path)
    site.shell(SETUP)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "genpipe_site",
            "worker",
            "--concurrency=1",
            "--loglevel=WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=site.env,
        start_new_session=True,
    )
    try:
        yield site
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()


def _create(site: EmbeddedSite, count: int, label: str) -> list[str]:
    return json.loads(site.shell(CREATE % (count, label)).strip().splitlines()[-1])


def _state(site: EmbeddedSite, ids: list[str]) -> dict[str, object]:
    return json.loads(site.shell(STATE % json.dumps(ids)).strip().splitlines()[-1])


def _until(site: EmbeddedSite, ids: list[str], done: object, timeout: float = 150) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = _state(site, ids)
        if done(state) or time.monotonic() > deadline:
            return state
        time.sleep(0.5)


def test_the_breaker_opens_in_a_storm_and_closes_by_itself(site):
    storm = _create(site, 6, "storm")
    state = _until(site, storm, lambda s: s["statuses"] == ["failed"])
    # Open, or already half-open if the 2 s cool-down passed while the machine was busy.
    assert state["breaker"] in {"open", "half_open"}, state
    assert (state["health"], state["statuses"]) == ("down", ["failed"]), state

    site.shell(
        "from generations.models import Provider\n"
        "Provider.objects.filter(id='sandbox').update(settings={'failure_rate': 0.0})\n"
    )
    time.sleep(2.5)  # the cool-down: the next call is the probe
    after = _create(site, 1, "after")
    state = _until(site, after, lambda s: s["statuses"] == ["completed"])
    assert state == {"breaker": "closed", "health": "healthy", "statuses": ["completed"]}
