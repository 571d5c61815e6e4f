from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from budgets.models import Budget
from generations.models import Workspace


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: Any, settings: Any) -> str:
    settings.GENPIPE_BUDGET_STORE = request.param
    return request.param


def make_budget(workspace: Workspace, limit: str, **fields: Any) -> Budget:
    return Budget.objects.create(workspace=workspace, limit_usd=Decimal(limit), **fields)
