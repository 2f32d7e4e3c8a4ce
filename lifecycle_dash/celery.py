"""The Celery application: queue "watch" for watch slices, "default" for everything else."""

from __future__ import annotations

import os

from celery import Celery

from lifecycle_dash.stack.heartbeat import Heartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lifecycle_dash.settings")

app = Celery("lifecycle_dash")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.steps["worker"].add(Heartbeat)
app.autodiscover_tasks()
