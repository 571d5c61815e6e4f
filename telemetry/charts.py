"""Small server-side SVG charts for the dev panel. Pure functions; output is escaped.

Nothing is loaded from the internet: each chart is an inline ``<svg>`` element with
``<title>`` tooltips, sized by its viewBox so it scales with the page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from django.utils.safestring import SafeString, mark_safe

PALETTE = {
    "completed": "#2e7d32",
    "failed": "#c62828",
    "cancelled": "#757575",
    "p50": "#1565c0",
    "p95": "#ef6c00",
    "p99": "#6a1b9a",
    "valid": "#2e7d32",
    "invalid": "#c62828",
    "hit rate": "#1565c0",
    "slot hits": "#2e7d32",
    "dedup hits": "#81c784",
    "misses": "#9e9e9e",
}


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:,.2g}"


def grouped_bars(
    groups: Sequence[tuple[str, dict[str, float | None]]],
    *,
    series: Sequence[str],
    unit: str = "",
    title: str = "",
) -> SafeString:
    """One cluster of vertical bars per group (e.g. p50/p95/p99 per provider)."""
    width, height, left, bottom, top = 640, 220, 48, 40, 24
    values = [v for _, data in groups for v in data.values() if v is not None]
    peak = max(values, default=0) or 1
    plot_w, plot_h = width - left - 10, height - bottom - top
    slot = plot_w / max(len(groups), 1)
    bar_w = max(4.0, min(28.0, slot / (len(series) + 1)))
    parts = _frame(width, height, left, top, plot_h, title, f"{_fmt(peak)}{unit}")
    parts.append(
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" class="gp-axis">0</text>'
    )
    for index, (label, data) in enumerate(groups):
        x0 = left + index * slot + (slot - bar_w * len(series)) / 2
        for offset, name in enumerate(series):
            value = data.get(name)
            if value is None:
                continue
            h = plot_h * value / peak
            x, y = x0 + offset * bar_w, top + plot_h - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE.get(name, "#455a64")}"><title>{escape(label)} {escape(name)}: '
                f"{escape(_fmt(value))}{escape(unit)}</title></rect>"
            )
        parts.append(
            f'<text x="{left + index * slot + slot / 2:.1f}" y="{height - bottom + 16}" '
            f'text-anchor="middle" class="gp-axis">{escape(label[:18])}</text>'
        )
    parts.append(_legend(series, width))
    parts.append("</svg>")
    return mark_safe("".join(parts))


def stacked_columns(
    rows: Sequence[Mapping[str, Any]], *, series: Sequence[str], label_key: str, title: str = ""
) -> SafeString:
    """One stacked column per row (e.g. completed/failed per hour)."""
    width, height, left, bottom, top = 640, 200, 40, 30, 24
    totals = [sum(float(r.get(s) or 0) for s in series) for r in rows]
    peak = max(totals, default=0) or 1
    plot_w, plot_h = width - left - 10, height - bottom - top
    slot = plot_w / max(len(rows), 1)
    parts = _frame(width, height, left, top, plot_h, title, _fmt(peak))
    for index, row in enumerate(rows):
        y = float(top + plot_h)
        label = str(row.get(label_key, ""))
        for name in series:
            value = float(row.get(name) or 0)
            if not value:
                continue
            h = plot_h * value / peak
            y -= h
            parts.append(
                f'<rect x="{left + index * slot + 1:.1f}" y="{y:.1f}" '
                f'width="{max(slot - 2, 1):.1f}" height="{h:.1f}" '
                f'fill="{PALETTE.get(name, "#455a64")}"><title>{escape(label)} '
                f"{escape(name)}: {value:,.0f}</title></rect>"
            )
        if index % max(1, len(rows) // 6) == 0:
            parts.append(
                f'<text x="{left + index * slot:.1f}" y="{height - 10}" class="gp-axis">'
                f"{escape(label)}</text>"
            )
    parts.append(_legend(series, width))
    parts.append("</svg>")
    return mark_safe("".join(parts))


def line_series(
    rows: Sequence[Mapping[str, Any]],
    *,
    series: Sequence[str],
    label_key: str,
    unit: str = "",
    title: str = "",
    peak: float | None = None,
) -> SafeString:
    """One line per series across the rows (e.g. p50/p95/p99 per hour); a missing value
    (``None``) breaks the line, and a point alone shows as a dot. ``peak`` fixes the top of
    the value axis (100 for a percentage); otherwise the largest value sets it."""
    width, height, left, bottom, top = 640, 200, 48, 30, 24
    values = [float(r[s]) for r in rows for s in series if r.get(s) is not None]
    top_value = peak or max(values, default=0) or 1
    plot_w, plot_h = width - left - 10, height - bottom - top
    step = plot_w / max(len(rows) - 1, 1)
    parts = _frame(width, height, left, top, plot_h, title, f"{_fmt(top_value)}{unit}")
    parts.append(
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" class="gp-axis">0</text>'
    )
    for name in series:
        colour = PALETTE.get(name, "#455a64")
        runs: list[list[tuple[float, float]]] = [[]]
        for index, row in enumerate(rows):
            value = row.get(name)
            if value is None:
                runs.append([])
                continue
            x = left + index * step
            y = top + plot_h - plot_h * min(float(value), top_value) / top_value
            runs[-1].append((x, y))
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}" '
                f'data-series="{escape(name)}"><title>{escape(str(row.get(label_key, "")))} '
                f"{escape(name)}: {escape(_fmt(float(value)))}{escape(unit)}</title></circle>"
            )
        for run in runs:
            if len(run) > 1:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                parts.append(
                    f'<polyline points="{points}" fill="none" stroke="{colour}" '
                    f'stroke-width="1.5" data-series="{escape(name)}"/>'
                )
    for index, row in enumerate(rows):
        if index % max(1, len(rows) // 6) == 0:
            parts.append(
                f'<text x="{left + index * step:.1f}" y="{height - 10}" class="gp-axis">'
                f"{escape(str(row.get(label_key, '')))}</text>"
            )
    parts.append(_legend(series, width))
    parts.append("</svg>")
    return mark_safe("".join(parts))


def _frame(
    width: int, height: int, left: int, top: int, plot_h: int, title: str, peak: str
) -> list[str]:
    """The opening of every chart: the ``<svg>`` element, its title, the baseline and the
    peak label on the value axis."""
    return [
        f'<svg class="gp-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{left}" y="14" class="gp-chart-title">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" '
        'stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" class="gp-axis">'
        f"{escape(peak)}</text>",
    ]


def _legend(series: Sequence[str], width: int) -> str:
    items = []
    for index, name in enumerate(series):
        x = width - 10 - (len(series) - index) * 90
        items.append(
            f'<rect x="{x}" y="4" width="10" height="10" fill="{PALETTE.get(name, "#455a64")}"/>'
            f'<text x="{x + 14}" y="13" class="gp-axis">{escape(name)}</text>'
        )
    return "".join(items)
