"""``{% budget_alert_banner %}``: the dev panel's banner of recent budget alerts."""

from __future__ import annotations

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from ..alerts import recent_alerts

register = template.Library()


@register.simple_tag
def budget_alert_banner() -> SafeString | str:
    alerts = recent_alerts(days=7)
    if not alerts:
        return ""
    items = format_html_join(
        "",
        "<li>{} — budget {} ({}): {} {}, spent ${} of ${}</li>",
        (
            (
                a.created_at.strftime("%Y-%m-%d %H:%M"),
                a.budget_id,
                a.budget.workspace.slug,
                a.kind,
                "forecast overrun" if a.kind == "forecast" else f"{a.threshold * 100:.0f}%",
                a.spent_usd,
                a.limit_usd,
            )
            for a in alerts
        ),
    )
    return format_html(
        '<div class="errornote" id="gp-budget-alerts"><strong>Budget alerts</strong>'
        "<ul>{}</ul></div>",
        items,
    )
