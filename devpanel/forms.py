"""The forms of the dev panel's pages: the cache flush filter and the pasted validator."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from core.inputs import json_value_check
from generations.models import Strategy, Workspace


class FlushForm(forms.Form):
    strategy = forms.ChoiceField(
        choices=[("", "any strategy")] + [c for c in Strategy.choices if c[0] != "always"],
        required=False,
    )
    workspace = forms.ModelChoiceField(
        queryset=Workspace.objects.all(), required=False, empty_label="any workspace"
    )
    scene = forms.CharField(required=False, max_length=200, help_text="From or to scene id.")
    key = forms.CharField(required=False, max_length=600, help_text="One full cache key.")
    everything = forms.BooleanField(required=False, label="Every slot")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        chosen = [cleaned.get(k) for k in ("strategy", "workspace", "scene", "key")]
        if not any(chosen) and not cleaned.get("everything"):
            raise forms.ValidationError("Choose a filter, or tick 'Every slot'.")
        return cleaned


class ValidateForm(forms.Form):
    workspace = forms.ModelChoiceField(queryset=Workspace.objects.all())
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 16, "cols": 90, "class": "gp-code"}),
        help_text="A node config, or a whole create request with a 'config' key (JSON; "
        "camelCase accepted).",
    )

    def clean_body(self) -> dict[str, Any]:
        try:
            value = json.loads(self.cleaned_data["body"])
        except ValueError as exc:
            raise forms.ValidationError(f"Not JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("A JSON object.")
        bad = json_value_check(value)
        if bad is not None:
            raise forms.ValidationError(f"{bad.field}: {bad.message}", code=bad.code)
        return value
