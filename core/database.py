"""PostgreSQL connection options that keep a slow or frozen database from holding a request.

- ``connect_timeout``: a server that does not answer the connection handshake;
- ``statement_timeout`` (and, when set, ``lock_timeout``): a query that runs, or waits for a
  lock, for too long is cancelled by the server; the API answers ``503
  database_unavailable``;
- TCP keepalives and ``tcp_user_timeout`` (libpq options, passed through by psycopg 3): a
  server host that vanished (network partition, crashed machine) breaks the connection
  within about 15 s instead of the kernel's default of minutes to hours. A server
  *process* that is frozen while its host still acknowledges packets is not detected this
  way; only the statement timeout, enforced by the server itself, ends such a wait once the
  server runs again.

``manage.py migrate`` replaces the statement timeout with
``DATABASE_MIGRATE_STATEMENT_TIMEOUT_MS`` (0: none) before it applies anything, so building
an index on a big table is never cancelled half-way.
"""

from __future__ import annotations

from typing import Any

# Idle seconds before the first probe, seconds between probes, probes before giving up;
# tcp_user_timeout (ms) caps how long sent data may stay unacknowledged.
KEEPALIVE_OPTIONS = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 15000,
}


def postgres_timeout_options(
    *, connect_timeout_s: int, statement_timeout_ms: int, lock_timeout_ms: int
) -> dict[str, Any]:
    """``DATABASES[...]["OPTIONS"]`` entries (libpq connection parameters)."""
    server = [f"-c statement_timeout={statement_timeout_ms}"]
    if lock_timeout_ms:
        server.append(f"-c lock_timeout={lock_timeout_ms}")
    return {"connect_timeout": connect_timeout_s, "options": " ".join(server), **KEEPALIVE_OPTIONS}


def database_pool_options(*, min_size: int, max_size: int, timeout_s: float) -> dict[str, Any]:
    """``OPTIONS["pool"]``: arguments of the process's ``psycopg_pool.ConnectionPool``.

    With ``CONN_HEALTH_CHECKS`` (always on here) Django has the pool check a connection (one
    empty round trip) when it lends it, so one that died while idle in the pool, say across
    a server restart, is replaced instead of failing the request that got it.
    """
    return {"min_size": min_size, "max_size": max(min_size, max_size), "timeout": timeout_s}


def migrate_statement_timeout(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """``pre_migrate`` receiver: the migration's session gets the migrate statement timeout."""
    from django.conf import settings
    from django.db import connections

    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    timeout = int(getattr(settings, "DATABASE_MIGRATE_STATEMENT_TIMEOUT_MS", 0))
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, false)", [str(timeout)])


def database_connected(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: a new connection means the database is back."""
    from .outages import outage_success

    outage_success("database")
