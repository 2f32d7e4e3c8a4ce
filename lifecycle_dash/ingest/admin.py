"""Admin: clusters with write-only credentials; streams and gaps read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from lifecycle_dash.ingest.models import Cluster, ObservationGap, WatchStream


class ClusterForm(forms.ModelForm):  # type: ignore[type-arg]
    # Write-only: the stored kubeconfig is never rendered back, not even encrypted.
    kubeconfig = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "autocomplete": "off"}),
        help_text="Paste a kubeconfig to replace the stored one; leave empty to keep it.",
    )

    class Meta:
        model = Cluster
        fields = (
            "name",
            "source",
            "context",
            "namespaces",
            "exclude_namespaces",
            "enabled",
        )

    def save(self, commit: bool = True) -> Cluster:
        cluster: Cluster = super().save(commit=False)
        content = self.cleaned_data.get("kubeconfig") or ""
        if content:
            cluster.set_kubeconfig(content)
        if commit:
            cluster.save()
        return cluster


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = ClusterForm
    list_display = ("name", "source", "context", "status", "status_at", "enabled")
    readonly_fields = ("credentials", "status", "status_message", "status_at", "created_at")

    @admin.display(description="stored kubeconfig")
    def credentials(self, obj: Cluster) -> str:
        return obj.kubeconfig_masked


class _ReadOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WatchStream)
class WatchStreamAdmin(_ReadOnly):
    list_display = (
        "cluster",
        "resource",
        "resource_version",
        "checkpoint_at",
        "events_per_second",
        "last_event_at",
        "lease_owner",
        "lease_expires_at",
        "last_error_at",
    )
    list_filter = ("resource",)


@admin.register(ObservationGap)
class ObservationGapAdmin(_ReadOnly):
    list_display = ("cluster", "resource", "started_at", "ended_at", "reason")
    list_filter = ("resource",)
