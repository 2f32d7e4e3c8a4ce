from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.utils import DatabaseError

from lifecycle_dash.ingest import partitions
from lifecycle_dash.ingest.models import Pod, TerminationRecord, Transition
from lifecycle_dash.ingest.retention import history_drop_expired
from lifecycle_dash.ingest.tasks_maintenance import partitions_ahead


def insert_transition(*, observed_at: datetime, cluster_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ingest_transition (observed_at, cluster_id, pod_uid, kind, subject, at, "
            "time_source, key) VALUES (%s, %s, 'u', 'phase', '', %s, 'observed', 'k')",
            [observed_at, cluster_id, observed_at],
        )


@pytest.mark.django_db
def test_partitions_exist_from_yesterday_to_a_week_ahead_after_migrate() -> None:
    today = datetime.now(UTC).date()
    days = {(p.table, p.day) for p in partitions.list_partitions()}
    for table in partitions.PARTITIONED_TABLES:
        for offset in range(-1, partitions.DAYS_AHEAD + 1):
            assert (table, today + timedelta(days=offset)) in days


@pytest.mark.django_db
def test_the_beat_task_creates_missing_days_and_is_idempotent() -> None:
    today = datetime.now(UTC).date()
    with connection.cursor() as cursor:
        name = partitions.partition_name(table="ingest_transition", day=today + timedelta(days=3))
        cursor.execute(f'DROP TABLE "{name}"')
    partitions.forget_known_days()
    created = partitions_ahead()
    assert created == [name]
    assert partitions_ahead() == []


@pytest.mark.django_db
def test_a_row_outside_every_partition_is_refused_not_swallowed(cluster) -> None:
    far = datetime.now(UTC) + timedelta(days=400)
    with pytest.raises(DatabaseError, match="no partition"):
        insert_transition(observed_at=far, cluster_id=cluster.pk)


@pytest.mark.django_db
def test_retention_drops_whole_old_partitions_and_trims_deleted_pods(cluster) -> None:
    now = datetime.now(UTC)
    old_day = (now - timedelta(days=40)).date()
    partitions.create_partitions(days=[old_day, (now - timedelta(days=29)).date()])
    insert_transition(observed_at=now - timedelta(days=40), cluster_id=cluster.pk)
    insert_transition(observed_at=now - timedelta(days=29), cluster_id=cluster.pk)
    insert_transition(observed_at=now, cluster_id=cluster.pk)
    for uid, deleted in (("old", now - timedelta(days=31)), ("recent", now - timedelta(days=2))):
        Pod.objects.create(
            cluster=cluster,
            uid=uid,
            namespace="shop",
            name=uid,
            deleted_at=deleted,
            first_observed_at=deleted,
            last_observed_at=deleted,
        )
        TerminationRecord.objects.create(
            cluster=cluster, pod_uid=uid, cause="api_delete", analysis={}, computed_at=deleted
        )

    result = history_drop_expired(now=now, retention_days=30)

    assert set(result.dropped_partitions) == {
        partitions.partition_name(table=t, day=old_day) for t in partitions.PARTITIONED_TABLES
    }
    assert Transition.objects.count() == 2
    assert set(Pod.objects.values_list("uid", flat=True)) == {"recent"}
    assert set(TerminationRecord.objects.values_list("pod_uid", flat=True)) == {"recent"}
    remaining = {p.day for p in partitions.list_partitions()}
    assert old_day not in remaining
    assert now.date() in remaining
