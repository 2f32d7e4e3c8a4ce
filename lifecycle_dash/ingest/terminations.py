"""Termination and startup records: the lifecycle analyses over stored evidence.

``recompute_startups`` does for ``lifecycle.startup.analyze_startup`` what is described below
for terminations, for pods that just ran or became ready or got Scheduled/Pulling/Pulled.

Termination records: ``lifecycle.termination.analyze_termination`` over stored evidence.

Called inside a processor's flush transaction for the pods whose evidence just changed (a
deletion, a terminal status, a Killing/Evicted... event, an endpoint withdrawal), after that
flush's rows are written, so the analysis sees them. Evidence is read in four queries per
batch whatever the number of pods: pods, their deletion-related transitions, the latest
version of their Events, their endpoint observations. The analysis is stored whole as JSON
(the timeline renders it) next to a few columns the incident review filters on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from lifecycle_dash.ingest import writer
from lifecycle_dash.ingest.snapshots import snapshot_from_document
from lifecycle_dash.lifecycle import PodSnapshot, TimeSource, Transition, TransitionKind
from lifecycle_dash.lifecycle.endpoints import EndpointObservation
from lifecycle_dash.lifecycle.events import PodEvent
from lifecycle_dash.lifecycle.startup import analyze_startup
from lifecycle_dash.lifecycle.termination import analyze_termination
from lifecycle_dash.lifecycle.transitions import freeze_detail

__all__ = [
    "EVENT_COLUMNS_SQL",
    "EVENT_FIELDS",
    "event_from_row",
    "recompute_startups",
    "recompute_terminations",
]

# The kinds the startup analysis reads (the first of each, see _STARTUP_FIRSTS).
_STARTUP_KINDS = ["pod_created", "node_assigned", "phase", "pod_ready"]

# The transitions the analysis reads (deletion request, grace history, deletion).
_KINDS = [
    TransitionKind.DELETION_REQUESTED.value,
    TransitionKind.GRACE_SHORTENED.value,
    TransitionKind.DELETED.value,
]

# PodEvent fields in ingest_podevent column order (after event_uid).
EVENT_FIELDS = (
    "name",
    "namespace",
    "resource_version",
    "involved_uid",
    "involved_name",
    "involved_namespace",
    "field_path",
    "container_name",
    "container_list",
    "type",
    "reason",
    "message",
    "message_truncated",
    "action",
    "source_component",
    "source_host",
    "reporting_controller",
    "reporting_instance",
    "count",
    "first_timestamp",
    "last_timestamp",
    "event_time",
    "series_count",
    "series_last_observed_time",
    "creation_timestamp",
    "occurred_at",
    "occurred_at_source",
)
EVENT_COLUMNS_SQL = ", ".join(name for name, _ in writer.EVENT_COLUMNS[1 : 1 + len(EVENT_FIELDS)])


def event_from_row(key: str, values: Iterable[Any]) -> PodEvent:
    """A ``PodEvent`` from an ingest_podevent row (event_uid, then EVENT_FIELDS columns)."""
    # key is the Event's uid, or namespace/name when it had none (uids contain no "/").
    return PodEvent(uid="" if "/" in key else key, **dict(zip(EVENT_FIELDS, values, strict=True)))


def _pods(
    cursor: Any, cluster_id: int, uids: list[str], known: Mapping[str, PodSnapshot] | None
) -> dict[str, PodSnapshot]:
    pods = {uid: known[uid] for uid in uids if known is not None and uid in known}
    missing = [uid for uid in uids if uid not in pods]
    if missing:
        cursor.execute(
            "SELECT uid, snapshot::text FROM ingest_pod WHERE cluster_id = %s AND uid = ANY(%s)",
            [cluster_id, missing],
        )
        pods.update(
            (uid, snapshot_from_document(orjson.loads(doc))) for uid, doc in cursor.fetchall()
        )
    return pods


_SELECT_TRANSITION = (
    "pod_uid, kind, subject, old::text, new::text, observed_at, key, api_time, time_source, "
    "detail::text FROM ingest_transition"
)
# The startup analysis reads only the first of each of these (``startup._first``): a pod
# whose readiness flaps all day has thousands of POD_READY rows, and only one matters.
_STARTUP_FIRSTS = (
    f"SELECT DISTINCT ON (pod_uid, kind) {_SELECT_TRANSITION} "
    "WHERE pod_uid = ANY(%s) AND cluster_id = %s AND (kind IN ('pod_created', "
    "'node_assigned') OR (kind = 'phase' AND new = '\"Running\"'::jsonb) "
    "OR (kind = 'pod_ready' AND new = 'true'::jsonb)) ORDER BY pod_uid, kind, observed_at"
)


def _transitions(
    cursor: Any,
    cluster_id: int,
    uids: list[str],
    kinds: list[str] | None,
    history: Mapping[str, Sequence[Transition]] | None,
) -> dict[str, list[Transition]]:
    """Per pod, its transitions of ``kinds`` in time order (None: the startup's firsts).

    Pods in ``history`` are not queried: the caller holds every transition they have.
    """
    found: dict[str, list[Transition]] = defaultdict(list)
    if history:
        wanted = frozenset(_STARTUP_KINDS if kinds is None else kinds)
        for uid in uids:
            if uid in history:
                found[uid] = [t for t in history[uid] if t.kind.value in wanted]
        uids = [uid for uid in uids if uid not in history]
        if not uids:
            return found
    if kinds is None:
        cursor.execute(_STARTUP_FIRSTS, [uids, cluster_id])
    else:
        cursor.execute(
            f"SELECT {_SELECT_TRANSITION} WHERE pod_uid = ANY(%s) AND kind = ANY(%s) "
            "AND cluster_id = %s ORDER BY observed_at",
            [uids, kinds, cluster_id],
        )
    for uid, kind, subject, old, new, observed, key, api_time, source, detail in cursor:
        found[uid].append(
            Transition(
                pod_uid=uid,
                kind=TransitionKind(kind),
                subject=subject,
                # Django's connection hands jsonb back as text.
                old=None if old is None else orjson.loads(old),
                new=None if new is None else orjson.loads(new),
                observed_at=observed,
                key=key,
                api_time=api_time,
                time_source=TimeSource(source),
                detail=freeze_detail(orjson.loads(detail)),
            )
        )
    return found


def _events(cursor: Any, cluster_id: int, uids: list[str]) -> dict[str, list[PodEvent]]:
    found: dict[str, list[PodEvent]] = defaultdict(list)
    cursor.execute(
        f"SELECT event_uid, {EVENT_COLUMNS_SQL} FROM ingest_podevent "
        "WHERE cluster_id = %s AND pod_uid = ANY(%s)",
        [cluster_id, uids],
    )
    for row in cursor:
        event = event_from_row(row[0], row[1:])
        found[event.involved_uid].append(event)
    return found


def recompute_terminations(
    cursor: Any,
    *,
    cluster_id: int,
    pod_uids: Iterable[str],
    now: datetime,
    known: Mapping[str, PodSnapshot] | None = None,
    history: Mapping[str, Sequence[Transition]] | None = None,
) -> int:
    """Analyse these pods' endings again and upsert their records; returns how many.

    ``known``: current snapshots the caller already holds (equal to the stored ones).
    ``history``: for some pods, every transition they have (pods first seen in this batch).
    """
    uids = sorted(set(pod_uids))
    if not uids:
        return 0
    pods = _pods(cursor, cluster_id, uids, known)
    if not pods:
        return 0
    found = list(pods)
    transitions = _transitions(cursor, cluster_id, found, _KINDS, history)
    events = _events(cursor, cluster_id, found)
    endpoints: dict[str, list[EndpointObservation]] = defaultdict(list)
    cursor.execute(
        "SELECT pod_uid, namespace, slice_name, service_name, observed_at, ready, serving, "
        "terminating, removed FROM ingest_endpointobservation "
        "WHERE cluster_id = %s AND pod_uid = ANY(%s) ORDER BY observed_at",
        [cluster_id, found],
    )
    for row in cursor:
        endpoints[row[0]].append(EndpointObservation(*row))
    rows: list[tuple[Any, ...]] = []
    for uid, snapshot in pods.items():
        analysis = analyze_termination(
            pod=snapshot,
            transitions=transitions.get(uid, ()),
            events=events.get(uid, ()),
            endpoints=endpoints.get(uid, ()),
            now=now,
        )
        if analysis is None:
            continue
        rows.append(
            (
                uid,
                analysis.cause.value,
                "\n".join(f"{c.name}:{c.verdict.value}"[:300] for c in analysis.containers),
                analysis.started.at,
                orjson.dumps(analysis).decode(),
                now,
            )
        )
    writer.upsert_terminations(cursor, cluster_id=cluster_id, rows=rows)
    return len(rows)


def recompute_startups(
    cursor: Any,
    *,
    cluster_id: int,
    pod_uids: Iterable[str],
    now: datetime,
    known: Mapping[str, PodSnapshot] | None = None,
    history: Mapping[str, Sequence[Transition]] | None = None,
) -> int:
    """Analyse these pods' startups again and upsert their records; returns how many.

    ``known`` and ``history`` as for ``recompute_terminations``.
    """
    uids = sorted(set(pod_uids))
    if not uids:
        return 0
    pods = _pods(cursor, cluster_id, uids, known)
    if not pods:
        return 0
    found = list(pods)
    transitions = _transitions(cursor, cluster_id, found, None, history)
    events = _events(cursor, cluster_id, found)
    rows: list[tuple[Any, ...]] = []
    for uid, snapshot in pods.items():
        analysis = analyze_startup(
            pod=snapshot, transitions=transitions.get(uid, ()), events=events.get(uid, ())
        )
        sli = analysis.api_sli
        rows.append(
            (
                uid,
                snapshot.creation_timestamp,
                sli.pod_startup.value,
                sli.pod_startup_sli.value,
                sli.within_slo,
                orjson.dumps(analysis).decode(),
                now,
            )
        )
    writer.upsert_startups(cursor, cluster_id=cluster_id, rows=rows)
    return len(rows)
