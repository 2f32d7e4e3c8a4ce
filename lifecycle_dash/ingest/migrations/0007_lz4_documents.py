"""lz4 compression for the JSON documents written on every flush, where the server has it.

Pod snapshots (kilobytes each, rewritten on every change of the pod) and the termination and
startup analyses are stored compressed once past 2 kB. PostgreSQL's default, pglz, was a sixth
of the server's CPU in the ingest benchmark; lz4 compresses several times faster (a little
less tightly). It applies to values written from now on; existing ones stay readable as they
are. A server built without lz4 keeps pglz.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

COLUMNS = (
    ("ingest_pod", "snapshot"),
    ("ingest_terminationrecord", "analysis"),
    ("ingest_startuprecord", "analysis"),
)


def _set(method: str) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT %s = ANY(enumvals) FROM pg_settings "
                "WHERE name = 'default_toast_compression'",
                [method],
            )
            row = cursor.fetchone()
            if not (row and row[0]):
                return
            for table, column in COLUMNS:
                cursor.execute(
                    f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method}"
                )

    return run


class Migration(migrations.Migration):
    dependencies = [("ingest", "0006_transition_status_then")]

    operations = [migrations.RunPython(_set("lz4"), _set("pglz"))]
