"""Bench-only Celery task: the worker-side ceiling of ``ceiling_celery_noop``.

The task does nothing but tell the client it ran (one ``LPUSH`` on the bench's Redis), so
a round trip costs the worker what Celery itself costs: receive, decode, run, ack.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import redis
from celery import shared_task
from django.conf import settings


@cache
def _redis() -> Any:
    return redis.Redis.from_url(settings.REDIS_URL)


@shared_task(name="bench.noop", ignore_result=True)
def noop(reply_key: str) -> None:
    _redis().lpush(reply_key, b"1")
