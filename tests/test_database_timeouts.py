"""PostgreSQL timeouts reach real connections; a timed-out statement is a 503 envelope."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from core.outages import outage_failures, outages_reset
from generations.models import Generation
from tests.builders import create_body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
URL = "/api/v1/generations"


def show(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return str(cursor.fetchone()[0])


@pytest.fixture
def fresh_connection() -> Iterator[None]:
    """Each test starts on a new connection (migrate may have changed the session)."""
    connection.close()
    yield
    connection.close()


def test_every_connection_gets_the_statement_timeout_and_tcp_keepalives(fresh_connection):
    assert settings.DATABASE_STATEMENT_TIMEOUT_MS == 5000  # the documented default
    assert show("statement_timeout") == "5s"
    connection.ensure_connection()
    params = connection.connection.info.get_parameters()
    assert params["connect_timeout"] == "5"
    assert params["keepalives"] == "1"
    assert params["tcp_user_timeout"] == "15000"


def test_migrate_runs_without_a_statement_timeout(fresh_connection):
    call_command("migrate", verbosity=0)
    assert show("statement_timeout") == "0"  # a long CREATE INDEX is not cancelled


@pytest.fixture
def short_statement_timeout(fresh_connection: None) -> Iterator[None]:
    options = connection.settings_dict["OPTIONS"]
    original = options["options"]
    options["options"] = "-c statement_timeout=300"
    try:
        yield
    finally:
        options["options"] = original


def test_a_statement_timeout_is_a_503_envelope_logged_once(
    api: Any, no_dispatch: list[str], short_statement_timeout: None, caplog: Any
):
    ids = [api.post(URL, create_body(), format="json").json()["id"] for _ in range(3)]
    assert show("statement_timeout") == "300ms"
    db = connection.settings_dict
    outages_reset()
    # Another session holds the rows' locks: each cancel's UPDATE waits, and the server
    # cancels it after the statement timeout.
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=False
    ) as holder:
        holder.execute("SELECT id FROM generations_generation WHERE id = ANY(%s) FOR UPDATE", [ids])
        with caplog.at_level(logging.INFO, logger="genpipe"):
            responses = [api.post(f"{URL}/{gid}/cancel") for gid in ids]
        holder.rollback()
    for response in responses:
        assert response.status_code == 503, response.content
        assert response.json()["error"]["code"] == "database_unavailable"
        assert response["Retry-After"] == "5"
    assert outage_failures("database") == 3
    lines = [r for r in caplog.records if r.name == "genpipe.outage"]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert "database unavailable: QueryCanceled" in lines[0].getMessage()
    assert lines[0].exc_info is None
    assert {g.status for g in Generation.objects.filter(id__in=ids)} == {"pending"}
