"""Incident review: what happened to which pods in a time window, grouped by cause.

Input is what history keeps for the window: transitions (``Transition``), de-aggregated Event
occurrences (``WindowOccurrence``), the stored termination analyses (``TerminationFacts``) and
the pods concerned (``PodFacts``). Output is a list of ``Happening`` (one thing that happened
to one pod, with its cause and instant), grouped by ``group_happenings`` per cause and per
workload. Every rule says where it comes from:

* OOM kill: a container state ``terminated`` with reason ``OOMKilled`` (or a restart whose
  ``lastState`` says so, when the watch never saw the terminated state).
* Crash (by exit code): a container terminating with a non-zero exit that is neither an OOM
  kill, nor part of the pod's own ending (deletion requested, eviction...), nor the kill that
  follows a failed liveness/startup probe.
* Liveness restart: a ``Killing`` Event whose message says the probe failed (events.kill_cause).
* SIGKILL after the grace period, eviction, preemption, node loss: the termination analysis
  (verdicts and cause, lifecycle.termination).
* Failed scheduling: ``FailedScheduling`` Event occurrences.
* Image pull / config error: waiting reasons of container states, else (when the pod has no
  such transition in the window) the Events that report them.
* Replaced by owner / scale-down / deletion: a pod deleted through the API; "replaced" when
  its workload created pods in the window (a rollout or a controller replacing it), "scale-
  down" when its workload created none, "deleted" when it has no owner. The API does not say
  who sent a DELETE, so an owned pod deleted by hand and replaced counts as replaced.

Workloads are owners lifted one level where the name allows it: a ReplicaSet whose pods carry
``pod-template-hash=<h>`` and whose name ends in ``-<h>`` belongs to Deployment ``<name>``; a
Job named ``<cronjob>-<8+ digits>`` to CronJob ``<cronjob>`` (the CronJob controller's naming).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from operator import attrgetter
from typing import Any

from lifecycle_dash.lifecycle.events import KillCause, PodEvent, is_pull, kill_cause
from lifecycle_dash.lifecycle.explain import explain, explain_exit_code
from lifecycle_dash.lifecycle.status_kinds import StatusKind, status_kind
from lifecycle_dash.lifecycle.timeparse import try_parse_rfc3339
from lifecycle_dash.lifecycle.transitions import Transition, TransitionKind

__all__ = [
    "CAUSE_TITLES",
    "REVIEW_WAITING_REASONS",
    "CauseGroup",
    "Happening",
    "PodFacts",
    "ReviewCause",
    "Segment",
    "StatusClass",
    "TerminationFacts",
    "WindowOccurrence",
    "WorkloadGroup",
    "classify_window",
    "group_happenings",
    "pod_segments",
    "status_class",
    "workload_of",
]

# A liveness Killing and the exit it causes: the exit follows within the probe's grace.
LIVENESS_EXIT_WINDOW = timedelta(seconds=120)


class ReviewCause(StrEnum):
    OOM_KILLED = "oom_killed"
    CRASHED = "crashed"
    LIVENESS_RESTART = "liveness_restart"
    SIGKILL_AFTER_GRACE = "sigkill_after_grace"
    EVICTED = "evicted"
    PREEMPTED = "preempted"
    NODE_LOST = "node_lost"
    FAILED_SCHEDULING = "failed_scheduling"
    IMAGE_PULL = "image_pull"
    CONFIG_ERROR = "config_error"
    REPLACED = "replaced"
    SCALE_DOWN = "scale_down"
    DELETED = "deleted"


CAUSE_TITLES: Mapping[ReviewCause, str] = {
    ReviewCause.OOM_KILLED: "OOM kills",
    ReviewCause.CRASHED: "Crashes",
    ReviewCause.LIVENESS_RESTART: "Liveness-probe restarts",
    ReviewCause.SIGKILL_AFTER_GRACE: "SIGKILL at the end of the grace period",
    ReviewCause.EVICTED: "Evictions",
    ReviewCause.PREEMPTED: "Preemptions",
    ReviewCause.NODE_LOST: "Node loss",
    ReviewCause.FAILED_SCHEDULING: "Failed scheduling",
    ReviewCause.IMAGE_PULL: "Image pull failures",
    ReviewCause.CONFIG_ERROR: "Configuration errors",
    ReviewCause.REPLACED: "Rollouts and replacements (deleted, owner created new pods)",
    ReviewCause.SCALE_DOWN: "Scale-downs (deleted, owner created no pods)",
    ReviewCause.DELETED: "Deletions of pods without an owner",
}
_ORDER = {cause: i for i, cause in enumerate(ReviewCause)}

_IMAGE_REASONS = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
)
_CONFIG_REASONS = frozenset(
    {"CreateContainerConfigError", "CreateContainerError", "RunContainerError"}
)
# The waiting reasons that make a cause (storage reads only these waits).
REVIEW_WAITING_REASONS = _IMAGE_REASONS | _CONFIG_REASONS
_EVICTION_CAUSES = frozenset({"kubelet_eviction", "api_eviction", "taint_manager"})
_PREEMPTION_CAUSES = frozenset({"scheduler_preemption", "kubelet_preemption"})
_NODE_CAUSES = frozenset({"node_lost", "node_shutdown", "pod_gc"})
_DELETE_CAUSES = frozenset({"api_delete", "force_delete"})
_AT = attrgetter("at")
_CRONJOB_JOB = re.compile(r"^(?P<cron>.+)-\d{8,}$")
_TEMPLATE_HASH_SUFFIX = re.compile(r"^(?P<deployment>.+)-[bcdfghjklmnpqrstvwxz2456789]{6,10}$")


@dataclass(frozen=True, slots=True)
class PodFacts:
    uid: str
    namespace: str
    name: str
    owner_kind: str = ""
    owner_name: str = ""
    labels: Mapping[str, Any] = field(default_factory=dict, hash=False)
    node: str = ""


@dataclass(frozen=True, slots=True)
class WindowOccurrence:
    """One occurrence of an Event about a pod (``EventOccurrence``)."""

    pod_uid: str
    reason: str
    message: str
    container: str
    at: datetime
    type: str = ""


@dataclass(frozen=True, slots=True)
class TerminationFacts:
    """The columns of a stored termination analysis the review reads."""

    pod_uid: str
    cause: str
    verdicts: tuple[str, ...]  # "container:verdict"
    started_at: datetime | None
    # container -> (exit code, exit instant) from the stored analysis, when known.
    exits: Mapping[str, tuple[int | None, datetime | None]] = field(
        default_factory=dict, hash=False
    )


@dataclass(frozen=True, slots=True)
class Happening:
    cause: ReviewCause
    pod_uid: str
    at: datetime
    container: str = ""
    exit_code: int | None = None
    detail: str = ""
    rule: str = ""


def workload_of(
    owner_kind: str, owner_name: str, labels: Mapping[str, Any] | None = None
) -> tuple[str, str]:
    """(kind, name) of the workload a pod belongs to; ("", "") for a bare pod.

    Without labels (a creation transition carries only the owner), a ReplicaSet name ending
    in a pod-template-hash-shaped suffix (the Deployment controller's SafeEncodeString
    alphabet) is read as ``<deployment>-<hash>``.
    """
    if owner_kind == "ReplicaSet":
        pth = (labels or {}).get("pod-template-hash")
        if isinstance(pth, str) and pth and owner_name.endswith("-" + pth):
            return "Deployment", owner_name[: -len(pth) - 1]
        if labels is None:
            match = _TEMPLATE_HASH_SUFFIX.match(owner_name)
            if match is not None:
                return "Deployment", match.group("deployment")
    if owner_kind == "Job":
        match = _CRONJOB_JOB.match(owner_name)
        if match is not None:
            return "CronJob", match.group("cron")
    return owner_kind, owner_name


def _event(occurrence: WindowOccurrence) -> PodEvent:
    return PodEvent(
        uid="",
        involved_uid=occurrence.pod_uid,
        reason=occurrence.reason,
        message=occurrence.message,
        container_name=occurrence.container,
        type=occurrence.type,
    )


def _terminated(detail: Mapping[str, Any] | None) -> tuple[str, int | None, datetime | None]:
    if not detail:
        return "", None, None
    code = detail.get("exit_code")
    return (
        str(detail.get("reason") or ""),
        code if isinstance(code, int) and not isinstance(code, bool) else None,
        try_parse_rfc3339(detail.get("finished_at")),
    )


def _in(start: datetime, end: datetime, at: datetime | None) -> bool:
    return at is not None and start <= at <= end


def classify_window(
    *,
    start: datetime,
    end: datetime,
    pods: Mapping[str, PodFacts],
    transitions: Iterable[Transition],
    occurrences: Iterable[WindowOccurrence] = (),
    terminations: Iterable[TerminationFacts] = (),
) -> list[Happening]:
    """Everything that happened in [start, end] to the given pods, in time order."""
    found: list[Happening] = []
    by_pod: dict[str, list[Transition]] = defaultdict(list)
    for t in transitions:
        by_pod[t.pod_uid].append(t)
    records = {r.pod_uid: r for r in terminations}
    occurrence_list = sorted(occurrences, key=lambda o: o.at)
    liveness_kills: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for o in occurrence_list:
        if _in(start, end, o.at) and kill_cause(_event(o)) in (
            KillCause.LIVENESS_PROBE,
            KillCause.STARTUP_PROBE,
        ):
            liveness_kills[(o.pod_uid, o.container)].append(o.at)
            found.append(
                Happening(
                    ReviewCause.LIVENESS_RESTART,
                    o.pod_uid,
                    o.at,
                    container=o.container,
                    detail=o.message,
                    rule="event:Killing (probe failed)",
                )
            )

    # The pod's own ending starts here: exits after it are outcomes, not crashes.
    ending: dict[str, datetime] = {}
    for uid, record in records.items():
        if record.started_at is not None:
            ending[uid] = record.started_at
    for uid, items in by_pod.items():
        for t in items:
            if t.kind is TransitionKind.DELETION_REQUESTED:
                ending[uid] = min(ending.get(uid, t.at), t.at)

    created_by_workload: dict[tuple[str, str, str], int] = defaultdict(int)
    seen_exits: set[tuple[str, str, datetime | str]] = set()
    waiting_causes: set[tuple[str, ReviewCause]] = set()

    def exit_happening(
        t: Transition, term: Mapping[str, Any] | None, rule: str
    ) -> Happening | None:
        reason, code, finished = _terminated(term)
        at = finished or t.at
        key = (t.pod_uid, t.subject, finished if finished else t.key)
        if key in seen_exits or not start <= at <= end:
            return None
        seen_exits.add(key)
        if reason == "OOMKilled":
            return Happening(
                ReviewCause.OOM_KILLED, t.pod_uid, at, t.subject, code, "OOMKilled", rule
            )
        began = ending.get(t.pod_uid)
        if began is not None and at >= began - timedelta(seconds=1):
            return None
        if code is None or code == 0:
            return None
        for kill in liveness_kills.get((t.pod_uid, t.subject), ()):
            if kill - timedelta(seconds=1) <= at <= kill + LIVENESS_EXIT_WINDOW:
                return None
        return Happening(
            ReviewCause.CRASHED,
            t.pod_uid,
            at,
            t.subject,
            code,
            reason or f"exit code {code}",
            rule,
        )

    for uid, items in by_pod.items():
        pod = pods.get(uid)
        if len(items) > 1:
            items.sort(key=_AT)
        for t in items:
            if t.kind is TransitionKind.CONTAINER_STATE and isinstance(t.new, str):
                if t.new.startswith("terminated"):
                    h = exit_happening(t, t.detail.get("terminated"), "api:state.terminated")
                    if h is not None:
                        found.append(h)
                elif t.new.startswith("waiting:") and _in(start, end, t.at):
                    reason = t.new.partition(":")[2]
                    cause = (
                        ReviewCause.IMAGE_PULL
                        if reason in _IMAGE_REASONS
                        else ReviewCause.CONFIG_ERROR
                        if reason in _CONFIG_REASONS
                        else None
                    )
                    if cause is not None:
                        waiting_causes.add((uid, cause))
                        found.append(
                            Happening(
                                cause,
                                uid,
                                t.at,
                                t.subject,
                                detail=reason,
                                rule="api:state.waiting.reason",
                            )
                        )
            elif t.kind is TransitionKind.CONTAINER_RESTART and not t.detail.get("in_gap"):
                h = exit_happening(t, t.detail.get("last_state"), "api:lastState.terminated")
                if h is not None:
                    found.append(h)
            elif t.kind is TransitionKind.POD_CREATED and _in(start, end, t.at):
                # The creation names its owner: the pod itself need not be known.
                if pod is not None:
                    namespace = pod.namespace
                    kind, name = workload_of(pod.owner_kind, pod.owner_name, pod.labels)
                else:
                    namespace = str(t.detail.get("namespace", ""))
                    kind, name = workload_of(
                        str(t.detail.get("owner_kind", "")), str(t.detail.get("owner_name", ""))
                    )
                if name:
                    created_by_workload[(namespace, kind, name)] += 1

    for o in occurrence_list:
        if not _in(start, end, o.at):
            continue
        if o.reason == "FailedScheduling":
            found.append(
                Happening(
                    ReviewCause.FAILED_SCHEDULING,
                    o.pod_uid,
                    o.at,
                    detail=o.message,
                    rule="event:FailedScheduling",
                )
            )
        elif is_pull(_event(o)) and o.type == "Warning":
            if (o.pod_uid, ReviewCause.IMAGE_PULL) not in waiting_causes:
                found.append(
                    Happening(
                        ReviewCause.IMAGE_PULL,
                        o.pod_uid,
                        o.at,
                        o.container,
                        detail=o.message,
                        rule=f"event:{o.reason}",
                    )
                )
        elif (
            o.reason == "Failed"
            and o.type == "Warning"
            and "config" in o.message.lower()
            and (o.pod_uid, ReviewCause.CONFIG_ERROR) not in waiting_causes
        ):
            found.append(
                Happening(
                    ReviewCause.CONFIG_ERROR,
                    o.pod_uid,
                    o.at,
                    o.container,
                    detail=o.message,
                    rule="event:Failed",
                )
            )

    deletion_seen: set[str] = set()
    for uid, record in records.items():
        at = record.started_at
        if not _in(start, end, at):
            continue
        assert at is not None
        for verdict in record.verdicts:
            container, _, name = verdict.rpartition(":")
            if name == "sigkill_after_grace":
                code, exited = record.exits.get(container, (None, None))
                found.append(
                    Happening(
                        ReviewCause.SIGKILL_AFTER_GRACE,
                        uid,
                        exited or at,
                        container,
                        code,
                        "SIGKILL after the grace period",
                        "analysis:verdict=sigkill_after_grace",
                    )
                )
        cause = _record_cause(record.cause)
        if cause is not None:
            found.append(Happening(cause, uid, at, detail=record.cause, rule="analysis:cause"))
        elif record.cause in _DELETE_CAUSES:
            deletion_seen.add(uid)
            found.append(_deletion(uid, at, pods, created_by_workload, record.cause))
    for uid, items in by_pod.items():
        if uid in deletion_seen or uid in records:
            continue
        for t in items:
            if t.kind is TransitionKind.DELETION_REQUESTED and _in(start, end, t.at):
                found.append(_deletion(uid, t.at, pods, created_by_workload, "api_delete"))
                break
    found.sort(key=lambda h: (h.at, _ORDER[h.cause], h.pod_uid))
    return found


def _record_cause(cause: str) -> ReviewCause | None:
    if cause in _EVICTION_CAUSES:
        return ReviewCause.EVICTED
    if cause in _PREEMPTION_CAUSES:
        return ReviewCause.PREEMPTED
    if cause in _NODE_CAUSES:
        return ReviewCause.NODE_LOST
    return None


def _deletion(
    uid: str,
    at: datetime,
    pods: Mapping[str, PodFacts],
    created: Mapping[tuple[str, str, str], int],
    how: str,
) -> Happening:
    pod = pods.get(uid)
    if pod is None or not pod.owner_name:
        return Happening(ReviewCause.DELETED, uid, at, detail=how, rule="analysis:cause, no owner")
    kind, name = workload_of(pod.owner_kind, pod.owner_name, pod.labels)
    n = created.get((pod.namespace, kind, name), 0)
    if n:
        return Happening(
            ReviewCause.REPLACED,
            uid,
            at,
            detail=f"{kind} {name} created {n} pod{'s' if n != 1 else ''} in the window",
            rule="analysis:cause + pods created by the same workload",
        )
    return Happening(
        ReviewCause.SCALE_DOWN,
        uid,
        at,
        detail=f"{kind} {name} created no pod in the window",
        rule="analysis:cause + no pod created by the same workload",
    )


@dataclass(slots=True)
class WorkloadGroup:
    namespace: str
    kind: str
    name: str
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    pod_uids: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.name}" if self.kind else "(no owner)"


@dataclass(slots=True)
class CauseGroup:
    cause: ReviewCause
    exit_code: int | None
    title: str
    explanation: str
    next_step: str
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    workloads: list[WorkloadGroup] = field(default_factory=list)
    pod_uids: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        if self.exit_code is not None:
            return f"{self.cause.value}-{self.exit_code}"
        return self.cause.value


_EXPLAIN_REASON: Mapping[ReviewCause, str] = {
    ReviewCause.OOM_KILLED: "OOMKilled",
    ReviewCause.EVICTED: "Evicted",
    ReviewCause.PREEMPTED: "Preempted",
    ReviewCause.NODE_LOST: "NodeLost",
    ReviewCause.FAILED_SCHEDULING: "FailedScheduling",
    ReviewCause.IMAGE_PULL: "ImagePullBackOff",
    ReviewCause.CONFIG_ERROR: "CreateContainerConfigError",
}
_FIXED_TEXT: Mapping[ReviewCause, tuple[str, str]] = {
    ReviewCause.LIVENESS_RESTART: (
        "The kubelet killed a container whose liveness (or startup) probe kept failing, and "
        "restarted it.",
        "Check the probe's timeout and threshold against the app's worst-case latency.",
    ),
    ReviewCause.SIGKILL_AFTER_GRACE: (
        "The container was still running when its grace period ran out and was killed with "
        "SIGKILL: it ignored or did not finish on SIGTERM.",
        "Handle SIGTERM in the process (an exec-form entrypoint, not a shell), or raise "
        "terminationGracePeriodSeconds.",
    ),
    ReviewCause.REPLACED: (
        "The pods were deleted while their workload created new ones: a rollout, or a "
        "controller replacing deleted pods.",
        "Compare with the deploy log; a rollout during the incident is a prime suspect.",
    ),
    ReviewCause.SCALE_DOWN: (
        "The pods were deleted and their workload created none: a scale-down, or a deletion "
        "the controller did not replace.",
        "Check autoscaler decisions and manual scaling in the window.",
    ),
    ReviewCause.DELETED: (
        "Pods without an owner were deleted through the API; nothing replaces them.",
        "Find who deleted them (audit log); the API does not say.",
    ),
}


def _texts(cause: ReviewCause, exit_code: int | None) -> tuple[str, str, str]:
    title = CAUSE_TITLES[cause]
    if cause is ReviewCause.CRASHED and exit_code is not None:
        explained = explain_exit_code(exit_code)
        return f"Crashes with exit code {exit_code}", explained.sentence, explained.next_step
    if cause in _FIXED_TEXT:
        sentence, next_step = _FIXED_TEXT[cause]
        return title, sentence, next_step
    reason = _EXPLAIN_REASON.get(cause)
    found = explain(reason) if reason else None
    if found is None:
        return title, "", ""
    return title, found.sentence, found.next_step


def group_happenings(
    happenings: Sequence[Happening], *, pods: Mapping[str, PodFacts]
) -> list[CauseGroup]:
    """Per cause (crashes per exit code), per workload: counts, first and last, pods."""
    groups: dict[tuple[ReviewCause, int | None], CauseGroup] = {}
    workloads: dict[tuple[ReviewCause, int | None, str, str, str], WorkloadGroup] = {}
    # The pods already listed per group or workload: membership in a set, not in the list.
    listed: dict[int, set[str]] = {}
    # A pod's (namespace, kind, name), worked out once however many happenings it has.
    owners: dict[str, tuple[str, str, str]] = {}
    crashed = ReviewCause.CRASHED
    for h in happenings:
        uid, at = h.pod_uid, h.at
        code = h.exit_code if h.cause is crashed else None
        group = groups.get((h.cause, code))
        if group is None:
            title, sentence, next_step = _texts(h.cause, code)
            group = groups[(h.cause, code)] = CauseGroup(h.cause, code, title, sentence, next_step)
            listed[id(group)] = set()
        owner = owners.get(uid)
        if owner is None:
            pod = pods.get(uid)
            if pod is None:
                owner = ("", "", "")
            else:
                kind, name = workload_of(pod.owner_kind, pod.owner_name, pod.labels)
                owner = (pod.namespace, kind, name) if name else (pod.namespace, "Pod", pod.name)
            owners[uid] = owner
        wkey = (h.cause, code, *owner)
        workload = workloads.get(wkey)
        if workload is None:
            workload = workloads[wkey] = WorkloadGroup(*owner)
            group.workloads.append(workload)
            listed[id(workload)] = set()
        for item in (group, workload):
            item.count += 1
            if item.first is None or at < item.first:
                item.first = at
            if item.last is None or at > item.last:
                item.last = at
            seen = listed[id(item)]
            if uid not in seen:
                seen.add(uid)
                item.pod_uids.append(uid)
    result = sorted(
        groups.values(), key=lambda g: (_ORDER[g.cause], g.exit_code if g.exit_code else 0)
    )
    for group in result:
        group.workloads.sort(key=lambda w: (-w.count, w.namespace, w.kind, w.name))
    return result


# --- the window timeline: a pod's STATUS over time, by class --------------------------------


class StatusClass(StrEnum):
    READY = "ready"
    NOT_READY = "not-ready"
    PENDING = "pending"
    CRASH = "crash"
    TERMINATING = "terminating"
    FAILED = "failed"
    DONE = "done"
    GONE = "gone"
    # Before the first observation of the pod: nothing is known, not even Pending.
    UNOBSERVED = "unobserved"


_CLASS_OF_KIND = {
    StatusKind.TERMINATING: StatusClass.TERMINATING,
    StatusKind.DONE: StatusClass.DONE,
    StatusKind.CRASH: StatusClass.CRASH,
    StatusKind.FAILED: StatusClass.FAILED,
    StatusKind.NOT_READY: StatusClass.NOT_READY,
    StatusKind.PENDING: StatusClass.PENDING,
    StatusKind.OTHER: StatusClass.PENDING,
}


def status_class(status: str, ready: bool | None) -> StatusClass:
    """The lane colour of a kubectl STATUS (``ready`` = the pod's Ready condition)."""
    kind = status_kind(status)
    if kind is StatusKind.RUNNING:
        return StatusClass.READY if ready else StatusClass.NOT_READY
    return _CLASS_OF_KIND[kind]


UNOBSERVED_LABEL = "not observed yet"


@dataclass(frozen=True, slots=True)
class Segment:
    start: datetime
    end: datetime
    status: str
    css: StatusClass


def pod_segments(
    *,
    start: datetime,
    end: datetime,
    created: datetime | None,
    deleted: datetime | None,
    initial_status: str,
    initial_ready: bool | None,
    changes: Iterable[Transition],
) -> list[Segment]:
    """The pod's STATUS lane clipped to [start, end].

    ``initial_status``/``initial_ready`` hold at ``start`` (the latest values before it; an
    empty status means the pod was not observed yet, drawn as such until its first STATUS);
    ``changes`` are KUBECTL_STATUS and POD_READY transitions inside the window.
    """
    begin = max(start, created) if created is not None else start
    stop = min(end, deleted) if deleted is not None else end
    if stop <= begin:
        return []
    status, ready = initial_status or UNOBSERVED_LABEL, initial_ready
    points: list[tuple[datetime, str, bool | None]] = [(begin, status, ready)]
    for t in sorted(changes, key=lambda t: t.at):
        if t.at > stop:
            break
        if t.kind is TransitionKind.KUBECTL_STATUS and isinstance(t.new, str):
            status = t.new
        elif t.kind is TransitionKind.POD_READY:
            ready = bool(t.new)
        else:
            continue
        points.append((max(t.at, begin), status, ready))
    segments: list[Segment] = []
    for i, (at, st, rd) in enumerate(points):
        seg_end = points[i + 1][0] if i + 1 < len(points) else stop
        if seg_end <= at:
            continue
        css = StatusClass.UNOBSERVED if st == UNOBSERVED_LABEL else status_class(st, rd)
        if segments and segments[-1].status == st and segments[-1].css is css:
            segments[-1] = Segment(segments[-1].start, seg_end, st, css)
        else:
            segments.append(Segment(at, seg_end, st, css))
    return segments
