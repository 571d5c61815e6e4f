"""core.dbvalues: a field's shortened ``get_db_prep_save`` gives the field's own answer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, models

from core.dbvalues import save_converter
from generations.models import Generation, GenerationEvent, ProviderAttempt

pytestmark = pytest.mark.django_db

# What a hot write may send, and what it should not but could.
VALUES: list[Any] = [
    None,
    "",
    "text",
    "é\u2028",
    0,
    5,
    2**40,
    -3,
    True,
    False,
    datetime(2026, 5, 6, 7, 8, 9, 10, tzinfo=UTC),
    datetime(2026, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=-5))),
    uuid.uuid4(),
    Decimal("1.250000"),
    {"a": [1, 2.5]},
    [1, "x"],
]


class _Text(str):
    pass


class _Integer(int):
    pass


@pytest.mark.parametrize("model", [Generation, GenerationEvent, ProviderAttempt])
def test_every_field_converts_as_get_db_prep_save(model: type[models.Model]) -> None:
    for field in model._meta.concrete_fields:
        convert = save_converter(field, connection)
        for value in [*VALUES, _Text("sub"), _Integer(4), str(uuid.uuid4())]:
            try:
                expected = field.get_db_prep_save(value, connection)
            except Exception as exc:  # the field refuses it: so must the converter
                with pytest.raises(type(exc)):
                    convert(value)
                continue
            got = convert(value)
            assert type(got) is type(expected), (field, value)
            assert repr(got) == repr(expected), (field, value)


def test_a_naive_datetime_takes_the_fields_own_path(settings) -> None:
    field = Generation._meta.get_field("created_at")
    naive = datetime(2026, 5, 6, 7, 8, 9)
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        got = save_converter(field, connection)(naive)
    assert got == field.get_db_prep_save(naive, connection) and got.tzinfo is not None


def test_the_shortcuts_are_taken_for_plain_fields() -> None:
    def converter(name: str) -> Any:
        return save_converter(Generation._meta.get_field(name), connection)

    slow = {converter(name).__name__ for name in ("config", "cost_usd")}
    assert slow == {"slow"}  # a JSON or decimal value: always the field's own path
    fast = {converter(name).__name__ for name in ("name", "priority", "created_at", "parent")}
    assert "slow" not in fast
