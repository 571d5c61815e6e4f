"""Fixed-window rate limits: one cache counter per client and window.

DRF's stock throttles keep every request time of the window in one cache entry and rewrite
the whole list on each request, which grows with the allowed rate. These count instead:
``incr`` on ``throttle:{scope}:{ident}:{window}`` (created on first use with the window as
its expiry), so a check is one cache round trip whatever the rate. The price of fixed
windows is that a client may burst up to twice the rate across a window boundary.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.cache import cache as default_cache
from rest_framework import throttling


def _now() -> float:
    return time.time()


class FixedWindowMixin:
    cache = default_cache
    num_requests: int
    duration: int
    wait_s: float = 0.0

    def allow_request(self, request: Any, view: Any) -> bool:
        if getattr(self, "rate", None) is None:
            return True
        ident = self.get_cache_key(request, view)  # type: ignore[attr-defined]
        if ident is None:
            return True
        now = _now()
        window = int(now // self.duration)
        key = f"{ident}:{window}"
        try:
            count = self.cache.incr(key)
        except ValueError:  # first request of the window
            created = self.cache.add(key, 1, self.duration + 1)
            count = 1 if created else self.cache.incr(key)
        except Exception:  # a broken cache never blocks the API
            return True
        if count is None:  # django-redis with IGNORE_EXCEPTIONS and Redis down
            return True
        self.wait_s = (window + 1) * self.duration - now
        return bool(count <= self.num_requests)

    def wait(self) -> float:
        return max(self.wait_s, 1.0)


class UserRateThrottle(FixedWindowMixin, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(FixedWindowMixin, throttling.ScopedRateThrottle):
    def allow_request(self, request: Any, view: Any) -> bool:
        # The scope comes from the view, so the rate is only known here (as in DRF).
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)  # type: ignore[assignment]
        return super().allow_request(request, view)
