from __future__ import annotations

from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "lifecycle_dash.live"
    label = "live"
