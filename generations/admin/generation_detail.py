"""The read-only fields of a generation's detail page: timeline, request, prompt, cache
slot, outcome and the generations related to it."""

from __future__ import annotations

from datetime import datetime

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from caching.services import cache_slot_get

from ..models import Generation
from .widgets import admin_link, ms, pretty_json, status_chip


class GenerationDetailMixin(admin.ModelAdmin):
    """The display methods named in ``GenerationAdmin.fieldsets``."""

    @admin.display(description="links")
    def links(self, obj: Generation) -> SafeString:
        parts = [
            ("workspace", admin_link(obj.workspace)),
            ("provider", admin_link(obj.provider)),
            ("prompt version", admin_link(obj.prompt_version)),
            ("parent", admin_link(obj.parent, str(obj.parent_id)[:8] if obj.parent_id else None)),
        ]
        return format_html_join(" · ", "{}: {}", parts)

    @admin.display(description="timeline")
    def timeline(self, obj: Generation) -> SafeString:
        rows: list[tuple[str, datetime, float | None]] = [("created", obj.created_at, None)]
        if obj.started_at:
            rows.append(
                (
                    "started",
                    obj.started_at,
                    (obj.started_at - obj.created_at).total_seconds() * 1000,
                )
            )
        if obj.completed_at:
            since = obj.started_at or obj.created_at
            rows.append(
                (obj.status, obj.completed_at, (obj.completed_at - since).total_seconds() * 1000)
            )
        return format_html(
            '<table class="gp-timeline">{}</table>',
            format_html_join(
                "",
                "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
                (
                    (
                        label,
                        at.isoformat(timespec="milliseconds"),
                        "+" + ms(delta) if delta is not None else "",
                    )
                    for label, at, delta in rows
                ),
            ),
        )

    @admin.display(description="submitted request")
    def config_json(self, obj: Generation) -> SafeString:
        return pretty_json(obj.config)

    @admin.display(description="canonical params")
    def canonical_json(self, obj: Generation) -> SafeString:
        return pretty_json(obj.canonical_params)

    @admin.display(description="social context")
    def social_json(self, obj: Generation) -> SafeString:
        return pretty_json(obj.social_context)

    @admin.display(description="resolution")
    def prompt_resolution(self, obj: Generation) -> SafeString:
        source = "prompt version" if obj.prompt_version_id else "inline"
        family = obj.prompt_version.family if obj.prompt_version else None
        return format_html(
            "<p>Source: {} {}</p><p>Variables:</p>{}<p>Final prompt:</p>"
            '<pre class="gp-json">{}</pre>',
            source,
            admin_link(obj.prompt_version, f"{family.slug} v{obj.prompt_version.version_number}")
            if obj.prompt_version and family
            else "",
            pretty_json(obj.template_variables),
            obj.final_prompt or "—",
        )

    @admin.display(description="slot state")
    def slot_state(self, obj: Generation) -> SafeString:
        if not obj.cache_key:
            return format_html("{}", "no slot (strategy always)")
        holder = cache_slot_get(workspace_id=obj.workspace_id, key=obj.cache_key)
        if holder is None:
            return format_html("{}", "empty (expired, flushed or released)")
        if holder == str(obj.id):
            return format_html("<strong>{}</strong>", "held by this generation")
        other = Generation.objects.filter(id=holder).first()
        return format_html("held by {}", admin_link(other, holder[:8]) if other else holder)

    @admin.display(description="error")
    def error_display(self, obj: Generation) -> SafeString:
        if not obj.error_code:
            return format_html("{}", "—")
        return format_html("<code>{}</code> {}", obj.error_code, obj.error_message)

    @admin.display(description="result")
    def result_display(self, obj: Generation) -> SafeString:
        result = obj.result or {}
        preview = SafeString("")
        media = str(result.get("media_url") or "")
        if media.startswith(("data:image/", "https://", "http://")):
            preview = format_html('<img class="gp-preview" src="{}" alt="result">', media)
        if result.get("text"):
            preview = format_html("<blockquote>{}</blockquote>", result["text"])
        shown = {
            k: (v if k != "media_url" or len(str(v)) < 200 else str(v)[:200] + "…")
            for k, v in result.items()
        }
        return format_html("{}{}", preview, pretty_json(shown))

    @admin.display(description="retries")
    def retries_list(self, obj: Generation) -> SafeString:
        retries = list(obj.retries.only("id", "status")[:20])
        if not retries:
            return format_html("{}", "—")
        return format_html_join(
            ", ", "{} {}", ((admin_link(r, str(r.id)[:8]), status_chip(r.status)) for r in retries)
        )

    @admin.display(description="same hash")
    def same_hash(self, obj: Generation) -> SafeString:
        siblings = list(
            Generation.objects.filter(
                workspace_id=obj.workspace_id, reproducible_hash=obj.reproducible_hash
            )
            .exclude(id=obj.id)
            .only("id", "status")
            .order_by("-created_at")[:20]
        )
        if not siblings:
            return format_html("{}", "—")
        return format_html_join(
            ", ",
            "{} {}",
            ((admin_link(s, str(s.id)[:8]), status_chip(s.status)) for s in siblings),
        )
