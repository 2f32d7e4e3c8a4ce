"""How long a pod took to start, step by step, and the Kubernetes pod-startup SLI.

Steps: created -> scheduled -> sandbox ready -> init containers -> image pulls -> containers
started -> observed Running -> ready. Each step is a ``TimePoint`` naming its source; API times
are whole seconds from their writer's clock (API server, scheduler, kubelet, runtime), so
differences between them carry about 1 s of error either way.

The SLI (reference §8, clusterloader2 ``pod_startup_latency.go``) is computed in both forms
clusterloader2 has used:

``api`` (before perf-tests 09a6a61): create = ``creationTimestamp``; schedule = the
``Scheduled`` event's eventTime, else firstTimestamp; run = the latest
``state.running.startedAt`` over the regular containers; watch = our receive time of the
first update with phase Running. ``pod_startup`` = watch - create.

``watch`` (since 09a6a61): every phase is a receive time: first seen, first seen with
``spec.nodeName``, first seen Running; watch = run. Only meaningful when we saw the pod
before it was Running, otherwise the variant is None and says why.

Exclusions. clusterloader2 excludes image pulls and init containers by construction: its pods
use pre-pulled images and have no init containers. Real pods have both, so the SLI subtracts
from ``pod_startup`` the wall-clock union (overlaps counted once) of, clipped to the
create..watch window:

* the init phase: from the earliest init-container ``Pulling`` event or init start, to
  ``Initialized=True`` (its lastTransitionTime), else the last init finish / sidecar start;
* each regular container's image pull: ``[Pulled - d, Pulled]`` with d the duration the
  ``Pulled`` message gives (the "including waiting" one when present, since the pod waited
  for it), else ``[Pulling, Pulled]`` from the event times. "already present" is no pull.

The unexcluded latency is reported next to it, and the SLO check is against 5 s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from lifecycle_dash.lifecycle.derivation import Seconds, TimePoint
from lifecycle_dash.lifecycle.events import (
    PodEvent,
    latest_event_versions,
    pull_result,
    pulled_image,
)
from lifecycle_dash.lifecycle.snapshot import ContainerRole, ContainerStatus, PodSnapshot
from lifecycle_dash.lifecycle.transitions import Transition, TransitionKind

__all__ = [
    "SLO_SECONDS",
    "ImagePull",
    "InitContainerRun",
    "StartupAnalysis",
    "StartupSli",
    "StartupStep",
    "analyze_startup",
]

SLO_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class StartupStep:
    step: str
    container: str
    time: TimePoint


@dataclass(frozen=True, slots=True)
class ImagePull:
    container: str
    init_container: bool  # the pull was for an init container (or sidecar)
    image: str
    pulled: bool  # False: already present on the node
    started: TimePoint
    finished: TimePoint
    duration: Seconds
    duration_including_waiting: Seconds

    def interval(self) -> tuple[datetime, datetime] | None:
        """When the pod waited for this pull, or None if not a pull or not datable."""
        if not self.pulled or self.finished.at is None:
            return None
        seconds = self.duration_including_waiting.value or self.duration.value
        if seconds is not None:
            return self.finished.at - timedelta(seconds=seconds), self.finished.at
        if self.started.at is not None:
            return self.started.at, self.finished.at
        return None


@dataclass(frozen=True, slots=True)
class InitContainerRun:
    name: str
    sidecar: bool
    started: TimePoint
    finished: TimePoint  # for a sidecar: unknown (it keeps running)


@dataclass(frozen=True, slots=True)
class StartupSli:
    variant: str  # "api" or "watch"
    create: TimePoint
    schedule: TimePoint
    run: TimePoint
    watch: TimePoint
    create_to_schedule: Seconds
    schedule_to_run: Seconds
    run_to_watch: Seconds
    schedule_to_watch: Seconds
    create_to_run: Seconds
    pod_startup: Seconds  # create -> watch, nothing excluded
    excluded: Seconds  # image pulls and init phase inside the window (union)
    pod_startup_sli: Seconds  # pod_startup - excluded
    within_slo: bool | None


@dataclass(frozen=True, slots=True)
class StartupAnalysis:
    pod_uid: str
    namespace: str
    name: str
    owner_kind: str
    owner_name: str
    created: TimePoint
    scheduled: TimePoint
    sandbox_ready: TimePoint
    initialized: TimePoint
    init_containers: tuple[InitContainerRun, ...]
    pulls: tuple[ImagePull, ...]
    containers_started: tuple[StartupStep, ...]
    all_started: TimePoint
    running_observed: TimePoint
    ready: TimePoint
    ready_observed: TimePoint
    steps: tuple[StartupStep, ...]
    api_sli: StartupSli
    watch_sli: StartupSli | None
    watch_sli_rule: str
    notes: tuple[str, ...]


def _unknown(reason: str) -> TimePoint:
    return TimePoint(None, f"unknown:{reason}")


def _between(start: TimePoint, end: TimePoint) -> Seconds:
    if start.at is None or end.at is None:
        return Seconds(None, "unknown:missing endpoint")
    return Seconds((end.at - start.at).total_seconds(), f"{end.rule} - {start.rule}")


def _condition_true(pod: PodSnapshot, type_: str) -> TimePoint:
    cond = pod.condition(type_)
    if cond is None or cond.status != "True" or cond.last_transition_time is None:
        return _unknown(f"{type_} is not True")
    return TimePoint(cond.last_transition_time, f"api:{type_}.lastTransitionTime")


def _first(
    transitions: Sequence[Transition], kind: TransitionKind, *, new: object = None
) -> Transition | None:
    found = [t for t in transitions if t.kind is kind and (new is None or t.new == new)]
    return min(found, key=lambda t: t.observed_at) if found else None


def _started_at(status: ContainerStatus) -> datetime | None:
    """The current incarnation's start; after restarts the first start is lost (reference
    §2.5 keeps only the last execution), so the caller notes restarts."""
    if status.state.running is not None:
        return status.state.running.started_at
    if status.state.terminated is not None:
        return status.state.terminated.started_at
    return None


def _pulls(events: Sequence[PodEvent]) -> tuple[ImagePull, ...]:
    by_container: dict[tuple[str, str], list[PodEvent]] = {}
    for event in events:
        if event.reason in ("Pulling", "Pulled") and event.container_name:
            by_container.setdefault((event.container_list, event.container_name), []).append(event)
    result: list[ImagePull] = []
    for (container_list, name), items in sorted(by_container.items()):
        pulling = min(
            (e for e in items if e.reason == "Pulling" and e.first_occurred_at),
            key=lambda e: e.first_occurred_at or datetime.max,
            default=None,
        )
        pulled = min(
            (e for e in items if e.reason == "Pulled" and e.first_occurred_at),
            key=lambda e: e.first_occurred_at or datetime.max,
            default=None,
        )
        parsed = pull_result(pulled) if pulled is not None else None
        image = (
            parsed.image
            if parsed is not None and parsed.image
            else pulled_image(pulling)
            if pulling is not None
            else ""
        )
        started = (
            TimePoint(pulling.first_occurred_at, "event:Pulling time")
            if pulling is not None and pulling.first_occurred_at is not None
            else _unknown("no Pulling event")
        )
        finished = (
            TimePoint(pulled.first_occurred_at, "event:Pulled time")
            if pulled is not None and pulled.first_occurred_at is not None
            else _unknown("no Pulled event")
        )
        duration = Seconds(None, "unknown:no duration in the Pulled message")
        waiting = Seconds(None, "unknown:no 'including waiting' duration in the message")
        if parsed is not None and parsed.duration_seconds is not None:
            duration = Seconds(parsed.duration_seconds, "event:Pulled message duration")
        elif started.at is not None and finished.at is not None:
            duration = Seconds(
                (finished.at - started.at).total_seconds(), "event:Pulled time - Pulling time"
            )
        if parsed is not None and parsed.duration_including_waiting_seconds is not None:
            waiting = Seconds(
                parsed.duration_including_waiting_seconds,
                "event:Pulled message duration including waiting",
            )
        result.append(
            ImagePull(
                container=name,
                init_container=container_list == "initContainers",
                image=image,
                pulled=parsed.pulled if parsed is not None else pulling is not None,
                started=started,
                finished=finished,
                duration=duration,
                duration_including_waiting=waiting,
            )
        )
    return tuple(result)


def _union_within(
    intervals: Sequence[tuple[datetime, datetime]], start: datetime, end: datetime
) -> float:
    clipped = sorted(
        (max(a, start), min(b, end)) for a, b in intervals if min(b, end) > max(a, start)
    )
    total = 0.0
    current: tuple[datetime, datetime] | None = None
    for a, b in clipped:
        if current is None or a > current[1]:
            if current is not None:
                total += (current[1] - current[0]).total_seconds()
            current = (a, b)
        else:
            current = (current[0], max(current[1], b))
    if current is not None:
        total += (current[1] - current[0]).total_seconds()
    return total


def _sli(
    variant: str,
    *,
    create: TimePoint,
    schedule: TimePoint,
    run: TimePoint,
    watch: TimePoint,
    exclusions: Sequence[tuple[datetime, datetime]],
) -> StartupSli:
    pod_startup = _between(create, watch)
    if create.at is not None and watch.at is not None:
        excluded_s = _union_within(exclusions, create.at, watch.at)
        excluded = Seconds(
            excluded_s, "union of image-pull and init-phase intervals within create..watch"
        )
        value = (pod_startup.value or 0.0) - excluded_s
        sli = Seconds(value, "pod_startup - excluded")
        within: bool | None = value <= SLO_SECONDS
    else:
        excluded = Seconds(None, "unknown:no create..watch window")
        sli = Seconds(None, "unknown:no create..watch window")
        within = None
    return StartupSli(
        variant=variant,
        create=create,
        schedule=schedule,
        run=run,
        watch=watch,
        create_to_schedule=_between(create, schedule),
        schedule_to_run=_between(schedule, run),
        run_to_watch=_between(run, watch),
        schedule_to_watch=_between(schedule, watch),
        create_to_run=_between(create, run),
        pod_startup=pod_startup,
        excluded=excluded,
        pod_startup_sli=sli,
        within_slo=within,
    )


def analyze_startup(
    *,
    pod: PodSnapshot,
    transitions: Sequence[Transition] = (),
    events: Sequence[PodEvent] = (),
) -> StartupAnalysis:
    """The startup of ``pod`` from its latest snapshot, its transitions and its Events."""
    mine = latest_event_versions(
        e for e in events if not e.involved_uid or e.involved_uid == pod.uid
    )
    notes: list[str] = [
        "API times have 1 s precision and come from different clocks (API server, "
        "scheduler, kubelet, runtime); differences between them carry about ±1 s."
    ]
    created = (
        TimePoint(pod.creation_timestamp, "api:metadata.creationTimestamp")
        if pod.creation_timestamp is not None
        else _unknown("no creationTimestamp")
    )
    scheduled_event = next(
        (e for e in mine if e.reason == "Scheduled" and e.first_occurred_at is not None), None
    )
    if scheduled_event is not None:
        at = scheduled_event.event_time or scheduled_event.first_timestamp
        rule = (
            "event:Scheduled.eventTime"
            if scheduled_event.event_time
            else ("event:Scheduled.firstTimestamp")
        )
        if at is None:
            at, rule = scheduled_event.first_occurred_at, scheduled_event.occurred_at_source
        scheduled = TimePoint(at, rule)
    else:
        scheduled = _condition_true(pod, "PodScheduled")
    sandbox_ready = _condition_true(pod, "PodReadyToStartContainers")
    if not sandbox_ready.known:
        sandbox_ready = _condition_true(pod, "PodHasNetwork")
    initialized = _condition_true(pod, "Initialized")
    if initialized.known and not pod.init_containers:
        notes.append("Without init containers, Initialized turns True before the sandbox exists.")

    init_runs: list[InitContainerRun] = []
    for status in pod.init_container_statuses:
        start = _started_at(status)
        term = status.state.terminated
        sidecar = status.role is ContainerRole.SIDECAR
        init_runs.append(
            InitContainerRun(
                name=status.name,
                sidecar=sidecar,
                started=TimePoint(start, "api:state.startedAt")
                if start is not None
                else _unknown("not started"),
                finished=_unknown("a sidecar keeps running")
                if sidecar
                else TimePoint(term.finished_at, "api:state.terminated.finishedAt")
                if term is not None and term.finished_at is not None
                else _unknown("not finished"),
            )
        )
        if status.restart_count:
            notes.append(
                f"Init container {status.name} restarted {status.restart_count} times; only "
                "its last run is in the API."
            )

    pulls = _pulls(mine)
    started_steps: list[StartupStep] = []
    run_times: list[datetime] = []
    for status in pod.container_statuses:
        start = _started_at(status)
        if start is not None:
            run_times.append(start)
            started_steps.append(
                StartupStep("container_started", status.name, TimePoint(start, "api:startedAt"))
            )
        else:
            started_steps.append(
                StartupStep("container_started", status.name, _unknown("not started"))
            )
        if status.restart_count:
            notes.append(
                f"Container {status.name} restarted {status.restart_count} times; startedAt is "
                "its latest start, so startup times are upper bounds."
            )
    all_started = (
        TimePoint(max(run_times), "api:max(containerStatuses[].state.running.startedAt)")
        if run_times and len(run_times) == len(pod.container_statuses) and pod.containers
        else _unknown("not every container has started")
    )

    running_t = _first(transitions, TransitionKind.PHASE, new="Running")
    running_observed = (
        TimePoint(
            running_t.observed_at, "observed:receive time of the first update with phase Running"
        )
        if running_t is not None
        else _unknown("phase Running not observed")
    )
    ready = _condition_true(pod, "Ready")
    ready_t = _first(transitions, TransitionKind.POD_READY, new=True)
    ready_observed = (
        TimePoint(ready_t.observed_at, "observed:receive time of the first update with Ready")
        if ready_t is not None
        else _unknown("Ready not observed")
    )

    # Exclusions for the SLI.
    exclusions: list[tuple[datetime, datetime]] = []
    if pod.init_containers:
        init_pull_starts = [p.started.at for p in pulls if p.init_container and p.started.at]
        starts = [r.started.at for r in init_runs if r.started.at is not None]
        begin = min(init_pull_starts + starts, default=None)
        ends = [r.finished.at for r in init_runs if r.finished.at is not None] + [
            r.started.at for r in init_runs if r.sidecar and r.started.at is not None
        ]
        end = initialized.at if initialized.at is not None else max(ends, default=None)
        if begin is not None and end is not None and end > begin:
            exclusions.append((begin, end))
        elif begin is None or end is None:
            notes.append("The init phase could not be dated, so it is not excluded.")
    for pull in pulls:
        if not pull.init_container:
            interval = pull.interval()
            if interval is not None:
                exclusions.append(interval)
            elif pull.pulled:
                notes.append(f"The pull for {pull.container} could not be dated; not excluded.")

    api_sli = _sli(
        "api",
        create=created,
        schedule=scheduled,
        run=all_started,
        watch=running_observed,
        exclusions=exclusions,
    )
    watch_sli: StartupSli | None = None
    first_seen = _first(transitions, TransitionKind.POD_CREATED)
    if running_t is None:
        watch_rule = "unknown:phase Running not observed"
    elif not running_t.old:  # diff from nothing reports the old phase as ""
        watch_rule = "unknown:the pod was first observed already Running (relist or late start)"
    elif first_seen is None:
        watch_rule = "unknown:first observation of the pod not recorded"
    else:
        assigned = _first(transitions, TransitionKind.NODE_ASSIGNED)
        node_seen = (
            assigned.observed_at
            if assigned is not None and assigned.new
            else first_seen.observed_at
            if pod.node_name
            else None
        )
        watch_point = TimePoint(running_t.observed_at, "observed:first seen Running")
        watch_sli = _sli(
            "watch",
            create=TimePoint(first_seen.observed_at, "observed:first seen"),
            schedule=TimePoint(node_seen, "observed:first seen with nodeName")
            if node_seen is not None
            else _unknown("nodeName never observed"),
            run=watch_point,
            watch=watch_point,
            exclusions=exclusions,
        )
        watch_rule = "clusterloader2 since 09a6a61: every phase is a watch receive time"

    steps: list[StartupStep] = [
        StartupStep("created", "", created),
        StartupStep("scheduled", "", scheduled),
        StartupStep("sandbox_ready", "", sandbox_ready),
    ]
    for run in init_runs:
        steps.append(StartupStep("init_started", run.name, run.started))
        if not run.sidecar:
            steps.append(StartupStep("init_finished", run.name, run.finished))
    if pod.init_containers:
        steps.append(StartupStep("initialized", "", initialized))
    for pull in pulls:
        steps.append(StartupStep("pull_started", pull.container, pull.started))
        steps.append(StartupStep("pulled", pull.container, pull.finished))
    steps.extend(started_steps)
    steps.append(StartupStep("all_started", "", all_started))
    steps.append(StartupStep("running_observed", "", running_observed))
    steps.append(StartupStep("ready", "", ready))

    return StartupAnalysis(
        pod_uid=pod.uid,
        namespace=pod.namespace,
        name=pod.name,
        owner_kind=pod.owner_kind,
        owner_name=pod.owner_name,
        created=created,
        scheduled=scheduled,
        sandbox_ready=sandbox_ready,
        initialized=initialized,
        init_containers=tuple(init_runs),
        pulls=pulls,
        containers_started=tuple(started_steps),
        all_started=all_started,
        running_observed=running_observed,
        ready=ready,
        ready_observed=ready_observed,
        steps=tuple(steps),
        api_sli=api_sli,
        watch_sli=watch_sli,
        watch_sli_rule=watch_rule,
        notes=tuple(notes),
    )
