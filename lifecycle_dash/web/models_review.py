"""Saved incidents: a named review window with its filters and free-text notes."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.db import models

from lifecycle_dash.lifecycle import format_rfc3339

__all__ = ["Incident"]


class Incident(models.Model):
    name = models.CharField(max_length=200)
    start = models.DateTimeField()
    end = models.DateTimeField()
    # The review's filters, as the review page takes them ("" = any).
    cluster = models.CharField(max_length=63, blank=True, default="")
    namespace = models.CharField(max_length=253, blank=True, default="")
    selector = models.CharField(max_length=1024, blank=True, default="")
    notes = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="incidents",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-start", "-id")
        indexes = (
            # The incident list, newest window first.
            models.Index(fields=("-start", "-id"), name="web_incident_start"),
        )
        constraints = (
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="web_incident_window"
            ),
        )

    def __str__(self) -> str:
        return self.name

    def review_query(self) -> str:
        """The review page's query string for this incident's window and filters."""
        params = {
            "from": format_rfc3339(self.start),
            "to": format_rfc3339(self.end),
            "cluster": self.cluster,
            "namespace": self.namespace,
            "selector": self.selector,
        }
        return urlencode({k: v for k, v in params.items() if v})
