"""Termination and startup records: the lifecycle analyses over stored evidence.

Termination records: ``lifecycle.termination.analyze_termination``; startup records:
``lifecycle.startup.analyze_startup`` (``TerminationRecompute``, ``StartupRecompute``).

Recomputed inside a processor's flush transaction for the pods whose evidence just changed (a
deletion, a terminal status, a Killing/Evicted... event, an endpoint withdrawal, a start),
after that flush's rows are written, so the analysis sees them. Evidence is read in a few
queries per batch whatever the number of pods (pods not already at hand, their relevant
transitions, the latest version of their Events, their endpoint observations), all sent in
the round trip that carries the flush's upserts; the records go with its last one. The
analysis is stored whole as JSON (the timeline renders it) next to a few columns the
incident review filters on.
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
    "StartupRecompute",
    "TerminationRecompute",
    "event_from_row",
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


class _Recompute:
    """Records of some pods recomputed within a flush, in two round trips it shares.

    The constructor queues the evidence reads on ``reads`` (the trip that also carries the
    flush's upserts, which come first so the reads see them); once it has run, ``write``
    analyses each pod and queues the records' upsert on ``writes`` (the flush's last trip).
    """

    kinds: list[str] | None  # the transitions read; None: the startup's firsts
    endpoints: bool  # whether endpoint observations are evidence

    def __init__(
        self,
        reads: writer.RoundTrip,
        *,
        cluster_id: int,
        pod_uids: Iterable[str],
        known: Mapping[str, PodSnapshot] | None = None,
        history: Mapping[str, Sequence[Transition]] | None = None,
    ) -> None:
        uids = sorted(set(pod_uids))
        self.cluster_id = cluster_id
        self.pods: dict[str, PodSnapshot] = {
            uid: known[uid] for uid in uids if known is not None and uid in known
        }
        self.transitions: dict[str, list[Transition]] = defaultdict(list)
        self.events: dict[str, list[PodEvent]] = defaultdict(list)
        self.observations: dict[str, list[EndpointObservation]] = defaultdict(list)
        if not uids:
            return
        missing = [uid for uid in uids if uid not in self.pods]
        if missing:
            reads.add(
                "SELECT uid, snapshot::text FROM ingest_pod WHERE cluster_id = %s "
                "AND uid = ANY(%s)",
                [cluster_id, missing],
                self._read_pods,
            )
        queried = uids
        if history:
            # Pods first seen in this batch: the caller holds every transition they have.
            wanted = frozenset(_STARTUP_KINDS if self.kinds is None else self.kinds)
            for uid in uids:
                if uid in history:
                    self.transitions[uid] = [t for t in history[uid] if t.kind.value in wanted]
            queried = [uid for uid in uids if uid not in history]
        if queried:
            if self.kinds is None:
                reads.add(_STARTUP_FIRSTS, [queried, cluster_id], self._read_transitions)
            else:
                reads.add(
                    f"SELECT {_SELECT_TRANSITION} WHERE pod_uid = ANY(%s) AND kind = ANY(%s) "
                    "AND cluster_id = %s ORDER BY observed_at",
                    [queried, self.kinds, cluster_id],
                    self._read_transitions,
                )
        reads.add(
            f"SELECT event_uid, {EVENT_COLUMNS_SQL} FROM ingest_podevent "
            "WHERE cluster_id = %s AND pod_uid = ANY(%s)",
            [cluster_id, uids],
            self._read_events,
        )
        if self.endpoints:
            reads.add(
                "SELECT pod_uid, namespace, slice_name, service_name, observed_at, ready, "
                "serving, terminating, removed FROM ingest_endpointobservation "
                "WHERE cluster_id = %s AND pod_uid = ANY(%s) ORDER BY observed_at",
                [cluster_id, uids],
                self._read_observations,
            )

    def _read_pods(self, cursor: Any) -> None:
        self.pods.update(
            (uid, snapshot_from_document(orjson.loads(doc))) for uid, doc in cursor.fetchall()
        )

    def _read_transitions(self, cursor: Any) -> None:
        found = self.transitions
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

    def _read_events(self, cursor: Any) -> None:
        for row in cursor:
            event = event_from_row(row[0], row[1:])
            self.events[event.involved_uid].append(event)

    def _read_observations(self, cursor: Any) -> None:
        for row in cursor:
            self.observations[row[0]].append(EndpointObservation(*row))

    def write(self, writes: writer.RoundTrip, *, now: datetime) -> int:
        """Analyse the pods found and queue their records' upsert; returns how many."""
        rows = [
            row
            for uid, snapshot in self.pods.items()
            if (row := self._record(uid, snapshot, now)) is not None
        ]
        self._store(writes, rows)
        return len(rows)

    def _record(self, uid: str, snapshot: PodSnapshot, now: datetime) -> tuple[Any, ...] | None:
        """One pod's record row (None: nothing to record)."""
        raise NotImplementedError

    def _store(self, writes: writer.RoundTrip, rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError


class TerminationRecompute(_Recompute):
    """``lifecycle.termination.analyze_termination`` of some pods, stored."""

    kinds = _KINDS
    endpoints = True

    def _record(self, uid: str, snapshot: PodSnapshot, now: datetime) -> tuple[Any, ...] | None:
        analysis = analyze_termination(
            pod=snapshot,
            transitions=self.transitions.get(uid, ()),
            events=self.events.get(uid, ()),
            endpoints=self.observations.get(uid, ()),
            now=now,
        )
        if analysis is None:
            return None
        return (
            uid,
            analysis.cause.value,
            "\n".join(f"{c.name}:{c.verdict.value}"[:300] for c in analysis.containers),
            analysis.started.at,
            orjson.dumps(analysis).decode(),
            now,
        )

    def _store(self, writes: writer.RoundTrip, rows: list[tuple[Any, ...]]) -> None:
        writer.upsert_terminations(writes, cluster_id=self.cluster_id, rows=rows)


class StartupRecompute(_Recompute):
    """``lifecycle.startup.analyze_startup`` of some pods, stored."""

    kinds = None
    endpoints = False

    def _record(self, uid: str, snapshot: PodSnapshot, now: datetime) -> tuple[Any, ...] | None:
        analysis = analyze_startup(
            pod=snapshot,
            transitions=self.transitions.get(uid, ()),
            events=self.events.get(uid, ()),
        )
        sli = analysis.api_sli
        return (
            uid,
            snapshot.creation_timestamp,
            sli.pod_startup.value,
            sli.pod_startup_sli.value,
            sli.within_slo,
            orjson.dumps(analysis).decode(),
            now,
        )

    def _store(self, writes: writer.RoundTrip, rows: list[tuple[Any, ...]]) -> None:
        writer.upsert_startups(writes, cluster_id=self.cluster_id, rows=rows)
