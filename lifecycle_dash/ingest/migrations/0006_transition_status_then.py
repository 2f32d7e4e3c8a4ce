"""An index for time travel's STATUS filter: the pods whose STATUS at instant T was X.

``web/timetravel.py`` decides a pod's STATUS at T by its latest ``kubectl_status`` transition
at or before T; a pod can only match X if it has some such transition with ``new = X`` at or
before T. For a STATUS few pods ever had (OOMKilled, Terminating, an image error), those
transitions are few, and this index finds them (with their pod, index-only) instead of probing
the history of every pod alive at T.

Partial, for its write cost: only ``kubectl_status`` transitions, and not those to Running or
Completed, by far the most frequent (every start and recovery) and the STATUS filters that
find a page of pods by walking them anyway. The query repeats this predicate word for word
(``timetravel.STATUS_THEN_PREDICATE``) so the planner can match it. On a partitioned table
CREATE INDEX cascades to every partition, present and future.
"""

from __future__ import annotations

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS ingest_transition_status_then "
    "ON ingest_transition (new, at) INCLUDE (pod_uid) "
    "WHERE kind = 'kubectl_status' AND new <> '\"Running\"' AND new <> '\"Completed\"'"
)
DROP = "DROP INDEX IF EXISTS ingest_transition_status_then"


class Migration(migrations.Migration):
    dependencies = [("ingest", "0005_startup_records")]

    operations = [migrations.RunSQL(CREATE, DROP)]
