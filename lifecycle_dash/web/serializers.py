"""JSON shapes of the API (``/api/v1/``), and the words the timeline shows for verdicts/sources.

Every time is RFC 3339 UTC with ``Z`` or null when unknown; every derived value carries its
``source`` (the domain's rule string: ``api:``, ``event:``, ``observed:``, ``estimate:``,
``assumed:``, ``unknown:``). ``openapi.py`` describes exactly these shapes; a test validates
real responses against it, so change both together.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from django.http import HttpResponse

from lifecycle_dash.ingest import models as m
from lifecycle_dash.lifecycle import format_age, format_rfc3339
from lifecycle_dash.lifecycle.derivation import Seconds, TimePoint
from lifecycle_dash.lifecycle.startup import ImagePull, StartupAnalysis, StartupSli
from lifecycle_dash.lifecycle.termination import ContainerTermination, TerminationAnalysis
from lifecycle_dash.lifecycle.transitions import Transition
from lifecycle_dash.web.selectors_pod import PodHeader, PodTimeline
from lifecycle_dash.web.swimlanes import verdict_text

JSON = dict[str, Any]


def iso(value: datetime | None) -> str | None:
    return None if value is None else format_rfc3339(value)


def json_response(data: Any, *, status: int = 200) -> HttpResponse:
    return HttpResponse(
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        content_type="application/json",
    )


def error_response(status: int, message: str, *, parameter: str | None = None) -> HttpResponse:
    body: JSON = {"error": message}
    if parameter is not None:
        body["parameter"] = parameter
    return json_response(body, status=status)


def _seconds(value: Seconds) -> float | None:
    return None if value.value is None else round(value.value, 3)


def _point(prefix: str, point: TimePoint, out: JSON, sources: JSON) -> None:
    out[f"{prefix}_at"] = iso(point.at)
    sources[f"{prefix}_at"] = point.rule


def container_termination_json(item: ContainerTermination) -> JSON:
    sources: JSON = {
        "kill_started_at": item.kill_started.rule,
        "sigterm": item.sigterm.rule,
        "sigkill_expected": item.expected_sigkill.rule,
        "finished_at": item.exited.rule,
        "grace_used_seconds": item.grace_used.rule,
        "headroom_seconds": item.headroom.rule,
    }
    return {
        "name": item.name,
        "role": str(item.role),
        "pre_stop": item.pre_stop_kind or None,
        "pre_stop_sleep_seconds": item.pre_stop_sleep_seconds,
        "pre_stop_failed": item.pre_stop_failed,
        "kill_started_at": iso(item.kill_started.at),
        "kill_events": item.kill_events,
        "sigterm_at": iso(item.sigterm.at),
        "sigterm_earliest": iso(item.sigterm.earliest),
        "sigterm_latest": iso(item.sigterm.latest),
        "sigkill_expected_earliest": iso(item.expected_sigkill.earliest),
        "sigkill_expected_latest": iso(item.expected_sigkill.latest),
        "finished_at": iso(item.exited.at),
        "exit_code": item.exit_code,
        "reason": item.exit_reason or None,
        "verdict": str(item.verdict),
        "verdict_text": verdict_text(item),
        "explanation": item.verdict_sentence,
        "grace_used_seconds": _seconds(item.grace_used),
        "headroom_seconds": _seconds(item.headroom),
        "sources": sources,
    }


def termination_json(analysis: TerminationAnalysis | None) -> JSON | None:
    if analysis is None:
        return None
    sources: JSON = {
        "cause": analysis.cause_rule,
        "requested_at": analysis.deletion_requested.rule,
        "started_at": analysis.started.rule,
        "deletion_observed_at": analysis.deletion_observed.rule,
        "grace_period_seconds": analysis.grace_period.rule,
        "endpoint_terminating_at": analysis.endpoint_terminating.rule,
        "endpoint_removed_at": analysis.endpoint_removed.rule,
        "endpoint_withdrawn_at": analysis.endpoint_withdrawn.rule,
        "deleted_at": analysis.deleted.rule,
        "traffic_race": analysis.traffic_race_rule,
    }
    grace = analysis.grace_period.value
    return {
        "cause": str(analysis.cause),
        "requested_at": iso(analysis.deletion_requested.at),
        "started_at": iso(analysis.started.at),
        "deletion_observed_at": iso(analysis.deletion_observed.at),
        "grace_period_seconds": None if grace is None else int(grace),
        "grace_shortened": analysis.grace_shortened,
        "force_delete": analysis.force_delete,
        "endpoint_terminating_at": iso(analysis.endpoint_terminating.at),
        "endpoint_removed_at": iso(analysis.endpoint_removed.at),
        "endpoint_withdrawn_at": iso(analysis.endpoint_withdrawn.at),
        "deleted_at": iso(analysis.deleted.at),
        "traffic_race": analysis.traffic_race,
        "containers": [container_termination_json(c) for c in analysis.containers],
        "notes": list(analysis.notes),
        "sources": sources,
    }


def _step(point: TimePoint) -> JSON:
    return {
        "at": iso(point.at),
        "earliest": iso(point.earliest),
        "latest": iso(point.latest),
        "estimate": point.estimate,
        "source": point.rule,
    }


def _pull(pull: ImagePull) -> JSON:
    return {
        "container": pull.container,
        "image": pull.image,
        "pulled": pull.pulled,
        "started_at": iso(pull.started.at),
        "finished_at": iso(pull.finished.at),
        "duration_seconds": _seconds(pull.duration),
        "source": pull.finished.rule,
    }


def _sli(sli: StartupSli | None) -> JSON | None:
    if sli is None:
        return None
    return {
        "variant": sli.variant,
        "create_at": iso(sli.create.at),
        "schedule_at": iso(sli.schedule.at),
        "run_at": iso(sli.run.at),
        "watch_at": iso(sli.watch.at),
        "pod_startup_seconds": _seconds(sli.pod_startup),
        "excluded_seconds": _seconds(sli.excluded),
        "pod_startup_sli_seconds": _seconds(sli.pod_startup_sli),
        "within_slo": sli.within_slo,
        "sources": {
            "create_at": sli.create.rule,
            "schedule_at": sli.schedule.rule,
            "run_at": sli.run.rule,
            "watch_at": sli.watch.rule,
            "pod_startup_sli_seconds": sli.pod_startup_sli.rule,
        },
    }


def startup_json(analysis: StartupAnalysis) -> JSON:
    out: JSON = {}
    sources: JSON = {}
    for prefix, point in (
        ("created", analysis.created),
        ("scheduled", analysis.scheduled),
        ("sandbox_ready", analysis.sandbox_ready),
        ("initialized", analysis.initialized),
        ("all_started", analysis.all_started),
        ("running_observed", analysis.running_observed),
        ("ready", analysis.ready),
    ):
        _point(prefix, point, out, sources)
    out["steps"] = [
        {"step": s.step, "container": s.container or None, **_step(s.time)} for s in analysis.steps
    ]
    out["init_containers"] = [
        {
            "name": run.name,
            "sidecar": run.sidecar,
            "started_at": iso(run.started.at),
            "finished_at": iso(run.finished.at),
        }
        for run in analysis.init_containers
    ]
    out["image_pulls"] = [_pull(p) for p in analysis.pulls]
    out["sli"] = _sli(analysis.api_sli)
    out["watch_sli"] = _sli(analysis.watch_sli)
    out["slo_seconds"] = 5.0
    out["notes"] = list(analysis.notes)
    out["sources"] = sources
    return out


def pod_summary_json(pod: m.Pod, *, now: datetime) -> JSON:
    """One row of ``GET /api/v1/pods``: stored columns only (the dashboard's ROW_FIELDS)."""
    restarts = str(pod.restarts)
    if pod.restarts and pod.last_restart_at is not None:
        restarts = f"{restarts} ({format_age(now - pod.last_restart_at)} ago)"
    return {
        "uid": pod.uid,
        "cluster": pod.cluster.name,
        "namespace": pod.namespace,
        "name": pod.name,
        "node": pod.node_name or None,
        "owner": {"kind": pod.owner_kind, "name": pod.owner_name} if pod.owner_name else None,
        "phase": pod.phase or None,
        "status": pod.status,
        "ready": pod.ready,
        "restarts": pod.restarts,
        "restarts_column": restarts,
        "last_restart_at": iso(pod.last_restart_at),
        "age": format_age(now - pod.created_at) if pod.created_at else None,
        "labels": pod.labels or {},
        "created_at": iso(pod.created_at),
        "deletion_requested_at": iso(pod.deletion_requested_at),
        "deleted_at": iso(pod.deleted_at),
        "first_observed_at": iso(pod.first_observed_at),
    }


def pod_detail_json(header: PodHeader, timeline: PodTimeline, *, now: datetime) -> JSON:
    pod = header.pod
    columns = header.columns
    out = pod_summary_json(pod, now=now)
    out["pod_ip"] = pod.pod_ip or None
    out["qos_class"] = pod.qos_class or None
    out["last_observed_at"] = iso(pod.last_observed_at)
    out["deletion_source"] = pod.deletion_source or None
    out["kubectl"] = {
        "status": columns.status,
        "ready": columns.ready,
        "restarts": columns.restarts,
        "age": columns.age,
        "ip": columns.ip,
        "node": columns.node,
        "nominated_node": columns.nominated_node,
        "readiness_gates": columns.readiness_gates,
    }
    out["explanation"] = (
        None
        if header.explanation is None
        else {
            "title": header.explanation.title,
            "sentence": header.explanation.sentence,
            "next_step": header.explanation.next_step,
        }
    )
    out["termination"] = termination_json(timeline.termination)
    out["startup"] = startup_json(timeline.startup)
    return out


def _plain(value: Any) -> Any:
    """The domain's frozen detail (mapping proxies, tuples) as plain JSON values."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def transition_json(item: Transition) -> JSON:
    return {
        "type": "transition",
        "at": iso(item.at),
        "observed_at": iso(item.observed_at),
        "api_time": iso(item.api_time),
        "time_source": str(item.time_source),
        "kind": str(item.kind),
        "subject": item.subject or None,
        "old": item.old,
        "new": item.new,
        "detail": _plain(item.detail) if item.detail else {},
    }


def occurrence_json(item: m.EventOccurrence) -> JSON:
    return {
        "type": "event",
        "at": iso(item.sort_at),
        "exact_at": iso(item.at),
        "earliest": iso(item.earliest),
        "latest": iso(item.latest),
        "observed_at": iso(item.observed_at),
        "time_source": item.time_source,
        "event_type": item.type,
        "reason": item.reason,
        "container": item.container_name or None,
        "message": item.message,
        "event_uid": item.event_uid,
        "ordinal": item.ordinal,
    }


def timeline_items_json(
    timeline: PodTimeline, *, start: datetime | None = None, end: datetime | None = None
) -> list[JSON]:
    """Transitions and event occurrences in [start, end], merged in time order (stable:
    transitions first at equal times)."""

    def inside(at: datetime) -> bool:
        return (start is None or at >= start) and (end is None or at <= end)

    keyed: list[tuple[datetime, int, int, JSON]] = []
    for index, t in enumerate(timeline.transitions):
        if inside(t.at):
            keyed.append((t.at, 0, index, transition_json(t)))
    for index, o in enumerate(timeline.occurrences):
        if inside(o.sort_at):
            keyed.append((o.sort_at, 1, index, occurrence_json(o)))
    keyed.sort(key=lambda k: (k[0], k[1], k[2]))
    return [item for *_, item in keyed]
