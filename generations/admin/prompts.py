"""Prompt families and their versions (editable, validated)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from ..models import PromptFamily, PromptVersion
from ..services.prompts import placeholders


class PromptVersionForm(forms.ModelForm):
    class Meta:
        model = PromptVersion
        fields = ["family", "version_number", "template", "variables", "is_active", "weight"]

    def clean_variables(self) -> dict[str, Any]:
        value = self.cleaned_data["variables"] or {}
        if not isinstance(value, dict):
            raise forms.ValidationError('A JSON object: {"name": "default" or null}.')
        for name, default in value.items():
            if not name.isidentifier():
                raise forms.ValidationError(f"{name!r} is not a valid variable name.")
            if default is not None and not isinstance(default, str | int | float | bool):
                raise forms.ValidationError(f"The default of {name!r} must be a scalar.")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        template = cleaned.get("template") or ""
        if not template.strip():
            self.add_error("template", "The template is empty.")
        return cleaned


class PromptVersionInline(admin.TabularInline):
    model = PromptVersion
    form = PromptVersionForm
    extra = 0
    fields = ["version_number", "template", "variables", "is_active", "weight"]


@admin.register(PromptFamily)
class PromptFamilyAdmin(admin.ModelAdmin):
    list_display = ["slug", "title", "workspace", "created_at"]
    list_select_related = ["workspace"]
    list_filter = ["workspace"]
    search_fields = ["slug", "title"]
    inlines = [PromptVersionInline]


@admin.register(PromptVersion)
class PromptVersionAdmin(admin.ModelAdmin):
    form = PromptVersionForm
    list_display = ["family", "version_number", "is_active", "weight", "placeholder_names"]
    list_select_related = ["family"]
    list_filter = ["is_active", "family__workspace"]
    search_fields = ["family__slug", "template"]

    @admin.display(description="placeholders")
    def placeholder_names(self, obj: PromptVersion) -> str:
        return ", ".join(placeholders(obj.template))
