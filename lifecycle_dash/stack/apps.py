from __future__ import annotations

from django.apps import AppConfig


class StackConfig(AppConfig):
    name = "lifecycle_dash.stack"
    label = "stack"
