"""A page of the list is an ordered index range on PostgreSQL, never a sort of the workspace.

With a handful of rows the planner would rightly prefer a sequential scan, so the test turns
scans that cannot deliver order off and asks whether an ordered plan exists: a Sort node (or
an Incremental Sort) means the indexes no longer match the list's ordering or filters.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test import RequestFactory

from generations.filters import GenerationFilter, generation_filters_clean
from generations.rendering import PAGE_FIELDS
from generations.selectors import generation_list, generation_rows
from tests.builders import create_body

pytestmark = pytest.mark.postgres
URL = "/api/v1/generations"


def _plan(queryset) -> str:
    return _explain(*queryset.query.sql_with_params())


def _explain(sql: str, params) -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


FILTERS = [
    {},
    {"status": "failed"},
    {"operation_type": "text_to_image"},
    {"provider": "sandbox"},
    {"strategy": "once"},
    {"workspace": "studio"},
    {"strategy": "once", "workspace": "studio"},
    {"created_after": "2026-01-01T00:00:00Z"},
]


@pytest.mark.parametrize("filters", FILTERS)
def test_a_page_is_read_in_index_order(api, user, filters):
    _three(api)
    request = RequestFactory().get(URL)
    request.user = user
    queryset = GenerationFilter(filters, queryset=generation_list(user=user), request=request)
    queryset = queryset.qs[:51]
    plan = _plan(queryset)
    assert "Index" in plan and "Sort" not in plan, plan
    assert "SubPlan" not in plan and "Join" not in plan, plan  # workspace ids are inlined
    if "strategy" in filters:
        assert "gen_ws_strategy" in plan, plan


def _three(api) -> None:
    for i in range(3):
        api.post(URL, create_body(config={"prompt": f"p{i}"}), format="json")


@pytest.mark.parametrize("filters", FILTERS)
@pytest.mark.parametrize("cursor", [None, "lt", "gt"])
def test_the_statement_the_list_runs_is_read_in_index_order(api, user, filters, cursor):
    """The SQL ``GenerationRows`` writes (what the list runs), forward, and on both sides of
    a cursor position (a next page, a previous page read in reverse)."""
    _three(api)
    rows = generation_rows(
        user=user, conditions=generation_filters_clean(filters, user=user), fields=PAGE_FIELDS
    )
    if cursor == "gt":
        rows = rows.order_by("created_at", "id")
    if cursor is not None:
        rows = rows.filter(**{f"created_at__{cursor}": "2026-06-01 00:00:00.5+00:00"})
    plan = _explain(*rows.sql(limit=51, offset=2 if cursor else 0))
    assert "Index" in plan and "Sort" not in plan, plan
    assert "SubPlan" not in plan and "Join" not in plan, plan
    if "strategy" in filters:
        assert "gen_ws_strategy" in plan, plan
