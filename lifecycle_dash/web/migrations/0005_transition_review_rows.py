"""A covering index of the transitions a review classifies (web/selectors_review.py).

``review_window`` reads, for a window, the container exits and restarts, the image and
configuration waits, deletion requests and creations: a few percent of the window's
transitions, each on a different heap page of a partition (history is laid out by receive
time, pod after pod). Through ``ingest_transition_review (at, kind)`` a busy hour cost some
16,000 heap pages read per review. This index holds just those rows, ordered by ``at``, with
every column the review reads, so the read is an index-only scan of a few hundred pages.

Partial, for its size and write cost: the predicate is the review's own filter, which the
query repeats word for word (``selectors_review.REVIEW_ROWS_PREDICATE``) so the planner can
match it; a waiting reason added to ``lifecycle.review.REVIEW_WAITING_REASONS`` needs a new
migration. On a partitioned table CREATE INDEX cascades to every partition, present and future.
"""

from __future__ import annotations

from django.db import migrations

PREDICATE = (
    "kind IN ('container_state', 'container_restart', 'deletion_requested', 'pod_created') "
    "AND (kind <> 'container_state' OR (new #>> '{}') LIKE 'terminated%' "
    "OR (new #>> '{}') IN ('waiting:CreateContainerConfigError', "
    "'waiting:CreateContainerError', 'waiting:ErrImageNeverPull', 'waiting:ErrImagePull', "
    "'waiting:ImagePullBackOff', 'waiting:InvalidImageName', 'waiting:RunContainerError'))"
)
CREATE = (
    "CREATE INDEX IF NOT EXISTS web_transition_review_rows ON ingest_transition (at) "
    "INCLUDE (observed_at, kind, pod_uid, subject, new, key, detail, cluster_id) "
    f"WHERE {PREDICATE}"
)
DROP = "DROP INDEX IF EXISTS web_transition_review_rows"


class Migration(migrations.Migration):
    dependencies = [
        ("web", "0004_pod_dashboard_indexes"),
        ("ingest", "0002_partitioned_history"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
