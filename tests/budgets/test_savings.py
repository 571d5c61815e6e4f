"""Reuse savings are added up per process and written at most once per interval."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from budgets import savings
from budgets.models import ReuseSaving
from generations.models import Workspace

pytestmark = pytest.mark.django_db

DAY = date(2026, 12, 1)


@pytest.fixture
def interval(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    settings.GENPIPE_REUSE_SAVING_FLUSH_S = 3600.0
    savings._pending.clear()
    savings._last_flush = float("-inf")
    yield
    savings._pending.clear()


def _row(workspace: Workspace) -> tuple[int, Decimal]:
    row = ReuseSaving.objects.get(workspace=workspace, day=DAY)
    return row.reused, row.saved_usd


def test_the_first_reuse_writes_then_the_interval_adds_up_in_memory(interval) -> None:  # type: ignore[no-untyped-def]
    workspace = Workspace.objects.create(name="w", slug="w-savings")
    savings.reuse_saving_count(workspace.id, DAY, Decimal("0.25"))
    assert _row(workspace) == (1, Decimal("0.25"))
    with CaptureQueriesContext(connection) as queries:
        for _ in range(50):
            savings.reuse_saving_count(workspace.id, DAY, Decimal("0.01"))
    assert len(queries) == 0  # nothing written inside the interval
    assert _row(workspace) == (1, Decimal("0.25"))
    assert savings.reuse_savings_flush() == 1
    assert _row(workspace) == (51, Decimal("0.75"))
    assert savings.reuse_savings_flush() == 0  # nothing counted twice


def test_a_reuse_after_the_interval_writes_everything_counted(interval, settings) -> None:  # type: ignore[no-untyped-def]
    a = Workspace.objects.create(name="a", slug="a-savings")
    b = Workspace.objects.create(name="b", slug="b-savings")
    savings.reuse_saving_count(a.id, DAY, Decimal("1"))
    savings.reuse_saving_count(a.id, DAY, Decimal("1"))
    savings.reuse_saving_count(b.id, DAY, Decimal("2"))
    settings.GENPIPE_REUSE_SAVING_FLUSH_S = 0.0
    savings.reuse_saving_count(b.id, DAY, Decimal("2"))
    assert (_row(a), _row(b)) == ((2, Decimal("1") * 2), (2, Decimal("4")))


def test_a_failed_write_keeps_the_counts_and_a_deleted_workspace_drops_them(  # type: ignore[no-untyped-def]
    interval, monkeypatch
) -> None:
    workspace = Workspace.objects.create(name="w", slug="w-savings-fail")
    savings.reuse_saving_count(workspace.id, DAY, Decimal("0.5"))  # written at once
    savings.reuse_saving_count(workspace.id, DAY, Decimal("0.5"))
    real = savings.reuse_saving_add

    def down(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise DatabaseError("database is down")

    monkeypatch.setattr(savings, "reuse_saving_add", down)
    with pytest.raises(DatabaseError):
        savings.reuse_savings_flush()
    monkeypatch.setattr(savings, "reuse_saving_add", real)
    assert savings.reuse_savings_flush() == 1
    assert _row(workspace) == (2, Decimal("1.0"))
    gone = Workspace.objects.create(name="gone", slug="w-savings-gone")
    savings.reuse_saving_count(gone.id, DAY, Decimal("9"))
    gone.delete()
    savings.reuse_savings_flush()  # no foreign-key error, nothing kept
    assert savings._pending == {}
    assert not ReuseSaving.objects.filter(workspace_id=gone.id).exists()


def test_the_spend_report_includes_this_process_s_last_interval(  # type: ignore[no-untyped-def]
    interval, api, workspace
) -> None:
    savings.reuse_saving_count(workspace.id, DAY, Decimal("0.1"))
    savings.reuse_saving_count(workspace.id, DAY, Decimal("0.1"))
    assert savings._pending  # the second is still in memory
    reply = api.get(
        "/api/v1/spend",
        {"workspace_id": workspace.id, "from": "2026-12-01", "to": "2026-12-02T00:00:01Z"},
    )
    assert reply.status_code == 200, reply.content
    assert reply.json()["reused"] == 2
