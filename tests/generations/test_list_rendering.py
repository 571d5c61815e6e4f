"""The list page, read as rows and written by orjson, is byte for byte the page the ORM,
``GenerationSerializer`` and DRF's renderer wrote (``list_pages``; SQLite: the embedded
test below)."""

from __future__ import annotations

from rest_framework.renderers import JSONRenderer as DrfJSONRenderer

from core.renderers import PlainJSON
from generations.models import Generation
from generations.rendering import PAGE_FIELDS, generation_json, generation_page_json
from generations.selectors import GenerationRows
from tests.embedded import embedded_site
from tests.generations.list_pages import QUERIES, pages_compared, seed_variety

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
    for row, doc in zip(rows, page["results"], strict=True):
        assert doc == generation_json(Generation.objects.get(id=row.id))
    assert len(rows) == len(made)


def test_an_ordinary_page_is_written_by_orjson_and_an_inexact_one_is_not(user, workspace):
    seed_variety(workspace=workspace, user=user)
    ordinary = {"name": "Zoé\u2028", "n": [1, 2.5, 2**64 - 1, 1e15, 0.0001]}
    Generation.objects.filter(workspace=workspace).update(
        config={"config": {"fallback": {"mode": "placeholder"}}, "v": ordinary},
        canonical_params=ordinary,
        template_variables=ordinary,
        social_context=ordinary,
        result=ordinary,
    )
    rows = GenerationRows(workspace_ids=[workspace.id], conditions=[], fields=PAGE_FIELDS)
    fast = generation_page_json(rows[:50], next_link=None, previous_link=None)
    assert type(fast) is PlainJSON
    assert fast.content == DrfJSONRenderer().render(dict(fast))
    for value in ({"small": 1e-05}, {"big": 2**70}, {"big": -(2**64)}, {"e": 1e-07}):
        Generation.objects.filter(workspace=workspace).update(template_variables=value)
        page = generation_page_json(rows[:50], next_link=None, previous_link=None)
        assert type(page) is dict, value
        assert page["results"][0]["template_variables"] == value


def test_the_api_pages_with_an_indent_asked_for(api, user, workspace):
    seed_variety(workspace=workspace, user=user)
    response = api.get(f"{URL}?limit=2", HTTP_ACCEPT="application/json; indent=4")
    assert response.status_code == 200
    assert response.content.startswith(b'{\n    "next"')


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
