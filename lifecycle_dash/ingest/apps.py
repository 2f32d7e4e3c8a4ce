from __future__ import annotations

from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "lifecycle_dash.ingest"
    label = "ingest"
