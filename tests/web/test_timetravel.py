"""The cluster at instant T: every kubectl column as the simulator's served object printed it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection

from lifecycle_dash.ingest.models import Cluster
from lifecycle_dash.lifecycle.kubectl import kubectl_columns
from lifecycle_dash.lifecycle.snapshot import snapshot_from_pod
from lifecycle_dash.web import timetravel
from lifecycle_dash.web.filters import parse_pod_filter
from lifecycle_dash.web.timetravel import UNKNOWN_STATUS, cluster_at, steps_around
from tests.web.review_scenario import Played, ingest
from tests.web.test_review_pages import demo_played

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.fixture
def played() -> Played:
    return demo_played()


@pytest.fixture
def cluster(played: Played) -> Cluster:
    cluster = Cluster.objects.create(name="demo", source=Cluster.Source.SIMULATOR)
    ingest(played, cluster=cluster)
    return cluster


def served_columns(played: Played, at):
    """name -> (STATUS, READY, RESTARTS, AGE) of the objects served at ``at``."""
    names = played.names()
    out = {}
    for uid, history in played.served.items():
        current = [obj for moment, obj in history if moment <= at]
        if current and current[-1] is not None:
            columns = kubectl_columns(snapshot_from_pod(current[-1]), now=at)
            out[names[uid]] = (columns.status, columns.ready, columns.restarts, columns.age)
    return out


@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.8, 0.97])
def test_status_ready_restarts_and_age_are_what_kubectl_printed_then(
    cluster, played, fraction, django_assert_num_queries
):
    at = played.start + (played.end - played.start) * fraction
    expected = served_columns(played, at)

    with django_assert_num_queries(1):
        table = cluster_at(pod_filter=parse_pod_filter({}), at=at)

    shown = {row.name: (row.status, row.ready, row.restarts, row.age) for row in table.rows}
    assert shown == expected


@pytest.mark.parametrize(
    "candidates",
    [
        pytest.param(timetravel.STATUS_CANDIDATES, id="probing-the-candidates"),
        pytest.param(0, id="walking-every-pod"),
    ],
)
def test_a_status_filter_lists_exactly_the_pods_that_had_that_status_then(
    cluster, played, candidates, monkeypatch, django_assert_num_queries
):
    # Both ways of answering agree: the candidates from the index, and (a STATUS with more
    # transitions than the threshold) the walk over every pod alive at T.
    monkeypatch.setattr(timetravel, "STATUS_CANDIDATES", candidates)
    for fraction in (0.35, 0.75):
        at = played.start + (played.end - played.start) * fraction
        expected = served_columns(played, at)
        statuses = {status for status, *_ in expected.values()} | {"NoSuchStatus"}
        for status in statuses:
            # Running and Completed always walk: no candidates query.
            with django_assert_num_queries(1 if status in ("Running", "Completed") else 2):
                table = cluster_at(pod_filter=parse_pod_filter({"status": status}), at=at)

            shown = {row.name for row in table.rows}
            assert shown == {name for name, columns in expected.items() if columns[0] == status}
            assert all(row.status == status for row in table.rows)


def test_the_status_candidates_come_from_their_partial_index(cluster, played):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'ingest_transition_status_then'::regclass"
        )
        indexes = {name for (name,) in cursor.fetchall()}
        # The demo's partitions are small enough for a sequential scan to be cheaper.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN " + timetravel._CANDIDATES_SQL, ["OOMKilled", played.end, played.end, 10]
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert indexes
    assert any(name in plan for name in indexes), plan


def test_a_crash_looping_pod_shows_its_restarts_with_their_age_at_that_instant(cluster, played):
    at = played.end - timedelta(seconds=2)
    table = cluster_at(pod_filter=parse_pod_filter({"namespace": "workers"}), at=at)

    [row] = [r for r in table.rows if r.name.startswith("queue-worker-")]
    assert re.fullmatch(r"\d+ \(\d+(s|m\d*s?)\s*ago\)", row.restarts), row.restarts
    assert int(row.restarts.split()[0]) >= 3


def test_pages_follow_the_dashboard_order_and_keyset(cluster, played):
    at = played.start + (played.end - played.start) * 0.9
    first = cluster_at(pod_filter=parse_pod_filter({"limit": "10"}), at=at)
    assert first.next_cursor is not None
    from lifecycle_dash.web.filters import encode_cursor

    second = cluster_at(
        pod_filter=parse_pod_filter({"limit": "10", "after": encode_cursor(first.next_cursor)}),
        at=at,
    )
    names = [r.name for r in first.rows + second.rows]
    assert len(set(names)) == len(names)
    keys = [(r.namespace, r.name) for r in first.rows + second.rows]
    assert keys == sorted(keys)


def test_a_pod_first_observed_after_t_is_marked_not_observed(cluster, played):
    from lifecycle_dash.ingest.models import Pod

    pod = Pod.objects.filter(cluster=cluster).order_by("first_observed_at").last()
    assert pod is not None
    Pod.objects.filter(pk=pod.pk).update(created_at=played.start - timedelta(hours=1))
    at = pod.first_observed_at - timedelta(seconds=1)

    table = cluster_at(pod_filter=parse_pod_filter({"namespace": pod.namespace}), at=at)

    [row] = [r for r in table.rows if r.uid == pod.uid]
    assert row.status == UNKNOWN_STATUS


def test_steps_land_on_status_changes_around_t(cluster, played):
    at = played.start + (played.end - played.start) / 2
    previous, following = steps_around(at=at, cluster="demo", start=played.start, end=played.end)
    assert previous is not None
    assert following is not None
    assert previous < at < following
    # Stepping onto the next change shows it.
    before = {r.uid: r.status for r in cluster_at(pod_filter=parse_pod_filter({}), at=at).rows}
    after = {
        r.uid: r.status for r in cluster_at(pod_filter=parse_pod_filter({}), at=following).rows
    }
    assert before != after
