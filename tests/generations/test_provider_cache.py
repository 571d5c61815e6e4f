"""The create path's provider cache: fresh after a save, bounded to known ids."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from generations import provider_cache
from generations.provider_cache import provider_cached
from tests.builders import create_body

URL = "/api/v1/generations"


def test_a_cached_provider_costs_no_query_until_it_expires(sandbox, monkeypatch):
    assert provider_cached("sandbox") == sandbox
    with CaptureQueriesContext(connection) as queries:
        assert provider_cached("sandbox") == sandbox
    assert len(queries) == 0
    now = provider_cache.time.monotonic()
    monkeypatch.setattr(provider_cache.time, "monotonic", lambda: now + provider_cache.TTL_S + 1)
    with CaptureQueriesContext(connection) as queries:
        assert provider_cached("sandbox") == sandbox
    assert len(queries) == 1


def test_saving_a_provider_is_seen_by_the_next_create(api, sandbox):
    assert api.post(URL, create_body(), format="json").status_code == 201
    sandbox.enabled = False
    sandbox.save()
    response = api.post(URL, create_body(config={"prompt": "another"}), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["provider_id"][0]["code"] == "provider_disabled"


def test_deleting_a_provider_clears_it_and_unknown_ids_are_not_kept(sandbox):
    from generations.models import Provider

    backup = Provider.objects.create(id="backup", name="Backup", adapter="sandbox")
    assert provider_cached("backup") == backup
    backup.delete()
    assert provider_cached("backup") is None
    assert provider_cached("no-such-provider") is None
    assert set(provider_cache._cache) <= {"sandbox"}
