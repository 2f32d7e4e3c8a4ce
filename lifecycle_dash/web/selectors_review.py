"""Reads for the incident review: a window's history, bounded and index-friendly.

History is partitioned by receive time (``observed_at``) while reviews ask about the
authoritative instant (``at``). Every history query filters on both: ``at`` in the window, and
``observed_at`` in the window widened by ``OBSERVED_BEFORE`` / ``OBSERVED_AFTER`` (an API
instant can precede its receipt by the watch's lag or an outage, and clocks disagree a little),
so PostgreSQL prunes to the partitions of those days and walks the review indexes: the
covering ``web_transition_review_rows`` (the transitions the review classifies, read from the
index alone) and ``(sort_at, reason)`` for Event occurrences.

``review_window`` issues 7 queries whatever the window holds (pinned in tests):
transitions, event occurrences, termination records, the pods concerned, observation gaps,
the lanes' states at the window start, and the lanes' STATUS changes. Each is capped; a
capped read sets ``truncated`` so the page says the window is too busy to show in full.
``window_evidence`` (the diagnoses, loaded lazily) issues 4 more.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from types import MappingProxyType
from typing import Any

import orjson
from django.db import connection
from django.db.models import BigIntegerField, BooleanField, Q, QuerySet, TextField
from django.db.models.expressions import RawSQL

from lifecycle_dash.ingest.models import (
    EventOccurrence,
    ObservationGap,
    Pod,
    TerminationRecord,
)
from lifecycle_dash.ingest.models import (
    Transition as TransitionRow,
)
from lifecycle_dash.ingest.snapshots import snapshot_from_document
from lifecycle_dash.ingest.terminations import EVENT_COLUMNS_SQL, event_from_row
from lifecycle_dash.lifecycle.diagnose import Diagnosis, PodEvidence, diagnose_workload
from lifecycle_dash.lifecycle.endpoints import EndpointObservation
from lifecycle_dash.lifecycle.events import PodEvent
from lifecycle_dash.lifecycle.frozen import fast_new
from lifecycle_dash.lifecycle.review import (
    REVIEW_WAITING_REASONS,
    CauseGroup,
    Happening,
    PodFacts,
    ReviewCause,
    Segment,
    TerminationFacts,
    WindowOccurrence,
    classify_window,
    group_happenings,
    pod_segments,
    workload_of,
)
from lifecycle_dash.lifecycle.termination import analyze_termination
from lifecycle_dash.lifecycle.timeparse import try_parse_rfc3339
from lifecycle_dash.lifecycle.transitions import (
    TimeSource,
    Transition,
    TransitionKind,
    freeze_detail,
)
from lifecycle_dash.web.review import ReviewQuery
from lifecycle_dash.web.selectors import DELETED_WINDOW, pod_queryset, uid_in

__all__ = [
    "OBSERVED_AFTER",
    "OBSERVED_BEFORE",
    "REVIEW_ROWS_PREDICATE",
    "Gap",
    "Lane",
    "PodInfo",
    "ReviewData",
    "WorkloadDiagnoses",
    "history_pods",
    "review_window",
    "window_diagnoses",
    "window_transitions",
]

OBSERVED_BEFORE = timedelta(minutes=15)
OBSERVED_AFTER = timedelta(hours=6)
MAX_TRANSITIONS = 20_000
MAX_OCCURRENCES = 10_000
MAX_RECORDS = 5_000
MAX_LANES = 120
MAX_LANE_CHANGES = 20_000
MAX_EXPORT_TRANSITIONS = 50_000
MAX_DIAGNOSED_WORKLOADS = 12
MAX_DIAGNOSED_PODS = 150

_REVIEW_KINDS = (
    TransitionKind.CONTAINER_STATE.value,
    TransitionKind.CONTAINER_RESTART.value,
    TransitionKind.DELETION_REQUESTED.value,
    TransitionKind.POD_CREATED.value,
)
# Only the container states the review classifies (exits, image and configuration waits),
# not every flip: a crash loop's endless waiting:CrashLoopBackOff says nothing its exits don't.
_REVIEW_WAITS = tuple(f"waiting:{reason}" for reason in sorted(REVIEW_WAITING_REASONS))
_KIND_LIST = ", ".join(f"'{kind}'" for kind in _REVIEW_KINDS)
_WAIT_LIST = ", ".join(f"'{wait}'" for wait in _REVIEW_WAITS)
# Word for word the predicate of the covering index web_transition_review_rows (web migration
# 0005), so the planner matches it and reads the rows from the index alone.
REVIEW_ROWS_PREDICATE = (
    f"kind IN ({_KIND_LIST}) "
    "AND (kind <> 'container_state' OR (new #>> '{}') LIKE 'terminated%' "
    f"OR (new #>> '{{}}') IN ({_WAIT_LIST}))"
)
_REVIEW_ROWS = RawSQL(
    # The whole query binds parameters: a literal % is written %%.
    REVIEW_ROWS_PREDICATE.replace("%", "%%"),
    (),
    output_field=BooleanField(),
)
_REVIEW_EVENT_REASONS = (
    "Killing",
    "FailedScheduling",
    "Failed",
    "BackOff",
    "Evicted",
    "Preempted",
    "Preempting",
    "TaintManagerEviction",
    "NodeNotReady",
)
_LANE_KINDS = (TransitionKind.KUBECTL_STATUS.value, TransitionKind.POD_READY.value)
_TRANSITION_FIELDS = (
    "pod_uid",
    "kind",
    "subject",
    "old",
    "new",
    "observed_at",
    "key",
    "api_time",
    "time_source",
    "detail",
)

# A window holds thousands of rows and each JSON or timestamp column costs a parse per row:
# through the ORM's converters several times the cost of the query itself. The bulk reads
# below therefore take JSON as text (decoded by orjson) and instants as integer microseconds
# since the epoch (exact, unlike a float), both turned into values here.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _json_text(column: str) -> RawSQL:
    return RawSQL(f"{column}::text", (), output_field=TextField())


def _micros(column: str) -> RawSQL:
    return RawSQL(
        f"(extract(epoch FROM {column}) * 1000000)::bigint", (), output_field=BigIntegerField()
    )


def _instant(micros: int | None) -> datetime | None:
    return None if micros is None else _EPOCH + timedelta(microseconds=micros)


def _loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # beyond orjson's range (integers over 64 bits)
        return json.loads(text)


# What the review's rules read of a transition: no ``old``, and ``at`` alone as its instant.
_REVIEW_ANNOTATIONS = {
    "new_text": _json_text("ingest_transition.new"),
    "at_us": _micros("ingest_transition.at"),
    "detail_text": _json_text("ingest_transition.detail"),
}
_REVIEW_FIELDS = ("pod_uid", "kind", "subject", "new_text", "at_us", "key", "detail_text")
# Of a pod's labels the review's rules read only the pod-template-hash (``workload_of``): the
# one label is read as text instead of decoding every label of thousands of pods.
_TEMPLATE_HASH = "pod-template-hash"
_POD_ANNOTATIONS = {
    "template_hash": RawSQL(
        "ingest_pod.labels ->> %s", (_TEMPLATE_HASH,), output_field=TextField()
    ),
    "created_us": _micros("ingest_pod.created_at"),
    "first_observed_us": _micros("ingest_pod.first_observed_at"),
    "deleted_us": _micros("ingest_pod.deleted_at"),
}
_POD_FIELDS = (
    "uid",
    "cluster__name",
    "namespace",
    "name",
    "owner_kind",
    "owner_name",
    "template_hash",
    "node_name",
    "created_us",
    "first_observed_us",
    "deleted_us",
)


@dataclass(frozen=True, slots=True)
class PodInfo:
    facts: PodFacts
    cluster: str
    created_at: datetime | None
    deleted_at: datetime | None
    # (kind, name) of its workload, the pod itself when it has no owner; see ``_workload``.
    workload: tuple[str, str]


def _workload(facts: PodFacts) -> tuple[str, str]:
    kind, name = workload_of(facts.owner_kind, facts.owner_name, facts.labels)
    return (kind, name) if name else ("Pod", facts.name)


@dataclass(frozen=True, slots=True)
class Gap:
    cluster: str
    resource: str
    started_at: datetime
    ended_at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Lane:
    uid: str
    info: PodInfo
    segments: list[Segment]


@dataclass
class ReviewData:
    query: ReviewQuery
    happenings: list[Happening]
    groups: list[CauseGroup]
    pods: dict[str, PodInfo]
    gaps: list[Gap]
    lanes: list[Lane]
    records: dict[str, dict[str, Any]]
    truncated: list[str] = field(default_factory=list)

    @property
    def affected_uids(self) -> list[str]:
        return list(dict.fromkeys(h.pod_uid for h in self.happenings))

    @cached_property
    def names(self) -> dict[str, str]:
        return {uid: f"{p.facts.namespace}/{p.facts.name}" for uid, p in self.pods.items()}

    @property
    def workload_count(self) -> int:
        """How many workloads ``workloads`` lists, without listing them."""
        pods = self.pods
        return len(
            {
                (info.facts.namespace, *info.workload)
                for uid in {h.pod_uid for h in self.happenings}
                if (info := pods.get(uid)) is not None
            }
        )

    def workloads(self) -> list[tuple[str, str, str, list[ReviewCause]]]:
        """(namespace, kind, name, causes) of every affected workload, sorted."""
        found: dict[tuple[str, str, str], list[ReviewCause]] = {}
        for h in self.happenings:
            info = self.pods.get(h.pod_uid)
            if info is None:
                continue
            kind, name = info.workload
            causes = found.setdefault((info.facts.namespace, kind, name), [])
            if h.cause not in causes:
                causes.append(h.cause)
        return [(ns, kind, name, causes) for (ns, kind, name), causes in sorted(found.items())]


def history_pods(query: ReviewQuery, *, alive_at: datetime) -> QuerySet[Pod]:
    """Pods matching the review's filters and not deleted before ``alive_at``.

    The dashboard's own filter (``pod_queryset``) with "recently deleted" reaching back to
    ``alive_at``: the same semantics for namespaces, owners and label selectors.
    """
    pod_filter = replace(query.pod_filter, include_deleted=True, status="")
    return pod_queryset(pod_filter=pod_filter, now=alive_at + DELETED_WINDOW)


def _narrowed(query: ReviewQuery) -> bool:
    f = query.pod_filter
    # A viewer limited to some namespaces narrows like a namespace filter does.
    return bool(
        f.namespace or f.selector or f.owner_name or f.owner_kind or not f.access.everything
    )


def _scope(rows: QuerySet[Any], query: ReviewQuery, *, uid_field: str = "pod_uid") -> QuerySet[Any]:
    if query.pod_filter.cluster:
        rows = rows.filter(cluster__name=query.pod_filter.cluster)
    if _narrowed(query):
        pods = history_pods(query, alive_at=query.start).values("uid")
        rows = rows.filter(**{f"{uid_field}__in": pods})
    return rows


def _observed(query: ReviewQuery, start: datetime | None = None) -> Q:
    return Q(
        observed_at__gte=(start or query.start) - OBSERVED_BEFORE,
        observed_at__lte=query.end + OBSERVED_AFTER,
    )


def _transition(row: Sequence[Any]) -> Transition:
    uid, kind, subject, old, new, observed_at, key, api_time, source, detail = row
    return Transition(
        pod_uid=uid,
        kind=TransitionKind(kind),
        subject=subject,
        old=old,
        new=new,
        observed_at=observed_at,
        key=key,
        api_time=api_time,
        time_source=TimeSource(source),
        detail=freeze_detail(detail),
    )


_KINDS = {kind.value: kind for kind in TransitionKind}
_NO_DETAIL = freeze_detail(None)
# Thousands per review: built by plain slot stores (``fast_new``), every field given in order.
_new_transition = fast_new(Transition)
_new_facts = fast_new(PodFacts)
_new_info = fast_new(PodInfo)


def _review_transition(row: Sequence[Any]) -> Transition:
    uid, kind, subject, new, at_us, key, detail = row
    return _new_transition(
        uid,
        _KINDS[kind],
        subject,
        None,
        _loads(new),
        _EPOCH + timedelta(microseconds=at_us),  # the column is NOT NULL
        key,
        None,
        TimeSource.OBSERVED,
        _NO_DETAIL if detail == "{}" else _read_only(_loads(detail)),
    )


def _read_only(detail: Any) -> Mapping[str, Any]:
    # These transitions live for one request and are only read: a read-only view of the top
    # level is enough, without ``freeze_detail``'s deep copy of every nested mapping.
    return MappingProxyType(detail) if isinstance(detail, dict) else _NO_DETAIL


def _rows(rows: QuerySet[Any]) -> list[tuple[Any, ...]]:
    """The rows of a ``values_list`` read as the driver returns them.

    Only for reads whose columns need no conversion (text, integers, JSON as text): the ORM's
    per-row converter pass costs as much as the query for thousands of rows.
    """
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched: list[tuple[Any, ...]] = cursor.fetchall()
    return fetched


def _info(row: Sequence[Any]) -> PodInfo:
    """A ``PodInfo`` from a row of ``_POD_FIELDS``."""
    (
        uid,
        cluster,
        namespace,
        name,
        owner_kind,
        owner_name,
        template_hash,
        node,
        created_us,
        first_observed_us,
        deleted_us,
    ) = row[:11]
    facts = _new_facts(
        uid,
        namespace,
        name,
        owner_kind,
        owner_name,
        {_TEMPLATE_HASH: template_hash} if template_hash is not None else {},
        node,
    )
    return _new_info(
        facts,
        cluster,
        _instant(created_us if created_us is not None else first_observed_us),
        _instant(deleted_us),
        _workload(facts),
    )


def _exits(analysis: Any) -> dict[str, tuple[int | None, datetime | None]]:
    out: dict[str, tuple[int | None, datetime | None]] = {}
    if not isinstance(analysis, dict):
        return out
    for container in analysis.get("containers") or ():
        if not isinstance(container, dict):
            continue
        exited = container.get("exited") or {}
        code = container.get("exit_code")
        out[str(container.get("name", ""))] = (
            code if isinstance(code, int) else None,
            try_parse_rfc3339(exited.get("at")) if isinstance(exited, dict) else None,
        )
    return out


def review_window(*, query: ReviewQuery) -> ReviewData:
    """Everything the review page shows for the window (7 queries)."""
    start, end = query.start, query.end
    truncated: list[str] = []

    rows = _rows(
        _scope(TransitionRow.objects.all(), query)
        .filter(_observed(query), at__gte=start, at__lte=end)
        .filter(_REVIEW_ROWS)
        .order_by("at")
        .annotate(**_REVIEW_ANNOTATIONS)
        .values_list(*_REVIEW_FIELDS)[: MAX_TRANSITIONS + 1]
    )
    if len(rows) > MAX_TRANSITIONS:
        rows = rows[:MAX_TRANSITIONS]
        truncated.append("transitions")
    transitions = [_review_transition(row) for row in rows]

    occurrence_rows = list(
        _scope(EventOccurrence.objects.all(), query)
        .filter(
            _observed(query),
            sort_at__gte=start,
            sort_at__lte=end,
            reason__in=_REVIEW_EVENT_REASONS,
        )
        .order_by("sort_at")
        .values_list("pod_uid", "reason", "message", "container_name", "sort_at", "type")[
            : MAX_OCCURRENCES + 1
        ]
    )
    if len(occurrence_rows) > MAX_OCCURRENCES:
        occurrence_rows = occurrence_rows[:MAX_OCCURRENCES]
        truncated.append("events")
    occurrences = [WindowOccurrence(*row) for row in occurrence_rows]

    record_rows = list(
        _scope(TerminationRecord.objects.all(), query)
        .filter(started_at__gte=start, started_at__lte=end)
        .order_by("started_at")
        .values_list("pod_uid", "cause", "verdicts", "started_at", "analysis")[: MAX_RECORDS + 1]
    )
    if len(record_rows) > MAX_RECORDS:
        record_rows = record_rows[:MAX_RECORDS]
        truncated.append("terminations")
    terminations = [
        TerminationFacts(uid, cause, tuple(verdicts), started, _exits(analysis))
        for uid, cause, verdicts, started, analysis in record_rows
    ]
    records = {row[0]: row[4] for row in record_rows if isinstance(row[4], dict)}

    # The pods something may have happened to, and the first created ones (lanes); a
    # creation alone names its owner, so the many pods a rollout creates need no row here.
    uids = {t.pod_uid for t in transitions if t.kind is not TransitionKind.POD_CREATED}
    uids |= {o.pod_uid for o in occurrences} | {r.pod_uid for r in terminations}
    created = [t.pod_uid for t in transitions if t.kind is TransitionKind.POD_CREATED]
    uids |= set(list(dict.fromkeys(created))[:MAX_LANES])
    pods: dict[str, PodInfo] = {}
    if uids:
        pod_rows = Pod.objects.filter(uid_in(sorted(uids)))
        if query.pod_filter.cluster:
            pod_rows = pod_rows.filter(cluster__name=query.pod_filter.cluster)
        pod_rows = pod_rows.annotate(**_POD_ANNOTATIONS)
        pods = {row[0]: _info(row) for row in _rows(pod_rows.values_list(*_POD_FIELDS))}

    facts = {uid: info.facts for uid, info in pods.items()}
    happenings = classify_window(
        start=start,
        end=end,
        pods=facts,
        transitions=transitions,
        occurrences=occurrences,
        terminations=terminations,
    )
    groups = group_happenings(happenings, pods=facts)

    gap_rows = ObservationGap.objects.filter(started_at__lte=end, ended_at__gte=start)
    if query.pod_filter.cluster:
        gap_rows = gap_rows.filter(cluster__name=query.pod_filter.cluster)
    if not query.pod_filter.access.everything:
        gap_rows = gap_rows.filter(query.pod_filter.access.cluster_q())
    gaps = [
        Gap(*row)
        for row in gap_rows.order_by("started_at").values_list(
            "cluster__name", "resource", "started_at", "ended_at", "reason"
        )[:50]
    ]

    # Lanes: the pods something happened to first, then the ones created in the window
    # (a rollout's new pods), per workload.
    lane_uids = list(dict.fromkeys(h.pod_uid for h in happenings))
    lane_uids += [t.pod_uid for t in transitions if t.kind is TransitionKind.POD_CREATED]
    lane_uids = [uid for uid in dict.fromkeys(lane_uids) if uid in pods][:MAX_LANES]
    lanes = _lanes(query, lane_uids, pods) if lane_uids else []
    return ReviewData(query, happenings, groups, pods, gaps, lanes, records, truncated)


def _latest_sql(kind: str) -> str:
    # The time-travel index (web_transition_instant): one backward index probe per pod.
    return (
        "SELECT t.new FROM ingest_transition t WHERE t.pod_uid = ingest_pod.uid "
        f"AND t.kind = '{kind}' AND t.subject = '' AND t.at <= %s "
        "AND t.observed_at >= ingest_pod.first_observed_at - interval '1 day' "
        "AND t.observed_at <= %s ORDER BY t.at DESC LIMIT 1"
    )


def _lanes(query: ReviewQuery, uids: list[str], pods: dict[str, PodInfo]) -> list[Lane]:
    """STATUS lanes of these pods over the window (2 queries: state at start, changes)."""
    start, end = query.start, query.end
    margin = start + OBSERVED_AFTER
    initial = {
        row[0]: (row[1], row[2])
        for row in Pod.objects.filter(uid_in(uids))
        .annotate(
            status_then=RawSQL(f"({_latest_sql('kubectl_status')})", (start, margin)),
            ready_then=RawSQL(f"({_latest_sql('pod_ready')})", (start, margin)),
        )
        .values_list("uid", "status_then", "ready_then")
    }
    changes: dict[str, list[Transition]] = defaultdict(list)
    for row in _rows(
        TransitionRow.objects.filter(
            uid_in(uids, "ingest_transition.pod_uid"),
            _observed(query),
            kind__in=_LANE_KINDS,
            at__gt=start,
            at__lte=end,
        )
        .order_by("at")
        .annotate(**_REVIEW_ANNOTATIONS)
        .values_list(*_REVIEW_FIELDS)[:MAX_LANE_CHANGES]
    ):
        changes[row[0]].append(_review_transition(row))
    lanes = []
    for uid in uids:
        info = pods[uid]
        status, ready = initial.get(uid, (None, None))
        lanes.append(
            Lane(
                uid,
                info,
                pod_segments(
                    start=start,
                    end=end,
                    created=info.created_at,
                    deleted=info.deleted_at,
                    initial_status=status if isinstance(status, str) else "",
                    initial_ready=ready if isinstance(ready, bool) else None,
                    changes=changes.get(uid, ()),
                ),
            )
        )
    return lanes


def window_transitions(*, query: ReviewQuery, uids: Iterable[str]) -> tuple[list[Transition], bool]:
    """Every transition of these pods in the window, for the exports (1 query, capped)."""
    wanted = sorted(set(uids))
    if not wanted:
        return [], False
    rows = list(
        TransitionRow.objects.filter(
            uid_in(wanted, "ingest_transition.pod_uid"),
            _observed(query),
            at__gte=query.start,
            at__lte=query.end,
        )
        .order_by("pod_uid", "at", "id")
        .values_list(*_TRANSITION_FIELDS)[: MAX_EXPORT_TRANSITIONS + 1]
    )
    capped = len(rows) > MAX_EXPORT_TRANSITIONS
    return [_transition(row) for row in rows[:MAX_EXPORT_TRANSITIONS]], capped


@dataclass(frozen=True, slots=True)
class WorkloadDiagnoses:
    namespace: str
    kind: str
    name: str
    findings: list[Diagnosis]


def window_diagnoses(*, data: ReviewData) -> list[WorkloadDiagnoses]:
    """``diagnose_workload`` over the window's affected workloads (5 queries).

    Workloads are those something happened to, plus those whose pods lost readiness in the
    window (a flapping readiness probe is no cause of its own but is a finding). Evidence per
    pod as ingest keeps it: the last snapshot, the pod's transitions around the window, the
    latest version of its Events, its endpoint observations; the termination is analysed
    again from that evidence (as the timeline does) rather than read back from JSON.
    """
    query = data.query
    flapping = list(
        _scope(TransitionRow.objects.all(), query)
        .filter(
            _observed(query),
            at__gte=query.start,
            at__lte=query.end,
            kind=TransitionKind.POD_READY.value,
            new=False,
        )
        .values_list("pod_uid", flat=True)
        .distinct()[:MAX_DIAGNOSED_PODS]
    )
    candidates = list(dict.fromkeys([*data.affected_uids, *flapping]))
    rows = {
        row[0]: row
        for row in Pod.objects.filter(uid_in(candidates))
        .annotate(**_POD_ANNOTATIONS)
        .values_list(*_POD_FIELDS, "snapshot")
    }
    infos = {uid: _info(row) for uid, row in rows.items()}
    by_workload: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for uid in candidates:
        info = infos.get(uid)
        if info is None:
            continue
        kind, name = info.workload
        by_workload[(info.facts.namespace, kind, name)].append(uid)
    ranked = sorted(by_workload.items(), key=lambda item: (-len(item[1]), item[0]))
    chosen = ranked[:MAX_DIAGNOSED_WORKLOADS]
    per_workload = max(1, MAX_DIAGNOSED_PODS // max(1, len(chosen)))
    chosen = [(key, members[:per_workload]) for key, members in chosen]
    uids = [uid for _, members in chosen for uid in members]
    if not uids:
        return []
    snapshots = {
        uid: snapshot_from_document(rows[uid][-1])
        for uid in uids
        if isinstance(rows[uid][-1], dict)
    }
    transitions: dict[str, list[Transition]] = defaultdict(list)
    for row in (
        TransitionRow.objects.filter(
            uid_in(uids, "ingest_transition.pod_uid"),
            _observed(query, query.start - timedelta(hours=1)),
            at__gte=query.start - timedelta(hours=1),
            at__lte=query.end,
        )
        .order_by("at", "id")
        .values_list(*_TRANSITION_FIELDS)[:MAX_EXPORT_TRANSITIONS]
    ):
        transitions[row[0]].append(_transition(row))
    events: dict[str, list[PodEvent]] = defaultdict(list)
    endpoints: dict[str, list[EndpointObservation]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT event_uid, {EVENT_COLUMNS_SQL} FROM ingest_podevent WHERE pod_uid = ANY(%s)",
            [uids],
        )
        for row in cursor.fetchall():
            event = event_from_row(row[0], row[1:])
            events[event.involved_uid].append(event)
        cursor.execute(
            "SELECT pod_uid, namespace, slice_name, service_name, observed_at, ready, serving, "
            "terminating, removed FROM ingest_endpointobservation "
            "WHERE pod_uid = ANY(%s) ORDER BY observed_at",
            [uids],
        )
        for row in cursor.fetchall():
            endpoints[row[0]].append(EndpointObservation(*row))
    now = query.end
    result = []
    for (namespace, kind, name), members in chosen:
        evidence = []
        for uid in members:
            snapshot = snapshots.get(uid)
            if snapshot is None:
                continue
            evidence.append(
                PodEvidence(
                    uid,
                    termination=analyze_termination(
                        pod=snapshot,
                        transitions=transitions.get(uid, ()),
                        events=events.get(uid, ()),
                        endpoints=endpoints.get(uid, ()),
                        now=now,
                    ),
                    events=events.get(uid, ()),
                    snapshot=snapshot,
                    transitions=transitions.get(uid, ()),
                )
            )
        findings = diagnose_workload(
            owner_kind=kind if kind != "Pod" else "",
            owner_name=name if kind != "Pod" else "",
            pods=evidence,
        )
        if findings:
            result.append(WorkloadDiagnoses(namespace, kind, name, findings))
    return result
