from __future__ import annotations

from django.contrib import admin

from lifecycle_dash.access.models import AccessGrant


@admin.register(AccessGrant)
class AccessGrantAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("__str__", "cluster", "namespace_pattern", "note", "created_at")
    list_filter = ("cluster", "group")
    list_select_related = ("user", "group", "cluster")
    search_fields = ("user__username", "group__name", "namespace_pattern", "note")
    autocomplete_fields = ("user", "group")
    fields = ("user", "group", "cluster", "namespace_pattern", "note")
