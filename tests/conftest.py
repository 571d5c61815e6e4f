"""Shared fixtures. Tests that need Redis or PostgreSQL carry a marker; outside CI they skip
when the service is not configured, in CI (``CI=true``) a missing service fails them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from generations.models import OperationType, Provider, Workspace, WorkspaceMembership

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
pytest_plugins = ["tests.fakes.fixtures"]


def pytest_configure(config: pytest.Config) -> None:
    """Create, clone and drop the test databases without the product's statement timeout:
    on a busy machine ``DROP DATABASE`` may wait longer than 5 s for a closing connection,
    and a cancelled drop leaves the database behind for the next run. Only these
    maintenance connections (Django's "no database" cursor) lose the timeout."""
    from django.db.backends.postgresql.base import DatabaseWrapper

    if getattr(DatabaseWrapper, "_genpipe_untimed_nodb", False):
        return
    timed = DatabaseWrapper._nodb_cursor

    @contextmanager
    def _nodb_cursor(self: DatabaseWrapper) -> Iterator[Any]:
        with timed(self) as cursor:
            cursor.execute("SET statement_timeout = 0")
            yield cursor

    DatabaseWrapper._nodb_cursor = _nodb_cursor  # type: ignore[method-assign]
    DatabaseWrapper._genpipe_untimed_nodb = True  # type: ignore[attr-defined]


def _browser_available() -> bool:
    import importlib.util
    import shutil

    has_driver = importlib.util.find_spec("playwright") is not None
    has_chromium = bool(
        os.environ.get("GENPIPE_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )
    return has_driver and has_chromium


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    have = {
        "redis": bool(settings.REDIS_URL),
        "postgres": settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
        "browser": _browser_available(),
    }
    for marker, available in have.items():
        needed = any(marker in item.keywords for item in items)
        if needed and not available and IN_CI:
            raise pytest.UsageError(
                f"CI requires {marker}: REDIS_URL, DATABASE_URL and Chromium must be available"
            )
    for item in items:
        for marker, available in have.items():
            if marker in item.keywords and not available:
                item.add_marker(pytest.mark.skip(reason=f"{marker} not configured"))


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    """Empty this worker's Redis keys (the database cache rolls back with the test) and
    the in-process provider cache (a rollback sends no post_save to clear it)."""
    from django.core.cache import cache

    from generations.provider_cache import provider_cache_clear

    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    provider_cache_clear()
    yield


@pytest.fixture
def sandbox(db: Any) -> Provider:
    # Transactional tests flush tables, including the row the data migration made.
    provider, _ = Provider.objects.update_or_create(
        id="sandbox",
        defaults={
            "name": "Sandbox",
            "adapter": "sandbox",
            "enabled": True,
            "operation_types": [choice.value for choice in OperationType],
            "settings": {"latency_ms": 0, "failure_rate": 0.0},
            "price_per_1k_input_tokens": Decimal("0.00015"),
            "price_per_1k_output_tokens": Decimal("0.0006"),
            "price_per_image": Decimal("0.04"),
            "price_per_video_second": Decimal("0.05"),
        },
    )
    return provider


@pytest.fixture
def user(db: Any, django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(username="ada", password="pw-ada-12345")


@pytest.fixture
def workspace(db: Any, user: Any) -> Workspace:
    ws = Workspace.objects.create(slug="studio", name="Studio")
    WorkspaceMembership.objects.create(workspace=ws, user=user, role="owner")
    return ws


@pytest.fixture
def api(user: Any, workspace: Workspace, sandbox: Provider) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def staff_api(db: Any, django_user_model: Any) -> APIClient:
    """A staff user's client (telemetry, cache statistics and slots are staff-only)."""
    staff = django_user_model.objects.create_user(username="ops", password="x", is_staff=True)
    client = APIClient()
    client.force_authenticate(staff)
    return client


@pytest.fixture
def other_api(db: Any, django_user_model: Any, sandbox: Provider) -> APIClient:
    other = django_user_model.objects.create_user(username="mallory", password="pw-m-12345")
    ws = Workspace.objects.create(slug="rival", name="Rival")
    WorkspaceMembership.objects.create(workspace=ws, user=other)
    client = APIClient()
    client.force_authenticate(other)
    return client


@pytest.fixture
def no_dispatch(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Keep created generations pending: record enqueues instead of running them."""
    sent: list[str] = []

    def record(*, generation_id: str, **_: Any) -> None:
        sent.append(generation_id)

    monkeypatch.setattr("generations.services.creation.generation_enqueue", record)
    return sent


@pytest.fixture(autouse=True)
def _isolated_telemetry(settings: Any) -> Iterator[Any]:
    """Every test starts with empty telemetry: a Redis database of this xdist worker's own
    (10-15), flushed first, so figures and provider health never leak between tests."""
    from telemetry.store import _client

    if not settings.REDIS_URL:
        yield None
        return
    import redis

    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = 10 + int("".join(ch for ch in worker if ch.isdigit()) or 0) % 6
    url = settings.REDIS_URL.rsplit("/", 1)[0] + f"/{index}"
    settings.REDIS_URL = url
    client = redis.Redis.from_url(url, decode_responses=True)
    client.flushdb()
    _client.cache_clear()
    yield client
    _client.cache_clear()


@pytest.fixture
def telemetry_redis(_isolated_telemetry: Any) -> Any:
    """The telemetry Redis of this test (requires REDIS_URL)."""
    if _isolated_telemetry is None:
        pytest.fail("telemetry_redis needs REDIS_URL")
    return _isolated_telemetry


# Eager messages due later than this are held instead of run (see ``deferred_tasks``).
EAGER_HOLD_AFTER_S = 60.0


@pytest.fixture(autouse=True)
def deferred_tasks(
    monkeypatch: pytest.MonkeyPatch,
) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    """Eager Celery runs every message at once, whatever its countdown; a broker holds a
    delayed message until its time. In-process tests compress time for short waits
    (retries, polls: run at once) and hold messages due more than ``EAGER_HOLD_AFTER_S``
    ahead (a delayed start) in this list as (name, args, kwargs), so no product code needs
    an eager-mode branch. A test that wants a held step runs it itself."""
    from datetime import UTC, datetime

    from celery.app.task import Task

    held: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
    real_apply_async = Task.apply_async

    def due_in(options: dict[str, Any]) -> float:
        eta = options.get("eta")
        if isinstance(eta, datetime):
            return (eta - datetime.now(UTC)).total_seconds()
        return float(options.get("countdown") or 0)

    def apply_async(self: Task, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        if self.app.conf.task_always_eager and due_in(options) > EAGER_HOLD_AFTER_S:
            held.append((self.name, tuple(args or ()), dict(kwargs or {})))
            return None
        return real_apply_async(self, args, kwargs, **options)

    monkeypatch.setattr(Task, "apply_async", apply_async)
    return held
