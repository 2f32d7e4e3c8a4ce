from __future__ import annotations

from django.apps import AppConfig


class StackConfig(AppConfig):
    name = "lifecycle_dash.stack"
    label = "stack"

    def ready(self) -> None:
        # Make the project's Celery app the current one in every Django process, so tasks
        # sent from views and tests use its broker and routes.
        import lifecycle_dash.celery  # noqa: F401
