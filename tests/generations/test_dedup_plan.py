"""The dedup lookup reads its hash's index, whatever the statistics say of the workspace.

A workspace that PostgreSQL's statistics took for empty (analyzed before it grew, as a new
workspace is until the next ANALYZE of the whole table) used to get a walk of all its rows
newest first, filtered by hash, on every create.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from generations.models import Generation, Workspace
from generations.services import lookups
from tests.builders import create_body

pytestmark = pytest.mark.postgres


def test_the_dedup_lookup_uses_the_hash_index_in_a_workspace_taken_for_empty(api, workspace):
    assert api.post("/api/v1/generations", create_body(), format="json").status_code == 201
    template = Generation.objects.get()
    fields = {
        f.attname: getattr(template, f.attname)
        for f in Generation._meta.concrete_fields
        if f.attname not in ("id", "reproducible_hash")
    }
    Generation.objects.all().delete()
    other = Workspace.objects.create(name="other", slug="other-dedup-plan")
    big = {**fields, "workspace_id": other.id}
    Generation.objects.bulk_create(
        Generation(id=uuid.uuid4(), reproducible_hash=f"b{n:063x}", **big) for n in range(5000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE generations_generation")  # the workspace: no rows; another: 5,000
    Generation.objects.bulk_create(
        Generation(id=uuid.uuid4(), reproducible_hash=f"{n:064x}", **fields) for n in range(400)
    )
    compiled = lookups._compile(
        "by_hash",
        "default",
        lookups._by_hash_queryset,
        {lookups._WORKSPACE: "workspace", lookups._HASH: "digest"},
    )
    arguments = {"workspace": workspace.id, "digest": "f" * 64}
    values = [
        arguments[compiled.slots[i]] if i in compiled.slots else value
        for i, value in enumerate(compiled.params)
    ]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + compiled.sql, values)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "gen_hash_created" in plan, plan
    assert "Sort" not in plan, plan
    found = lookups.reusable_by_hash(workspace_id=workspace.id, digest=f"{7:064x}")
    assert found is not None and found.reproducible_hash == f"{7:064x}"
    assert lookups.reusable_by_hash(workspace_id=workspace.id + 1, digest=f"{7:064x}") is None
