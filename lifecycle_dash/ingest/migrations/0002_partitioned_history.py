"""The time-partitioned history tables (Django cannot declare PARTITION BY RANGE).

See ingest/models.py and ingest/partitions.py. No DEFAULT partition on purpose.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import migrations

CREATE = """
CREATE TABLE ingest_transition (
    id bigserial NOT NULL,
    observed_at timestamptz NOT NULL,
    cluster_id bigint NOT NULL,
    pod_uid varchar(64) NOT NULL,
    kind varchar(32) NOT NULL,
    subject varchar(253) NOT NULL,
    old jsonb,
    new jsonb,
    at timestamptz NOT NULL,
    api_time timestamptz,
    time_source varchar(8) NOT NULL,
    key text NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (id, observed_at)
) PARTITION BY RANGE (observed_at);
-- Pod timeline: one pod's transitions in time order.
CREATE INDEX ingest_transition_timeline ON ingest_transition (pod_uid, at);
-- Incident review: what happened in a window, by kind (crashes, OOM kills, deletions...).
CREATE INDEX ingest_transition_review ON ingest_transition (at, kind);

CREATE TABLE ingest_eventoccurrence (
    id bigserial NOT NULL,
    observed_at timestamptz NOT NULL,
    cluster_id bigint NOT NULL,
    pod_uid varchar(64) NOT NULL,
    event_uid varchar(300) NOT NULL,
    ordinal integer NOT NULL,
    key text NOT NULL,
    type varchar(16) NOT NULL,
    reason varchar(128) NOT NULL,
    container_name varchar(253) NOT NULL,
    message text NOT NULL,
    at timestamptz,
    earliest timestamptz,
    latest timestamptz,
    sort_at timestamptz NOT NULL,
    time_source text NOT NULL,
    PRIMARY KEY (id, observed_at)
) PARTITION BY RANGE (observed_at);
-- Pod timeline: one pod's event occurrences in time order.
CREATE INDEX ingest_eventoccurrence_timeline ON ingest_eventoccurrence (pod_uid, sort_at);
-- Incident review: occurrences in a window, by reason (OOMKilling, Evicted, BackOff...).
CREATE INDEX ingest_eventoccurrence_review ON ingest_eventoccurrence (sort_at, reason);
"""

DROP = "DROP TABLE IF EXISTS ingest_eventoccurrence; DROP TABLE IF EXISTS ingest_transition;"


def partitions_for_today(apps: Any, schema_editor: Any) -> None:
    from lifecycle_dash.ingest.partitions import create_partitions_ahead

    create_partitions_ahead(today=datetime.now(tz=UTC).date())


class Migration(migrations.Migration):
    dependencies = [("ingest", "0001_initial")]

    operations = [
        migrations.RunSQL(CREATE, DROP),
        migrations.RunPython(partitions_for_today, migrations.RunPython.noop),
    ]
