"""PostgreSQL timestamps read by psycopg's C loader give exactly what Django's loader gives."""

from __future__ import annotations

import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import get_adapters_template

from core.pg_loaders import TIMESTAMPTZ_OID, UtcTimestamptzLoader, use_c_timestamp_loader
from generations.models import Generation

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

VALUES = [
    "2026-12-02 07:00:56.171234+00",
    "2026-01-01 10:00:00+05:30",
    "1999-12-31 23:59:59.999999-08",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
    "2024-02-29 12:00:00.5+00",
]


def test_the_connection_reads_timestamps_with_the_c_loader_and_djangos_values():
    connection.ensure_connection()
    raw = connection.connection
    assert raw.adapters.get_loader(TIMESTAMPTZ_OID, 0) is UtcTimestamptzLoader
    django_loader = get_adapters_template(True, datetime.UTC).get_loader(TIMESTAMPTZ_OID, 0)(
        TIMESTAMPTZ_OID, raw
    )
    with connection.cursor() as cursor:
        for text in VALUES:
            cursor.execute("SELECT %s::timestamptz, %s::timestamptz::text", [text, text])
            loaded, as_text = cursor.fetchone()
            expected = django_loader.load(as_text.encode())
            assert loaded == expected and loaded.tzinfo is datetime.UTC, text
        cursor.execute("SELECT NULL::timestamptz")
        assert cursor.fetchone() == (None,)


def test_a_model_row_keeps_its_aware_utc_datetimes(api, no_dispatch):
    from tests.builders import create_body

    response = api.post("/api/v1/generations", create_body(), format="json")
    assert response.status_code == 201, response.json()
    row = Generation.objects.get(id=response.json()["id"])
    assert row.created_at.tzinfo is datetime.UTC
    assert row.created_at.isoformat().replace("+00:00", "Z") == response.json()["created_at"]


def test_another_time_zone_keeps_djangos_loader():
    registered = []
    raw = SimpleNamespace(
        info=SimpleNamespace(parameter_status=lambda name: "Europe/Paris"),
        adapters=SimpleNamespace(register_loader=lambda *a: registered.append(a)),
    )
    for timezone in (ZoneInfo("Europe/Paris"), datetime.UTC):
        fake = SimpleNamespace(vendor="postgresql", timezone=timezone, connection=raw)
        use_c_timestamp_loader(sender=None, connection=fake)
    assert registered == []
    fake = SimpleNamespace(vendor="sqlite", timezone=datetime.UTC, connection=raw)
    use_c_timestamp_loader(sender=None, connection=fake)
    assert registered == []
