"""Inline SVG of a metric's cumulative mean and 95 % interval per version over days."""

from __future__ import annotations

from html import escape
from typing import Any

from django.utils.safestring import SafeString, mark_safe

COLOURS = ("#1565c0", "#ef6c00", "#2e7d32", "#6a1b9a", "#c62828")


def interval_chart(series: list[dict[str, Any]], *, title: str) -> SafeString:
    """One line per version with a vertical bar for each day's interval."""
    points = [p for s in series for p in s["points"] if p["mean"] is not None]
    if not points:
        return mark_safe('<p class="help">No feedback yet.</p>')
    width, height, left, top, bottom = 640, 220, 48, 24, 32
    lows = [p["interval"][0] if p["interval"] else p["mean"] for p in points]
    highs = [p["interval"][1] if p["interval"] else p["mean"] for p in points]
    lo, hi = min(lows), max(highs)
    span = (hi - lo) or 1.0
    days = max(len(s["points"]) for s in series)
    step = (width - left - 16) / max(days - 1, 1)

    def y(value: float) -> float:
        return top + (hi - value) / span * (height - top - bottom)

    parts = [
        f'<svg class="gp-chart" viewBox="0 0 {width} {height}" role="img">',
        f'<text x="{left}" y="16">{escape(title)}</text>',
        f'<text x="4" y="{y(hi) + 4:.1f}">{hi:.2f}</text>',
        f'<text x="4" y="{y(lo) + 4:.1f}">{lo:.2f}</text>',
    ]
    for index, s in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        line = []
        for day, p in enumerate(s["points"]):
            if p["mean"] is None:
                continue
            x = left + day * step
            line.append(f"{x:.1f},{y(p['mean']):.1f}")
            if p["interval"]:
                low, high = p["interval"]
                parts.append(
                    f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y(high):.1f}" y2="{y(low):.1f}" '
                    f'stroke="{colour}" stroke-opacity="0.4" stroke-width="6">'
                    f"<title>v{s['version']} {escape(str(p['day']))}: {p['mean']:.3f} "
                    f"[{low:.3f}, {high:.3f}] n={p['n']}</title></line>"
                )
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(line)}"/>'
        )
        parts.append(
            f'<text x="{width - 60}" y="{top + 14 * index}" fill="{colour}">v{s["version"]}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
