"""The cluster at instant T: the dashboard's table as it was, rebuilt from history.

Pods alive at T are the dashboard's filter over ``ingest_pod`` with "deleted" reaching back
to T (not deleted before T) and created at or before T. Per pod, correlated subqueries read
the newest history at or before T, each one backward probe of the ``web_transition_instant``
index (pod_uid, kind, subject, at):

* STATUS: the latest ``KUBECTL_STATUS`` (kubectl's STATUS column as it was printed then);
* READY: containers whose latest ``CONTAINER_READY`` is true, over the pod's READY
  denominator (containers + sidecars, fixed for a pod's life, read from its current row);
* RESTARTS: per container the latest ``CONTAINER_RESTART`` number, summed, and for the
  "(5m ago)" part the newest ``lastState.terminated.finishedAt`` known at T (carried by
  ``CONTAINER_RESTART`` and ``CONTAINER_LAST_STATE``), aged from T.

``observed_at`` is bounded on both sides (from the pod's first observation to T plus a
margin) so the planner prunes partitions outside the pod's life. One query for a page of rows
(keyset by cluster, namespace, name, id, like the dashboard's default sort) and one for the
previous/next STATUS change around T (the stepping links).

A STATUS filter costs one more query. Walking the pods in page order and probing each one's
STATUS finds a page soon when many pods had that STATUS, but probes every pod alive at T when
few or none did. So the filter first reads its candidates from the
``ingest_transition_status_then`` index: the pods with a transition to that STATUS at or
before T (a pod without one cannot have had it). When there are at most ``STATUS_CANDIDATES``
such transitions, only those pods are probed; when there are more, the STATUS is common and
the walk in page order is the faster way. Running and Completed, the most common of all, are
not in the index (ingest pays for each entry) and always walk.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import BooleanField, DateTimeField, IntegerField, Q, QuerySet, TextField
from django.db.models.expressions import RawSQL

from lifecycle_dash.access.scope import EVERYTHING, AccessScope
from lifecycle_dash.ingest.models import Pod
from lifecycle_dash.web.filters import Cursor, PodFilter, Sort
from lifecycle_dash.web.rendering import PodRow, pod_row
from lifecycle_dash.web.selectors import DELETED_WINDOW, ROW_FIELDS, pod_queryset, uid_in

__all__ = ["UNKNOWN_STATUS", "ClusterAt", "cluster_at", "steps_around"]

# Receipt after T that still describes T (API times precede receipt by the watch lag).
_AFTER = timedelta(minutes=5)
UNKNOWN_STATUS = "<not observed yet>"
_STEP_REACH = timedelta(hours=6)
STATUS_CANDIDATES = 5000
# The partial index's predicate, word for word (ingest migration 0006).
STATUS_THEN_PREDICATE = (
    "kind = 'kubectl_status' AND new <> '\"Running\"' AND new <> '\"Completed\"'"
)
_WALKED_STATUSES = frozenset({"Running", "Completed"})
_CANDIDATES_SQL = (
    f"SELECT pod_uid FROM ingest_transition WHERE {STATUS_THEN_PREDICATE} "
    "AND new = to_jsonb(%s::text) AND at <= %s AND observed_at <= %s LIMIT %s"
)

_BOUNDS = (
    "AND t.observed_at >= ingest_pod.first_observed_at - interval '1 day' "
    "AND t.observed_at <= %s AND t.at <= %s"
)
_STATUS_SQL = (
    "(SELECT t.new #>> '{}' FROM ingest_transition t WHERE t.pod_uid = ingest_pod.uid "
    "AND t.kind = 'kubectl_status' AND t.subject = '' " + _BOUNDS + " ORDER BY t.at DESC LIMIT 1)"
)
_READY_SQL = (
    "(SELECT count(*) FROM (SELECT DISTINCT ON (t.subject) t.new FROM ingest_transition t "
    "WHERE t.pod_uid = ingest_pod.uid AND t.kind = 'container_ready' " + _BOUNDS + " "
    "ORDER BY t.subject, t.at DESC) r WHERE r.new = 'true'::jsonb)"
)
_RESTARTS_SQL = (
    "(SELECT coalesce(sum((r.new #>> '{}')::int), 0) FROM (SELECT DISTINCT ON (t.subject) "
    "t.new FROM ingest_transition t WHERE t.pod_uid = ingest_pod.uid "
    "AND t.kind = 'container_restart' " + _BOUNDS + " ORDER BY t.subject, t.at DESC) r)"
)
# kubectl ages RESTARTS from lastState.terminated.finishedAt: a restart carries it, and so
# does a new lastState without a restart yet (a crash-looping container in back-off).
_LAST_RESTART_SQL = (
    "(SELECT max(t.at) FROM ingest_transition t WHERE t.pod_uid = ingest_pod.uid "
    "AND t.kind IN ('container_restart', 'container_last_state') "
    "AND t.time_source = 'api' " + _BOUNDS + ")"
)


@dataclass(frozen=True, slots=True)
class ClusterAt:
    at: datetime
    rows: list[PodRow]
    next_cursor: Cursor | None


def _pods_alive(pod_filter: PodFilter, at: datetime) -> QuerySet[Pod]:
    alive = replace(pod_filter, include_deleted=True, status="", after=None)
    pods = pod_queryset(pod_filter=alive, now=at + DELETED_WINDOW)
    return pods.filter(
        Q(created_at__lte=at) | Q(created_at__isnull=True, first_observed_at__lte=at)
    )


def cluster_at(*, pod_filter: PodFilter, at: datetime) -> ClusterAt:
    """A page of the dashboard's table as it was at ``at`` (1 query; 2 with a STATUS filter)."""
    bounds = (at + _AFTER, at)
    pods = _pods_alive(pod_filter, at).annotate(
        status_at=RawSQL(_STATUS_SQL, bounds, output_field=TextField()),
        ready_at=RawSQL(_READY_SQL, bounds, output_field=IntegerField()),
        restarts_at=RawSQL(_RESTARTS_SQL, bounds, output_field=IntegerField()),
        last_restart_at_t=RawSQL(_LAST_RESTART_SQL, bounds, output_field=DateTimeField()),
    )
    if pod_filter.status:
        candidates = _status_candidates(pod_filter.status, at)
        if candidates is not None:
            pods = pods.filter(uid_in(candidates))
        pods = pods.filter(status_at=pod_filter.status)
    cursor = pod_filter.after
    if cursor is not None and cursor.sort is Sort.NAME and len(cursor.key) == 3:
        pods = pods.filter(
            RawSQL(
                "(ingest_pod.cluster_id, ingest_pod.namespace, ingest_pod.name, ingest_pod.id) "
                "> (%s, %s, %s, %s)",
                (*cursor.key, cursor.id),
                output_field=BooleanField(),
            )
        )
    found = list(
        pods.order_by("cluster_id", "namespace", "name", "id")
        .select_related("cluster")
        .only(*ROW_FIELDS)[: pod_filter.limit + 1]
    )
    next_cursor = None
    if len(found) > pod_filter.limit:
        found = found[: pod_filter.limit]
        last = found[-1]
        next_cursor = Cursor(Sort.NAME, (last.cluster_id, last.namespace, last.name), last.pk)
    rows = []
    for pod in found:
        # The row as kubectl printed it at T: the pod was not deleted yet then.
        total = pod.ready.partition("/")[2] or "?"
        status: str | None = getattr(pod, "status_at", None)
        pod.status = status or UNKNOWN_STATUS
        pod.ready = f"{getattr(pod, 'ready_at', 0)}/{total}"
        pod.restarts = int(getattr(pod, "restarts_at", 0) or 0)
        pod.last_restart_at = getattr(pod, "last_restart_at_t", None)
        pod.deleted_at = None
        rows.append(pod_row(pod, now=at))
    return ClusterAt(at=at, rows=rows, next_cursor=next_cursor)


def _status_candidates(status: str, at: datetime) -> list[str] | None:
    """The pods with a transition to ``status`` at or before ``at``; None if there are many.

    ``new = to_jsonb(status)`` is ``new #>> '{}' = status`` for the JSON strings STATUS
    transitions carry, in the form the index can use.
    """
    if status in _WALKED_STATUSES:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_CANDIDATES_SQL, [status, at, at + _AFTER, STATUS_CANDIDATES + 1])
        rows = cursor.fetchall()
    if len(rows) > STATUS_CANDIDATES:
        return None
    return sorted({uid for (uid,) in rows})


def steps_around(
    *,
    at: datetime,
    cluster: str,
    start: datetime,
    end: datetime,
    access: AccessScope = EVERYTHING,
) -> tuple[datetime | None, datetime | None]:
    """The previous and next STATUS change in [start, end] around ``at`` (1 query).

    Both are backward/forward walks of the ``(at, kind)`` review index that stop at the first
    row; ``observed_at`` bounds keep them inside the window's partitions.
    """
    cluster_sql = ""
    by_cluster: list[Any] = []
    if cluster:
        cluster_sql = "AND cluster_id = (SELECT id FROM ingest_cluster WHERE name = %s)"
        by_cluster.append(cluster)
    if not access.everything:
        # Only changes of pods the viewer may see: a step must not reveal that others changed.
        reachable, reachable_params = (
            Pod.objects.filter(access.pod_q()).values("uid").query.sql_with_params()
        )
        cluster_sql += f" AND pod_uid IN ({reachable})"
        by_cluster.extend(reachable_params)
    # Steps stay within hours of T: an index walk towards a far window bound would read
    # every STATUS change in between.
    start, end = max(start, at - _STEP_REACH), min(end, at + _STEP_REACH)
    if end <= start:
        return None, None
    low, high = start - timedelta(minutes=15), end + timedelta(hours=6)
    prev_sql = (
        "SELECT at FROM ingest_transition WHERE kind = 'kubectl_status' AND at < %s AND at >= %s "
        f"AND observed_at >= %s AND observed_at <= %s {cluster_sql} ORDER BY at DESC LIMIT 1"
    )
    next_sql = (
        "SELECT at FROM ingest_transition WHERE kind = 'kubectl_status' AND at > %s AND at <= %s "
        f"AND observed_at >= %s AND observed_at <= %s {cluster_sql} ORDER BY at LIMIT 1"
    )
    params: list[Any] = [
        at,
        start,
        low,
        high,
        *by_cluster,
        at,
        end,
        low,
        high,
        *by_cluster,
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ({prev_sql}), ({next_sql})", params)
        row = cursor.fetchone()
    if row is None:
        return None, None
    return row[0], row[1]
