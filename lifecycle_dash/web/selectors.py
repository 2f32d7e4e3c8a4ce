"""Reads for the dashboard (and the timeline page / JSON API): pods, counts, problems.

Every function takes keyword-only typed arguments and issues a bounded, fixed number of
queries (pinned in tests/web/test_dashboard_queries.py):

* ``pod_page``            1 query  keyset page in the filter's sort (never OFFSET)
* ``pod_status_counts``   1 query  one GROUP BY status over the filter minus its status
* ``pods_by_uid``         1 query  the consumer's re-read of a coalesced batch
* ``recent_problems``     3 queries (problem pods, SIGKILL/OOM terminations, problem events)
* ``cluster_names``       1 query

Access: the filter carries the viewer's ``AccessScope``; ``pod_queryset`` ANDs its predicate
into every pod query, ``pod_matches`` applies it in memory, and ``recent_problems`` and
``cluster_names`` take it too, so nothing outside the viewer's namespaces is read.

Keyset pagination: each sort is a total order ending in ``id``, compared as a row value
(``(a, b, id) > (...)``), which PostgreSQL answers from the matching index; OFFSET would read
and discard every earlier row, which is what makes deep pages slow at 150,000 pods.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    DateTimeField,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from lifecycle_dash.access.scope import EVERYTHING, AccessScope
from lifecycle_dash.ingest.models import Cluster, Pod, PodEvent, TerminationRecord
from lifecycle_dash.web.filters import Cursor, FilterError, LabelOp, PodFilter, Sort

__all__ = [
    "COUNT_EXACT_LIMIT",
    "DELETED_WINDOW",
    "PROBLEM_STATUSES",
    "PodPage",
    "Problem",
    "StatusCounts",
    "cluster_names",
    "pod_matches",
    "pod_page",
    "pod_queryset",
    "pod_sort_key",
    "pod_status_counts",
    "pods_by_uid",
    "recent_problems",
    "uid_in",
]

# Deleted pods stay on the dashboard (greyed) this long when "recently deleted" is on.
DELETED_WINDOW = timedelta(hours=1)
PROBLEMS_WINDOW = timedelta(hours=1)
# Filtered status counts are exact up to this many matching pods, estimated above.
COUNT_EXACT_LIMIT = 10_000
SAMPLE_PERCENT = 10

# kubectl STATUS values that mean "look at this pod".
PROBLEM_STATUSES = (
    "CrashLoopBackOff",
    "OOMKilled",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
    "Evicted",
    "Error",
    "Init:CrashLoopBackOff",
    "Init:Error",
    "Init:ImagePullBackOff",
    "Init:ErrImagePull",
    "Init:OOMKilled",
)
# core/v1 Event reasons that the problems panel shows.
PROBLEM_EVENT_REASONS = ("FailedScheduling", "Evicted", "OOMKilling", "Failed", "BackOff")

# Only the columns a row renders (the snapshot JSON can be kilobytes per pod).
ROW_FIELDS = (
    "id",
    "cluster_id",
    "cluster__name",
    "uid",
    "namespace",
    "name",
    "node_name",
    "owner_kind",
    "owner_name",
    "phase",
    "status",
    "ready",
    "restarts",
    "last_restart_at",
    "labels",
    "created_at",
    "first_observed_at",
    "deletion_requested_at",
    "deleted_at",
)

_AGE = "COALESCE(ingest_pod.created_at, ingest_pod.first_observed_at)"
# (SQL row value, direction): every sort is one direction so a row comparison pages it.
_KEYSET: dict[Sort, tuple[str, bool]] = {
    Sort.NAME: (
        "(ingest_pod.cluster_id, ingest_pod.namespace, ingest_pod.name, ingest_pod.id)",
        True,
    ),
    Sort.AGE: (f"({_AGE}, ingest_pod.id)", False),
    Sort.RESTARTS: ("(ingest_pod.restarts, ingest_pod.id)", False),
    Sort.STATUS: ("(ingest_pod.status, ingest_pod.id)", True),
}


@dataclass(frozen=True, slots=True)
class PodPage:
    pods: list[Pod]
    # Cursor of the next page, None on the last one.
    next_cursor: Cursor | None


@dataclass(frozen=True, slots=True)
class StatusCounts:
    by_status: list[tuple[str, int]]
    total: int
    # True when the filter matched more than COUNT_EXACT_LIMIT pods: the figures are scaled
    # from the planner's row estimate and shown with "≈".
    estimated: bool = False


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str  # crashloop | oom | sigkill | scheduling | image | eviction | error
    title: str
    detail: str
    at: datetime | None
    pod_uid: str
    cluster: str
    namespace: str
    name: str


def _label_q(requirement_key: str, op: LabelOp, values: Sequence[str]) -> Q:
    if op is LabelOp.EXISTS:
        return Q(labels__has_key=requirement_key)
    if op is LabelOp.NOT_EXISTS:
        return ~Q(labels__has_key=requirement_key)
    # `labels @> {"k": "v"}` is answered by the jsonb_path_ops GIN index.
    any_value = Q()
    for value in values:
        any_value |= Q(labels__contains={requirement_key: value})
    if op in (LabelOp.EQUALS, LabelOp.IN):
        return any_value
    return ~any_value


def pod_queryset(
    *,
    pod_filter: PodFilter,
    now: datetime,
    with_status: bool = True,
    cluster_id: int | None = None,
) -> QuerySet[Pod]:
    """Pods matching the filter (no ordering, no cursor). ``with_status=False`` drops STATUS.

    ``cluster_id``: the id of the filter's cluster when the caller knows it (saves a query).
    """
    pods = Pod.objects.all()
    if pod_filter.include_deleted:
        pods = pods.filter(Q(deleted_at__isnull=True) | Q(deleted_at__gte=now - DELETED_WINDOW))
    else:
        pods = pods.filter(deleted_at__isnull=True)
    if not pod_filter.access.everything:
        pods = pods.filter(pod_filter.access.pod_q())
    if pod_filter.cluster:
        # By id, not through a join on the name: the planner then knows from the column's
        # statistics how many pods the cluster has, and reads a small cluster through an
        # index instead of hash-joining a scan of every cluster's pods (60 ms, or seconds
        # from disk, at 150,000 pods, for each page and count of a 5,000-pod cluster).
        if cluster_id is None:
            cluster_id = (
                Cluster.objects.filter(name=pod_filter.cluster).values_list("id", flat=True).first()
            )
        # An unknown name matches nothing (cluster_id IS NULL), still as a real query: the
        # callers compose raw SQL from it, which an empty queryset cannot give.
        pods = (
            pods.filter(cluster_id=cluster_id)
            if cluster_id is not None
            else pods.filter(cluster_id__isnull=True)
        )
    if pod_filter.namespace:
        pods = pods.filter(namespace=pod_filter.namespace)
    if with_status and pod_filter.status:
        pods = pods.filter(status=pod_filter.status)
    if pod_filter.phase:
        pods = pods.filter(phase=pod_filter.phase)
    if pod_filter.node:
        pods = pods.filter(node_name=pod_filter.node)
    if pod_filter.owner_kind:
        pods = pods.filter(owner_kind=pod_filter.owner_kind)
    if pod_filter.owner_name:
        pods = pods.filter(owner_name=pod_filter.owner_name)
    for requirement in pod_filter.selector:
        pods = pods.filter(_label_q(requirement.key, requirement.op, requirement.values))
    if pod_filter.q:
        # The exact expression of the trigram index web_pod_search (migration 0004).
        pods = pods.filter(
            RawSQL(f"{_SEARCH} ILIKE %s", (_contains(pod_filter.q),), output_field=BooleanField())
        )
    return pods


_SEARCH = "(ingest_pod.name || ' ' || ingest_pod.namespace || ' ' || ingest_pod.node_name)"


def _contains(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _cursor_key(pod: Pod, sort: Sort) -> tuple[Any, ...]:
    if sort is Sort.NAME:
        return (pod.cluster_id, pod.namespace, pod.name)
    if sort is Sort.AGE:
        return (pod.created_at or pod.first_observed_at,)
    if sort is Sort.RESTARTS:
        return (pod.restarts,)
    return (pod.status,)


def _valid_cursor(cursor: Cursor) -> bool:
    shapes: dict[Sort, tuple[type, ...]] = {
        Sort.NAME: (int, str, str),
        Sort.AGE: (datetime,),
        Sort.RESTARTS: (int,),
        Sort.STATUS: (str,),
    }
    shape = shapes[cursor.sort]
    return len(cursor.key) == len(shape) and all(
        isinstance(v, t) and not (t is int and isinstance(v, bool))
        for v, t in zip(cursor.key, shape, strict=True)
    )


def pod_sort_key(pod: Pod, sort: Sort) -> tuple[Any, ...]:
    """The ascending Python key of the sort order, equal to the SQL order (C collation)."""
    key = _cursor_key(pod, sort)
    if sort is Sort.AGE:
        return (-key[0].timestamp(), -pod.pk)
    if sort is Sort.RESTARTS:
        return (-key[0], -pod.pk)
    return (*key, pod.pk)


def _ordered(pods: QuerySet[Pod], sort: Sort) -> QuerySet[Pod]:
    if sort is Sort.NAME:
        return pods.order_by("cluster_id", "namespace", "name", "id")
    if sort is Sort.AGE:
        age = Coalesce("created_at", "first_observed_at", output_field=DateTimeField())
        return pods.order_by(age.desc(), "-id")
    if sort is Sort.RESTARTS:
        return pods.order_by("-restarts", "-id")
    return pods.order_by("status", "id")


def pod_page(*, pod_filter: PodFilter, now: datetime, cluster_id: int | None = None) -> PodPage:
    """One page of pods in the filter's sort, after its cursor (one query, and one for the
    cluster's id when the filter names a cluster and ``cluster_id`` is not given)."""
    pods = pod_queryset(pod_filter=pod_filter, now=now, cluster_id=cluster_id)
    cursor = pod_filter.after
    if cursor is not None:
        if not _valid_cursor(cursor):
            raise FilterError("after", "is not a page cursor of this dashboard")
        row, ascending = _KEYSET[pod_filter.sort]
        placeholders = ", ".join(["%s"] * (len(cursor.key) + 1))
        comparison = RawSQL(
            f"{row} {'>' if ascending else '<'} ({placeholders})",
            (*cursor.key, cursor.id),
            output_field=BooleanField(),
        )
        pods = pods.filter(comparison)
    # One extra row tells whether a next page exists without a COUNT.
    rows = list(
        _ordered(pods, pod_filter.sort)
        .select_related("cluster")
        .only(*ROW_FIELDS)[: pod_filter.limit + 1]
    )
    next_cursor = None
    if len(rows) > pod_filter.limit:
        rows = rows[: pod_filter.limit]
        last = rows[-1]
        next_cursor = Cursor(pod_filter.sort, _cursor_key(last, pod_filter.sort), last.pk)
    return PodPage(pods=rows, next_cursor=next_cursor)


def _unfiltered(pod_filter: PodFilter) -> bool:
    return pod_filter.access.everything and not any(
        (
            pod_filter.cluster,
            pod_filter.namespace,
            pod_filter.phase,
            pod_filter.node,
            pod_filter.owner_kind,
            pod_filter.owner_name,
            pod_filter.selector,
            pod_filter.q,
            pod_filter.include_deleted,
        )
    )


def pod_status_counts(
    *, pod_filter: PodFilter, now: datetime, cluster_id: int | None = None
) -> StatusCounts:
    """Pods per STATUS under every filter except STATUS itself (so each count is clickable).

    Without filters: one exact GROUP BY, from the index-only scan of ``web_pod_live_status``.
    With filters: one GROUP BY over at most COUNT_EXACT_LIMIT + 1 matching rows, exact when
    that is all of them; otherwise a second GROUP BY over a 10 % block sample of the table
    (TABLESAMPLE SYSTEM, repeatable so the figures do not flicker), scaled up and flagged as
    an estimate. Either way a bounded amount of work at 150,000 pods.
    """
    pods = pod_queryset(
        pod_filter=pod_filter, now=now, with_status=False, cluster_id=cluster_id
    ).order_by()
    if _unfiltered(pod_filter):
        rows = pods.values("status").annotate(n=Count("*"))
        counted = {row["status"] or "-": int(row["n"]) for row in rows}
        return _counts(counted, estimated=False)
    sql, params = pods.values("status")[: COUNT_EXACT_LIMIT + 1].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT status, count(*) FROM ({sql}) AS capped GROUP BY status", params)
        counted = {status or "-": int(n) for status, n in cursor.fetchall()}
        if sum(counted.values()) <= COUNT_EXACT_LIMIT:
            return _counts(counted, estimated=False)
        sql, params = pods.values("status").query.sql_with_params()
        table = '"ingest_pod"'
        sampled_sql = sql.replace(
            f"FROM {table}",
            f"FROM {table} TABLESAMPLE SYSTEM ({SAMPLE_PERCENT}) REPEATABLE (1)",
            1,
        )
        cursor.execute(
            f"SELECT status, count(*) FROM ({sampled_sql}) AS sampled GROUP BY status", params
        )
        sampled = {status or "-": int(n) for status, n in cursor.fetchall()}
    scale = 100 / SAMPLE_PERCENT
    scaled = {status: max(1, round(n * scale)) for status, n in sampled.items()}
    if sum(scaled.values()) <= COUNT_EXACT_LIMIT:
        # An unlucky sample: the lower bound we counted exactly is better than it.
        return _counts(counted, estimated=True)
    return _counts(scaled, estimated=True)


def _counts(counted: dict[str, int], *, estimated: bool) -> StatusCounts:
    by_status = sorted(counted.items(), key=lambda r: (-r[1], r[0]))
    return StatusCounts(
        by_status=by_status, total=sum(n for _, n in by_status), estimated=estimated
    )


def pods_by_uid(*, uids: Iterable[str]) -> list[Pod]:
    """The current rows of the given pods (one query), for the live consumer's batches."""
    wanted = list(dict.fromkeys(uids))
    if not wanted:
        return []
    return list(Pod.objects.filter(uid__in=wanted).select_related("cluster").only(*ROW_FIELDS))


def pod_matches(*, pod: Pod, pod_filter: PodFilter, now: datetime) -> bool:
    """``pod_queryset`` evaluated in memory on one row (the consumer's per-connection filter)."""
    if pod.deleted_at is not None and (
        not pod_filter.include_deleted or pod.deleted_at < now - DELETED_WINDOW
    ):
        return False
    if not pod_filter.access.allows(cluster_id=pod.cluster_id, namespace=pod.namespace):
        return False
    checks = (
        (pod_filter.cluster, pod.cluster.name),
        (pod_filter.namespace, pod.namespace),
        (pod_filter.status, pod.status),
        (pod_filter.phase, pod.phase),
        (pod_filter.node, pod.node_name),
        (pod_filter.owner_kind, pod.owner_kind),
        (pod_filter.owner_name, pod.owner_name),
    )
    if any(wanted and wanted != actual for wanted, actual in checks):
        return False
    labels = pod.labels if isinstance(pod.labels, dict) else {}
    if not all(requirement.matches(labels) for requirement in pod_filter.selector):
        return False
    if pod_filter.q:
        haystack = f"{pod.name} {pod.namespace} {pod.node_name}".lower()
        if pod_filter.q.lower() not in haystack:
            return False
    return True


def cluster_names(*, access: AccessScope = EVERYTHING) -> list[str]:
    """The clusters the viewer may choose from (none for a viewer without any grant)."""
    clusters = Cluster.objects.filter(access.cluster_q(cluster_field="id"))
    return list(clusters.order_by("name").values_list("name", flat=True))


_STATUS_KIND = {
    "CrashLoopBackOff": "crashloop",
    "Init:CrashLoopBackOff": "crashloop",
    "OOMKilled": "oom",
    "Init:OOMKilled": "oom",
    "Evicted": "eviction",
    "ImagePullBackOff": "image",
    "ErrImagePull": "image",
    "InvalidImageName": "image",
    "Init:ImagePullBackOff": "image",
    "Init:ErrImagePull": "image",
}
_EVENT_KIND = {
    "FailedScheduling": "scheduling",
    "Evicted": "eviction",
    "OOMKilling": "oom",
    "BackOff": "crashloop",
    "Failed": "image",
}


def recent_problems(
    *, now: datetime, cluster: str = "", limit: int = 12, access: AccessScope = EVERYTHING
) -> list[Problem]:
    """Crash loops, OOM kills, SIGKILLs, failed scheduling, image pulls, evictions (3 queries).

    Only pods the viewer's ``access`` reaches: termination records carry no namespace, so
    they are kept when their pod's row is in the scope.
    """
    since = now - PROBLEMS_WINDOW
    problems: dict[tuple[str, str], Problem] = {}

    # Live pods only (index web_pod_live_status); a deleted pod's problem shows through its
    # termination record or events below.
    pods = Pod.objects.filter(status__in=PROBLEM_STATUSES, deleted_at__isnull=True)
    if cluster:
        pods = pods.filter(cluster__name=cluster)
    if not access.everything:
        pods = pods.filter(access.pod_q())
    for row in pods.order_by("-last_observed_at").values(
        "uid", "cluster__name", "namespace", "name", "status", "restarts", "last_observed_at"
    )[:limit]:
        kind = _STATUS_KIND.get(row["status"], "error")
        detail = f"{row['restarts']} restarts" if row["restarts"] else ""
        problems[(row["uid"], kind)] = Problem(
            kind=kind,
            title=row["status"],
            detail=detail,
            at=row["last_observed_at"],
            pod_uid=row["uid"],
            cluster=row["cluster__name"],
            namespace=row["namespace"],
            name=row["name"],
        )

    # SIGKILL after the grace period and OOM kills, from the termination analysis.
    terminations = TerminationRecord.objects.filter(started_at__gte=since).filter(
        Q(verdicts__icontains="sigkill_after_grace") | Q(verdicts__icontains="oom_killed")
    )
    if cluster:
        terminations = terminations.filter(cluster__name=cluster)
    if not access.everything:
        reachable = Pod.objects.filter(
            access.pod_q(), uid=OuterRef("pod_uid"), cluster_id=OuterRef("cluster_id")
        )
        terminations = terminations.filter(Exists(reachable))
    pod_names = Pod.objects.filter(uid=OuterRef("pod_uid"), cluster_id=OuterRef("cluster_id"))
    for record in (
        terminations.order_by("-started_at")
        .annotate(
            pod_namespace=Subquery(pod_names.values("namespace")[:1]),
            pod_name=Subquery(pod_names.values("name")[:1]),
        )
        .values("pod_uid", "cluster__name", "verdicts", "started_at", "pod_namespace", "pod_name")[
            :limit
        ]
    ):
        verdicts = [str(v) for v in record["verdicts"]]
        sigkilled = [v.partition(":")[0] for v in verdicts if v.endswith(":sigkill_after_grace")]
        kind = "sigkill" if sigkilled else "oom"
        containers = sigkilled or [
            v.partition(":")[0] for v in verdicts if v.endswith(":oom_killed")
        ]
        problems.setdefault(
            (record["pod_uid"], kind),
            Problem(
                kind=kind,
                title="SIGKILL after grace period" if kind == "sigkill" else "OOM killed",
                detail=", ".join(containers),
                at=record["started_at"],
                pod_uid=record["pod_uid"],
                cluster=record["cluster__name"],
                namespace=record["pod_namespace"] or "",
                name=record["pod_name"] or record["pod_uid"],
            ),
        )

    events = PodEvent.objects.filter(
        reason__in=PROBLEM_EVENT_REASONS, last_received_at__gte=since, type="Warning"
    )
    if cluster:
        events = events.filter(cluster__name=cluster)
    if not access.everything:
        events = events.filter(access.pod_q(namespace_field="pod_namespace"))
    for event in events.order_by("-last_received_at").values(
        "pod_uid",
        "cluster__name",
        "pod_namespace",
        "pod_name",
        "reason",
        "message",
        "last_received_at",
        "occurred_at",
    )[:limit]:
        kind = _EVENT_KIND.get(event["reason"], "error")
        if kind == "image" and "image" not in event["message"].lower():
            continue
        problems.setdefault(
            (event["pod_uid"], kind),
            Problem(
                kind=kind,
                title=event["reason"],
                detail=event["message"][:160],
                at=event["occurred_at"] or event["last_received_at"],
                pod_uid=event["pod_uid"],
                cluster=event["cluster__name"],
                namespace=event["pod_namespace"],
                name=event["pod_name"],
            ),
        )
    epoch = datetime.min.replace(tzinfo=now.tzinfo)
    ordered = sorted(problems.values(), key=lambda p: p.at or epoch, reverse=True)
    return [p for p in ordered if p.pod_uid][:limit]


def uid_in(uids: list[str], column: str = "ingest_pod.uid") -> RawSQL:
    # One array parameter: Django's __in binds (and prepares) every value separately, which
    # costs more than the query itself for thousands of uids. The array goes as one text
    # literal, which the driver quotes once instead of adapting every element.
    return RawSQL(f"{column} = ANY(%s::text[])", (_text_array(uids),), output_field=BooleanField())


def _text_array(values: Iterable[str]) -> str:
    """A PostgreSQL array literal of these strings, each quoted."""
    quoted = (v.replace("\\", "\\\\").replace('"', '\\"') for v in values)
    return "{" + ",".join(f'"{v}"' for v in quoted) + "}"
