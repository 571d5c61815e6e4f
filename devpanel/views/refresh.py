"""Auto-refresh of the dashboards: the interval a page starts with.

``settings.GENPIPE_PANEL_REFRESH_S`` (default 30; 0 turns it off) is the default; a page's
``?refresh=<seconds>`` overrides it for that visit (0, or 2 to 3600). In the browser
``devpanel/refresh.js`` re-fetches the page on that interval and swaps the parts marked
``data-gp-live`` (never a form being filled in); the operator can change the interval
(remembered by the browser) or pause, and it pauses by itself while the tab is hidden.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

CHOICES = (0, 5, 10, 30, 60, 300)
MIN_S, MAX_S = 2, 3600
DEFAULT_S = 30


def refresh_interval(request: HttpRequest) -> tuple[int, bool]:
    """The interval in seconds (0: off) and whether the URL chose it."""
    raw = request.GET.get("refresh", "")
    if raw.isdigit():
        value = int(raw)
        if value == 0 or MIN_S <= value <= MAX_S:
            return value, True
    default = int(getattr(settings, "GENPIPE_PANEL_REFRESH_S", DEFAULT_S))
    return (default if default == 0 or MIN_S <= default <= MAX_S else DEFAULT_S), False


def refresh_context(request: HttpRequest) -> dict[str, Any]:
    """What ``admin/genpipe/refresh.html`` needs."""
    interval, from_url = refresh_interval(request)
    choices = sorted({*CHOICES, interval})
    return {"refresh": {"interval": interval, "from_url": from_url, "choices": choices}}
