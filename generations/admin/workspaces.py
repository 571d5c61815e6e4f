"""Workspaces and their memberships (editable)."""

from __future__ import annotations

from django.contrib import admin

from ..models import Workspace, WorkspaceMembership


class MembershipInline(admin.TabularInline):
    model = WorkspaceMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "max_content_rating", "default_provider", "created_at"]
    list_select_related = ["default_provider"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline]
