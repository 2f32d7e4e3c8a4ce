"""Reads for one pod's timeline: its row, history, events, endpoints, gaps and analyses.

A fixed number of queries whatever the history's size (pod, transitions, event occurrences,
event versions, endpoint observations, gaps: 6). The whole retained
history of the pod is loaded, not only the zoomed window: the termination and startup
analyses need all of it, and one pod's history is small (hundreds of rows).

Termination and startup are recomputed here from the stored rows through the domain
(``lifecycle.termination.analyze_termination``, ``lifecycle.startup.analyze_startup``) rather
than read from ``TerminationRecord.analysis``: one path for every pod, including pods whose
record is not (yet) written, and it always matches the history drawn next to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from lifecycle_dash.ingest import models as m
from lifecycle_dash.lifecycle import (
    KubectlColumns,
    PodSnapshot,
    TimeSource,
    Transition,
    TransitionKind,
    kubectl_columns,
    snapshot_from_pod,
)
from lifecycle_dash.lifecycle.endpoints import EndpointObservation
from lifecycle_dash.lifecycle.events import PodEvent
from lifecycle_dash.lifecycle.explain import Explanation, ReasonKind, explain
from lifecycle_dash.lifecycle.startup import StartupAnalysis, analyze_startup
from lifecycle_dash.lifecycle.termination import TerminationAnalysis, analyze_termination
from lifecycle_dash.lifecycle.transitions import freeze_detail

__all__ = [
    "PodHeader",
    "PodTimeline",
    "pod_get",
    "pod_header",
    "pod_occurrences",
    "pod_timeline",
]


@dataclass(frozen=True, slots=True)
class PodHeader:
    pod: m.Pod
    snapshot: PodSnapshot
    columns: KubectlColumns
    explanation: Explanation | None


@dataclass(frozen=True, slots=True)
class PodTimeline:
    header: PodHeader
    transitions: tuple[Transition, ...]  # time order (``at``)
    occurrences: tuple[m.EventOccurrence, ...]  # time order (``sort_at``)
    events: tuple[PodEvent, ...]  # latest stored version of each Event about the pod
    endpoints: tuple[EndpointObservation, ...]  # time order
    gaps: tuple[m.ObservationGap, ...]
    termination: TerminationAnalysis | None
    startup: StartupAnalysis
    now: datetime

    @property
    def pod(self) -> m.Pod:
        return self.header.pod

    @property
    def snapshot(self) -> PodSnapshot:
        return self.header.snapshot

    def extent(self) -> tuple[datetime, datetime]:
        """The span worth drawing by default: first evidence to deletion (or now)."""
        pod = self.pod
        starts = [pod.first_observed_at]
        if pod.created_at is not None:
            starts.append(pod.created_at)
        starts.extend(t.at for t in self.transitions[:1])
        starts.extend(o.sort_at for o in self.occurrences[:1])
        ends = [pod.last_observed_at]
        if pod.deleted_at is not None:
            ends.append(pod.deleted_at)
        else:
            ends.append(self.now)
        ends.extend(t.at for t in self.transitions[-1:])
        ends.extend(o.sort_at for o in self.occurrences[-1:])
        ends.extend(o.observed_at for o in self.endpoints[-1:])
        start, end = min(starts), max(ends)
        if end - start < timedelta(seconds=10):
            end = start + timedelta(seconds=10)
        return start, end


def pod_get(*, uid: str) -> m.Pod | None:
    """The pod row by uid (kept after deletion); the newest if two clusters share a uid."""
    return (
        m.Pod.objects.select_related("cluster")
        .filter(uid=uid)
        .order_by("-last_observed_at")
        .first()
    )


def pod_header(*, pod: m.Pod, now: datetime) -> PodHeader:
    snapshot = snapshot_from_pod(pod.snapshot or {"metadata": {"uid": pod.uid}})
    columns = kubectl_columns(snapshot, now=now)
    status = pod.status or columns.status
    return PodHeader(
        pod=pod,
        snapshot=snapshot,
        columns=columns,
        explanation=explain(status, kind=ReasonKind.KUBECTL_STATUS),
    )


def _transition(row: m.Transition) -> Transition:
    return Transition(
        pod_uid=row.pod_uid,
        kind=TransitionKind(row.kind),
        subject=row.subject,
        old=row.old,
        new=row.new,
        observed_at=row.observed_at,
        key=row.key,
        api_time=row.api_time,
        time_source=TimeSource(row.time_source),
        detail=freeze_detail(row.detail),
    )


def _event(row: m.PodEvent) -> PodEvent:
    return PodEvent(
        uid=row.event_uid,
        name=row.name,
        namespace=row.namespace,
        resource_version=row.resource_version,
        involved_kind="Pod",
        involved_uid=row.pod_uid,
        involved_name=row.pod_name,
        involved_namespace=row.pod_namespace,
        field_path=row.field_path,
        container_name=row.container_name,
        container_list=row.container_list,
        type=row.type,
        reason=row.reason,
        message=row.message,
        message_truncated=row.message_truncated,
        action=row.action,
        source_component=row.source_component,
        source_host=row.source_host,
        reporting_controller=row.reporting_controller,
        reporting_instance=row.reporting_instance,
        count=row.count,
        first_timestamp=row.first_timestamp,
        last_timestamp=row.last_timestamp,
        event_time=row.event_time,
        series_count=row.series_count,
        series_last_observed_time=row.series_last_observed_time,
        creation_timestamp=row.creation_timestamp,
        occurred_at=row.occurred_at,
        occurred_at_source=row.occurred_at_source,
    )


def _endpoint(row: m.EndpointObservation) -> EndpointObservation:
    return EndpointObservation(
        pod_uid=row.pod_uid,
        namespace=row.namespace,
        slice_name=row.slice_name,
        service_name=row.service_name,
        observed_at=row.observed_at,
        ready=row.ready,
        serving=row.serving,
        terminating=row.terminating,
        removed=row.removed,
    )


def pod_timeline(*, pod: m.Pod, now: datetime) -> PodTimeline:
    """Everything the timeline page and the API's pod sections show (5 queries)."""
    transitions = tuple(
        _transition(row)
        for row in m.Transition.objects.filter(cluster_id=pod.cluster_id, pod_uid=pod.uid).order_by(
            "at", "observed_at", "id"
        )
    )
    occurrences = pod_occurrences(pod=pod)
    events = tuple(
        _event(row) for row in m.PodEvent.objects.filter(cluster_id=pod.cluster_id, pod_uid=pod.uid)
    )
    endpoints = tuple(
        _endpoint(row)
        for row in m.EndpointObservation.objects.filter(
            cluster_id=pod.cluster_id, pod_uid=pod.uid
        ).order_by("observed_at", "id")
    )
    end = pod.deleted_at or now
    gaps = tuple(
        m.ObservationGap.objects.filter(
            cluster_id=pod.cluster_id,
            ended_at__gte=pod.created_at or pod.first_observed_at,
            started_at__lte=end,
        ).order_by("started_at")
    )
    header = pod_header(pod=pod, now=now)
    snapshot = header.snapshot
    termination = analyze_termination(
        pod=snapshot, transitions=transitions, events=events, endpoints=endpoints, now=now
    )
    startup = analyze_startup(pod=snapshot, transitions=transitions, events=events)
    return PodTimeline(
        header=header,
        transitions=transitions,
        occurrences=occurrences,
        events=events,
        endpoints=endpoints,
        gaps=gaps,
        termination=termination,
        startup=startup,
        now=now,
    )


def pod_occurrences(*, pod: m.Pod) -> tuple[m.EventOccurrence, ...]:
    """The pod's event occurrences in time order (one query): the event table."""
    return tuple(
        m.EventOccurrence.objects.filter(cluster_id=pod.cluster_id, pod_uid=pod.uid).order_by(
            "sort_at", "event_uid", "ordinal"
        )
    )
