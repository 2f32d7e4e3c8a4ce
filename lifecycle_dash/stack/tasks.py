"""Tasks of the stack itself (the watch tasks live in lifecycle_dash.ingest.tasks)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import connection


@shared_task(name="lifecycle_dash.stack.tasks.probe", ignore_result=False)
def probe() -> dict[str, Any]:
    """End-to-end check of a queue: a worker took the task and reached PostgreSQL."""
    from celery import current_task

    with connection.cursor() as cursor:
        cursor.execute("SELECT now(), current_database()")
        now, database = cursor.fetchone()
    return {
        "worker": current_task.request.hostname,
        "database": database,
        "db_time": now.isoformat(),
    }
