"""Formatting filters of the dev panel's pages: ``{% load panel_format %}``."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def percent(value: Any, digits: int = 1) -> str:
    """A 0 to 1 ratio as a percentage (``0.8691`` → ``86.9 %``); ``—`` for none."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.{int(digits)}f} %"


@register.filter
def millis(value: Any) -> str:
    """Milliseconds, whole (``1234.0`` → ``1,234 ms``); ``—`` for none."""
    if value is None or value == "":
        return "—"
    return f"{float(value):,.0f} ms"
