"""The list page, read as rows and written by orjson, is the page the ORM,
``GenerationSerializer`` and DRF's renderer wrote: byte for byte on SQLite (the embedded
test below), and on PostgreSQL once parsed and byte for byte but for the JSON columns'
values, embedded as ``jsonb`` writes them (``list_pages.page_matches``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

from rest_framework.renderers import JSONRenderer as DrfJSONRenderer

from core.renderers import PlainJSON
from generations.models import Generation
from generations.pagination import GenerationCursorPagination
from generations.rendering import PAGE_FIELDS, _iso, generation_json, generation_page_json
from generations.selectors import GenerationRows
from tests.embedded import embedded_site
from tests.generations.list_pages import (
    QUERIES,
    jsonb_text_embedded,
    pages_compared,
    reference_page,
    seed_variety,
)

URL = "/api/v1/generations"


def test_every_page_is_the_page_the_serializer_wrote(api, user, workspace):
    seed_variety(workspace=workspace, user=user)
    assert pages_compared(api, user, QUERIES) > 20


def test_a_retry_filter_and_an_empty_page_match_too(api, user, workspace):
    made = seed_variety(workspace=workspace, user=user)
    child = Generation.objects.filter(parent__isnull=False).first()
    assert child is not None
    queries = [f"parent={child.parent_id}", "status=cancelled&created_after=2030-01-01T00:00Z"]
    assert pages_compared(api, user, queries) == 4
    assert len(made) == 21


def test_rows_render_as_generation_json(user, workspace):
    made = seed_variety(workspace=workspace, user=user)
    rows = GenerationRows(workspace_ids=[workspace.id], conditions=[], fields=PAGE_FIELDS)[:50]
    page = generation_page_json(rows, next_link=None, previous_link=None)
    assert type(page) is PlainJSON
    docs = json.loads(page.content)["results"]
    for row, doc in zip(rows, docs, strict=True):
        assert doc == generation_json(Generation.objects.get(id=row.id))
    assert len(rows) == len(made)


def test_jsonb_text_is_embedded_whatever_its_numbers(user, workspace):
    seed_variety(workspace=workspace, user=user)
    rows = GenerationRows(workspace_ids=[workspace.id], conditions=[], fields=PAGE_FIELDS)
    for value in (
        {"name": "Zoé\u2028", "n": [1, 2.5, 2**64 - 1, 1e15, 0.0001]},
        {"small": 1e-05, "e": 1e-07, "big": 2**70, "negative": -(2**64), "large": 1.5e300},
    ):
        Generation.objects.filter(workspace=workspace).update(
            config={"config": {"fallback": {"mode": "placeholder"}}, "v": value},
            template_variables=value,
        )
        page = generation_page_json(rows[:50], next_link=None, previous_link=None)
        assert type(page) is PlainJSON, value
        docs = json.loads(page.content)["results"]
        first = docs[0]
        stored = Generation.objects.get(id=first["id"]).template_variables  # 1.5e300: an int
        assert first["template_variables"] == stored, value
        assert list(first["template_variables"]) == list(stored)  # jsonb's key order
        assert first["config"]["v"] == first["template_variables"]
        failed = [doc["fallback"] for doc in docs if doc["status"] == "failed"]
        assert failed and all(fallback["mode"] == "placeholder" for fallback in failed)
        assert b'"template_variables":{"' in page.content
        reparsed = DrfJSONRenderer().render(json.loads(page.content))
        assert page.content == jsonb_text_embedded(reparsed)


def test_a_float_in_a_fallback_is_written_by_drf(api, user, workspace):
    seed_variety(workspace=workspace, user=user)
    fallback = {"mode": "default_content", "default_content_id": 1e-05}
    Generation.objects.filter(workspace=workspace, status="failed").update(
        config={"config": {"fallback": fallback}}
    )
    rows = GenerationRows(workspace_ids=[workspace.id], conditions=[], fields=PAGE_FIELDS)
    page = generation_page_json(rows[:50], next_link=None, previous_link=None)
    assert type(page) is dict
    failed = [doc for doc in page["results"] if doc["status"] == "failed"]
    assert failed and all(doc["fallback"] == fallback for doc in failed)
    served = api.get(f"{URL}?status=failed&limit=50")
    assert served.content == reference_page(user, f"{URL}?status=failed&limit=50")


def test_the_api_pages_with_an_indent_asked_for(api, user, workspace):
    seed_variety(workspace=workspace, user=user)
    for query in ("limit=2", "limit=50"):
        response = api.get(f"{URL}?{query}", HTTP_ACCEPT="application/json; indent=4")
        assert response.status_code == 200
        assert response.content.startswith(b'{\n    "next"')
        expected = reference_page(user, f"{URL}?{query}")
        assert response.content == DrfJSONRenderer().render(
            json.loads(expected), "application/json; indent=4", {}
        )


SQLITE_SCRIPT = r"""
from django.conf import settings
from django.contrib.auth.models import User
from rest_framework.test import APIClient
from generations.models import Provider, Workspace, WorkspaceMembership
from tests.generations.list_pages import QUERIES, pages_compared, seed_variety

settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
user = User.objects.create_user(username="ada", password="pw-ada-12345")
workspace = Workspace.objects.create(slug="studio", name="Studio")
WorkspaceMembership.objects.create(workspace=workspace, user=user, role="owner")
assert Provider.objects.filter(id="sandbox").exists()
seed_variety(workspace=workspace, user=user)
client = APIClient()
client.force_authenticate(user)
print("compared", pages_compared(client, user, QUERIES))
"""


def test_every_page_matches_on_the_embedded_default(tmp_path):
    site = embedded_site(tmp_path)
    out = site.shell(SQLITE_SCRIPT)
    assert int(out.split("compared")[1]) > 20, out


def test_a_cursor_position_is_str_of_the_datetime_whichever_the_row_holds():
    paginator = GenerationCursorPagination()
    for at in (datetime(2026, 3, 1, 12, 0, 0, 250, tzinfo=UTC), datetime(999, 1, 2, tzinfo=UTC)):
        for held in (at, _iso(at)):
            row = SimpleNamespace(created_at=held)
            assert paginator._get_position_from_instance(row, ("-created_at", "-id")) == str(at)
