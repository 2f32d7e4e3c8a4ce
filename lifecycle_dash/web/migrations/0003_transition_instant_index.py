"""An index for "the cluster at instant T" (web/timetravel.py) on the partitioned history.

Per pod the latest KUBECTL_STATUS, and per container the latest CONTAINER_READY and
CONTAINER_RESTART, at or before T: equality on (pod_uid, kind), DISTINCT ON subject, newest
``at`` first. On a partitioned table CREATE INDEX cascades to every partition, present and
future (partitions.py creates them by ``PARTITION OF``, which inherits the index).
"""

from __future__ import annotations

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS web_transition_instant "
    "ON ingest_transition (pod_uid, kind, subject, at)"
)
DROP = "DROP INDEX IF EXISTS web_transition_instant"


class Migration(migrations.Migration):
    dependencies = [
        ("web", "0002_incident"),
        ("ingest", "0002_partitioned_history"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
