from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from tests.caching.backends import use_database_cache

BACKENDS = [pytest.param("redis", marks=pytest.mark.redis), "database"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, settings: Any, db: Any) -> Iterator[str]:
    """The cache holding the slots: the configured django-redis, or a database cache."""
    if request.param == "redis":
        assert hasattr(cache, "iter_keys"), "REDIS_URL is set, the cache must be django-redis"
    else:
        use_database_cache(settings)
    yield request.param
