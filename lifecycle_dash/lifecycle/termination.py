"""The termination sequence of one pod, with every value saying how it was derived.

Inputs are what ingest keeps about a pod: its last snapshot (the DELETED object, or the
latest one), its transitions (for our receive times and the grace-period history), the
latest version of each of its Events, and its endpoint observations. ``now`` decides whether
a pod without a final status is still terminating or will never get one.

What the API exposes is reported as fact with its source (``api:...``, ``event:...``,
``observed:...``); what it does not (SIGTERM, SIGKILL, preStop duration, reference §3.8) is
an estimate with bounds (``estimate:...``) or None with the reason. API times are whole
seconds, each from its writer's clock, so every comparison below allows 1 s of slack and
every bound is stated at that precision.

SIGTERM (reference §3.3, §3.7): the kubelet records ``Killing`` before running preStop, then
sends the stop signal when preStop returns or the grace runs out. So SIGTERM lies in
[Killing, Killing + min(preStop, grace)]. For a ``sleep`` preStop (or a literal exec of
``sleep N``) without a ``FailedPreStopHook`` event the hook's duration is known, and the bound
tightens to [Killing + min(N, grace), that + 1 s]: the 1 s is Killing's truncation. Without a
``Killing`` event the deletion request stands in for it (the kubelet cannot start earlier).

SIGKILL: the runtime kills at the end of the remaining grace, floored at 2 s after preStop
(reference §3.3 step 5, the docs' "one-time 2 s extension"), so a container whose preStop
used the whole grace gets SIGKILL up to 2 s after the grace period, not at it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from lifecycle_dash.lifecycle.derivation import PRECISION, Seconds, TimePoint
from lifecycle_dash.lifecycle.endpoints import EndpointObservation
from lifecycle_dash.lifecycle.events import (
    HookKindFailed,
    KillCause,
    PodEvent,
    hook_failure,
    is_eviction,
    kill_cause,
    latest_event_versions,
)
from lifecycle_dash.lifecycle.snapshot import (
    ContainerRole,
    ContainerSpec,
    ContainerStatus,
    PodSnapshot,
    StateKind,
)
from lifecycle_dash.lifecycle.transitions import Transition, TransitionKind

__all__ = [
    "ContainerTermination",
    "TerminationAnalysis",
    "TerminationCause",
    "Verdict",
    "analyze_termination",
]

# Kubelet floor on the grace left after preStop (minimumGracePeriodInSeconds).
MINIMUM_GRACE_AFTER_PRESTOP = timedelta(seconds=2)
_TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})


class TerminationCause(StrEnum):
    API_DELETE = "api_delete"
    FORCE_DELETE = "force_delete"
    API_EVICTION = "api_eviction"
    SCHEDULER_PREEMPTION = "scheduler_preemption"
    TAINT_MANAGER = "taint_manager"
    POD_GC = "pod_gc"
    KUBELET_EVICTION = "kubelet_eviction"
    KUBELET_PREEMPTION = "kubelet_preemption"
    NODE_SHUTDOWN = "node_shutdown"
    NODE_LOST = "node_lost"
    DEADLINE_EXCEEDED = "deadline_exceeded"


class Verdict(StrEnum):
    CLEAN_EXIT = "clean_exit"
    SIGTERM_DEFAULT = "sigterm_default"
    SIGKILL_AFTER_GRACE = "sigkill_after_grace"
    OOM_KILLED = "oom_killed"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ContainerTermination:
    name: str
    role: ContainerRole
    pre_stop_kind: str  # "" = no preStop hook
    pre_stop_sleep_seconds: int | None
    pre_stop_failed: bool  # a FailedPreStopHook event names this container
    pre_stop_overran: bool | None  # None = cannot tell (hook of unknown duration)
    kill_started: TimePoint
    kill_events: int  # occurrences of "Stopping container" Killing for this container
    sigterm: TimePoint
    expected_sigkill: TimePoint
    exited: TimePoint
    exit_code: int | None
    exit_reason: str
    verdict: Verdict
    verdict_sentence: str
    grace_used: Seconds
    headroom: Seconds


@dataclass(frozen=True, slots=True)
class TerminationAnalysis:
    pod_uid: str
    namespace: str
    name: str
    owner_kind: str
    owner_name: str
    cause: TerminationCause
    cause_rule: str
    started: TimePoint  # deletion requested, or the kubelet/node-side start of the ending
    deletion_requested: TimePoint
    deletion_observed: TimePoint
    grace_period: Seconds
    grace_shortened: bool
    force_delete: bool
    endpoint_terminating: TimePoint
    endpoint_removed: TimePoint
    endpoint_withdrawn: TimePoint
    traffic_race: bool | None
    traffic_race_rule: str
    containers: tuple[ContainerTermination, ...]
    deleted: TimePoint
    notes: tuple[str, ...]

    def container(self, name: str) -> ContainerTermination | None:
        for item in self.containers:
            if item.name == name:
                return item
        return None


def _unknown(reason: str) -> TimePoint:
    return TimePoint(None, f"unknown:{reason}")


def _exact(at: datetime | None, rule: str, missing: str) -> TimePoint:
    return TimePoint(at, rule) if at is not None else _unknown(missing)


def _first_transition(transitions: Sequence[Transition], kind: TransitionKind) -> Transition | None:
    found = [t for t in transitions if t.kind is kind]
    return min(found, key=lambda t: t.observed_at) if found else None


@dataclass(frozen=True, slots=True)
class _Grace:
    seconds: int | None
    rule: str
    shortened: bool
    force: bool


def _grace(pod: PodSnapshot, transitions: Sequence[Transition]) -> _Grace:
    """The grace the kubelet worked with, telling a user's force delete from the kubelet's
    own final ``DELETE grace=0`` (reference §3.3 step 9), which also lands as a shortening."""
    shortenings = sorted(
        (t for t in transitions if t.kind is TransitionKind.GRACE_SHORTENED),
        key=lambda t: t.observed_at,
    )
    terminal_phase = [
        t
        for t in transitions
        if t.kind is TransitionKind.PHASE and isinstance(t.new, str) and t.new in _TERMINAL_PHASES
    ]
    terminal_seen = min((t.observed_at for t in terminal_phase), default=None)
    history: list[int] = []
    kubelet_final = False
    if shortenings and isinstance(shortenings[0].old, int):
        history.append(shortenings[0].old)
    for t in shortenings:
        if not isinstance(t.new, int):
            continue
        is_final = t.new == 0 and (
            (terminal_seen is not None and terminal_seen <= t.observed_at)
            or (terminal_seen is None and pod.phase in _TERMINAL_PHASES)
        )
        if is_final:
            kubelet_final = True
            continue
        history.append(t.new)
    if not history and pod.deletion_grace_period_seconds is not None:
        history.append(pod.deletion_grace_period_seconds)
    if not history:
        return _Grace(None, "unknown:no deletionGracePeriodSeconds", False, False)
    effective = history[-1]
    shortened = len(history) > 1
    if effective == 0 and pod.phase in _TERMINAL_PHASES and not shortenings:
        # First seen after the kubelet's final delete: the grace it worked with is gone.
        spec = pod.termination_grace_period_seconds
        if spec is not None:
            return _Grace(
                spec,
                "assumed:spec.terminationGracePeriodSeconds (deletionGracePeriodSeconds was "
                "already 0 from the kubelet's final delete; a DELETE may have set another)",
                False,
                False,
            )
        return _Grace(None, "unknown:deletionGracePeriodSeconds already 0", False, False)
    rule = "api:metadata.deletionGracePeriodSeconds"
    if shortened:
        rule += f" (shortened {' -> '.join(str(g) for g in history)})"
    if kubelet_final:
        rule += " (before the kubelet's final delete set it to 0)"
    return _Grace(effective, rule, shortened, effective == 0)


def _cause(pod: PodSnapshot, events: Sequence[PodEvent]) -> tuple[TerminationCause, str] | None:
    disruption = pod.condition("DisruptionTarget")
    dr = disruption.reason if disruption is not None and disruption.status == "True" else ""
    reasons = {e.reason for e in events}
    if pod.reason == "Evicted":
        return TerminationCause.KUBELET_EVICTION, "api:status.reason=Evicted"
    if pod.reason in ("Terminated", "Shutdown"):
        return TerminationCause.NODE_SHUTDOWN, f"api:status.reason={pod.reason}"
    if pod.reason == "Preempting" or "Preempting" in reasons:
        rule = "api:status.reason=Preempting" if pod.reason == "Preempting" else "event:Preempting"
        return TerminationCause.KUBELET_PREEMPTION, rule
    if pod.reason == "DeadlineExceeded":
        return TerminationCause.DEADLINE_EXCEEDED, "api:status.reason=DeadlineExceeded"
    if dr == "PreemptionByScheduler" or "Preempted" in reasons:
        rule = (
            "api:DisruptionTarget=PreemptionByScheduler"
            if dr == "PreemptionByScheduler"
            else "event:Preempted"
        )
        return TerminationCause.SCHEDULER_PREEMPTION, rule
    if dr == "EvictionByEvictionAPI":
        return TerminationCause.API_EVICTION, "api:DisruptionTarget=EvictionByEvictionAPI"
    if dr == "DeletionByTaintManager":
        return TerminationCause.TAINT_MANAGER, "api:DisruptionTarget=DeletionByTaintManager"
    if "Evicted" in reasons:
        return TerminationCause.KUBELET_EVICTION, "event:Evicted"
    if any(is_eviction(e) for e in events):
        return TerminationCause.TAINT_MANAGER, "event:TaintManagerEviction"
    if dr == "DeletionByPodGC":
        return TerminationCause.POD_GC, "api:DisruptionTarget=DeletionByPodGC"
    if dr == "TerminationByKubelet":
        return TerminationCause.KUBELET_EVICTION, "api:DisruptionTarget=TerminationByKubelet"
    if pod.deletion_timestamp is not None:
        return TerminationCause.API_DELETE, "api:metadata.deletionTimestamp"
    if pod.reason == "NodeLost" or pod.phase == "Unknown" or "NodeNotReady" in reasons:
        ready = pod.condition("Ready")
        if pod.phase not in _TERMINAL_PHASES and (ready is None or ready.status != "True"):
            rule = "event:NodeNotReady" if "NodeNotReady" in reasons else "api:status"
            return TerminationCause.NODE_LOST, rule
    return None


_KUBELET_CAUSES = frozenset(
    {
        TerminationCause.KUBELET_EVICTION,
        TerminationCause.KUBELET_PREEMPTION,
        TerminationCause.NODE_SHUTDOWN,
        TerminationCause.DEADLINE_EXCEEDED,
    }
)


def _kubelet_start(
    pod: PodSnapshot, events: Sequence[PodEvent], cause: TerminationCause
) -> TimePoint:
    reason = {
        TerminationCause.KUBELET_EVICTION: "Evicted",
        TerminationCause.KUBELET_PREEMPTION: "Preempting",
        TerminationCause.DEADLINE_EXCEEDED: "DeadlineExceeded",
        TerminationCause.NODE_LOST: "NodeNotReady",
    }.get(cause)
    for event in events:
        if event.reason == reason and event.first_occurred_at is not None:
            return TimePoint(event.first_occurred_at, f"event:{reason} time")
    disruption = pod.condition("DisruptionTarget")
    if disruption is not None and disruption.last_transition_time is not None:
        return TimePoint(disruption.last_transition_time, "api:DisruptionTarget.lastTransitionTime")
    return _unknown("no event or condition dates the start")


def _stop_events(events: Sequence[PodEvent], container: str) -> list[PodEvent]:
    return [
        e for e in events if e.container_name == container and kill_cause(e) is KillCause.STOP_POD
    ]


def _involved_in_ending(status: ContainerStatus, reference: datetime | None) -> bool:
    """Plain init containers that finished before the ending took no part in it."""
    if status.role is not ContainerRole.INIT:
        return True
    terminated = status.state.terminated
    if terminated is None or reference is None:
        return status.state.kind is not StateKind.TERMINATED
    return terminated.finished_at is None or terminated.finished_at >= reference - PRECISION


def _container_termination(
    pod: PodSnapshot,
    status: ContainerStatus,
    spec: ContainerSpec | None,
    *,
    events: Sequence[PodEvent],
    cause: TerminationCause,
    reference: TimePoint,
    grace: _Grace,
    main_exit: datetime | None,
    deleted: bool,
    now: datetime,
) -> ContainerTermination:
    pre_stop = spec.pre_stop if spec is not None else None
    sleep = pre_stop.sleep_seconds if pre_stop is not None else None
    failed = any(
        e.container_name == status.name and hook_failure(e) is HookKindFailed.PRE_STOP
        for e in events
    )
    grace_s = grace.seconds if cause not in _KUBELET_CAUSES else None
    grace_td = timedelta(seconds=grace_s) if grace_s is not None else None

    # Kill started: Killing "Stopping container" (reference §3.7). The same message is also
    # recorded when the kubelet restarts containers for a lost sandbox, so occurrences from
    # before this ending are not its kill.
    floor = reference.at - PRECISION if reference.at is not None else None
    stops = [
        e
        for e in _stop_events(events, status.name)
        if floor is None or (e.occurred_at is not None and e.occurred_at >= floor)
    ]
    kill_events = 0
    kill_starts: list[datetime] = []
    for e in stops:
        if e.first_occurred_at is None:
            continue
        if floor is not None and e.first_occurred_at < floor and e.occurred_at is not None:
            # Aggregated with earlier kills: only the latest is known to be this ending's.
            kill_events += 1
            kill_starts.append(e.occurred_at)
        else:
            kill_events += e.total_count
            kill_starts.append(e.first_occurred_at)
    first_kill = min(kill_starts, default=None)
    last_kill = max((e.occurred_at for e in stops if e.occurred_at), default=None)
    if first_kill is not None:
        kill_started = TimePoint(
            first_kill,
            "event:Killing.firstTimestamp"
            + (" (repeated: the kubelet restarted the kill)" if kill_events > 1 else ""),
        )
        basis, basis_rule = first_kill, "killing"
    elif status.role is ContainerRole.SIDECAR and main_exit is not None:
        kill_started = _unknown("no Killing event for this container")
        basis, basis_rule = main_exit, "last-main-container-exit"
    elif reference.at is not None:
        kill_started = _unknown("no Killing event for this container")
        basis, basis_rule = reference.at, "deletion-request"
    else:
        kill_started = _unknown("no Killing event and no start time")
        basis, basis_rule = None, ""
    upper_basis = last_kill or basis

    # preStop and SIGTERM.
    overran: bool | None = None
    if basis is None or upper_basis is None:
        sigterm = _unknown("no Killing event and no deletion request to bound it")
        hook_time: timedelta | None = None
    elif pre_stop is None:
        hook_time = timedelta(0)
        sigterm = TimePoint(
            basis,
            f"estimate:{basis_rule} (no preStop: the stop signal follows at once)",
            estimate=True,
            earliest=basis,
            latest=upper_basis + PRECISION,
        )
        overran = False
    elif sleep is not None and not failed:
        slept = (
            timedelta(seconds=sleep)
            if grace_td is None
            else min(timedelta(seconds=sleep), grace_td)
        )
        hook_time = slept
        sigterm = TimePoint(
            basis + slept,
            f"estimate:{basis_rule}+prestop-sleep ({sleep}s"
            + (f", capped at grace {grace_s}s" if grace_s is not None and sleep > grace_s else "")
            + ")",
            estimate=True,
            earliest=basis + slept,
            latest=upper_basis + slept + PRECISION,
        )
        if grace_s is not None:
            overran = sleep > grace_s - MINIMUM_GRACE_AFTER_PRESTOP.total_seconds()
    else:
        hook_time = None
        why = "preStop failed at an unknown time" if failed else "preStop duration unknown"
        latest = upper_basis + grace_td + PRECISION if grace_td is not None else None
        sigterm = TimePoint(
            None,
            f"estimate:[{basis_rule}, {basis_rule}+min(preStop, grace)] ({why})",
            estimate=True,
            earliest=basis,
            latest=latest,
        )

    # Expected SIGKILL: end of grace, floored at 2 s after preStop (reference §3.3 step 5).
    if basis is None or upper_basis is None or grace_td is None:
        expected_sigkill = _unknown(
            "the grace period of a kubelet-initiated kill is not in the API"
            if cause in _KUBELET_CAUSES
            else "no grace period or start time"
        )
    elif hook_time is not None:
        after_hook = min(hook_time, grace_td) + MINIMUM_GRACE_AFTER_PRESTOP
        kill_after = max(grace_td, after_hook)
        extended = kill_after > grace_td
        expected_sigkill = TimePoint(
            basis + kill_after,
            f"estimate:{basis_rule}+grace"
            + (" +2s-minimum after preStop (ref §3.3 step 5)" if extended else ""),
            estimate=True,
            earliest=basis + kill_after,
            latest=upper_basis + kill_after + PRECISION,
        )
    else:
        expected_sigkill = TimePoint(
            None,
            f"estimate:[{basis_rule}+grace, {basis_rule}+grace+2s] (preStop duration unknown)",
            estimate=True,
            earliest=basis + grace_td,
            latest=upper_basis + grace_td + MINIMUM_GRACE_AFTER_PRESTOP + PRECISION,
        )

    terminated = status.state.terminated
    exited = _exact(
        terminated.finished_at if terminated is not None else None,
        "api:state.terminated.finishedAt",
        "no final container status",
    )
    exit_code = terminated.exit_code if terminated is not None else None
    exit_reason = terminated.reason if terminated is not None else ""

    grace_used = Seconds(None, "unknown:no exit time or no start")
    headroom = Seconds(None, "unknown:no exit time or grace period")
    if exited.at is not None and reference.at is not None:
        used = (exited.at - reference.at).total_seconds()
        grace_used = Seconds(used, f"api:finishedAt - {reference.rule.removeprefix('api:')}")
        if grace_s is not None:
            headroom = Seconds(grace_s - used, "grace period - grace used (±1 s)")

    verdict, sentence = _verdict(
        status,
        exited=exited,
        exit_code=exit_code,
        exit_reason=exit_reason,
        cause=cause,
        grace=grace,
        grace_s=grace_s,
        reference=reference,
        sigterm=sigterm,
        overran=overran,
        deleted=deleted,
        expected_sigkill=expected_sigkill,
        now=now,
    )
    return ContainerTermination(
        name=status.name,
        role=status.role,
        pre_stop_kind=str(pre_stop.kind) if pre_stop is not None else "",
        pre_stop_sleep_seconds=sleep,
        pre_stop_failed=failed,
        pre_stop_overran=overran,
        kill_started=kill_started,
        kill_events=kill_events,
        sigterm=sigterm,
        expected_sigkill=expected_sigkill,
        exited=exited,
        exit_code=exit_code,
        exit_reason=exit_reason,
        verdict=verdict,
        verdict_sentence=sentence,
        grace_used=grace_used,
        headroom=headroom,
    )


def _verdict(
    status: ContainerStatus,
    *,
    exited: TimePoint,
    exit_code: int | None,
    exit_reason: str,
    cause: TerminationCause,
    grace: _Grace,
    grace_s: int | None,
    reference: TimePoint,
    sigterm: TimePoint,
    overran: bool | None,
    deleted: bool,
    expected_sigkill: TimePoint,
    now: datetime,
) -> tuple[Verdict, str]:
    name = status.name
    if exit_code is None or exited.at is None:
        if grace.force:
            return Verdict.UNKNOWN, (
                f"{name}: force delete; the object was gone before the kubelet could report "
                "how the container ended, so its exit is not observable."
            )
        if cause is TerminationCause.NODE_LOST:
            return Verdict.UNKNOWN, (
                f"{name}: the node stopped reporting, so how the container ended is unknown."
            )
        if not deleted and expected_sigkill.latest is not None and now < expected_sigkill.latest:
            return Verdict.UNKNOWN, f"{name}: still terminating at {now:%H:%M:%S}."
        return Verdict.UNKNOWN, (
            f"{name}: no final status was reported for the container, so its exit is unknown."
        )
    if reference.at is not None and exited.at < reference.at - PRECISION:
        return Verdict.UNKNOWN, (
            f"{name}: exited (code {exit_code}) before the termination began, so its exit says "
            "nothing about how it handles shutdown."
        )
    used = (exited.at - reference.at).total_seconds() if reference.at is not None else None
    after = f" {used:.0f}s after the deletion request" if used is not None else ""
    if exit_reason == "ContainerStatusUnknown":
        return Verdict.UNKNOWN, (
            f"{name}: the kubelet could not find the container and wrote a synthetic exit "
            "137; this is not evidence of a SIGKILL."
        )
    if exit_reason == "OOMKilled":
        return Verdict.OOM_KILLED, (
            f"{name}: killed by the kernel for exceeding its memory limit while shutting "
            f"down{after}."
        )
    if exit_code == 0:
        early = sigterm.earliest is not None and exited.at < sigterm.earliest - PRECISION
        if early:
            return Verdict.CLEAN_EXIT, (
                f"{name}: exited 0{after}, before SIGTERM could have been sent (during preStop)."
            )
        return Verdict.CLEAN_EXIT, f"{name}: handled SIGTERM and exited 0{after}."
    if exit_code == 143:
        return Verdict.SIGTERM_DEFAULT, (
            f"{name}: died from SIGTERM's default action (exit 143){after}: it stops "
            "promptly but does not handle TERM itself."
        )
    if exit_code == 137:
        if cause in _KUBELET_CAUSES or grace_s is None:
            return Verdict.UNKNOWN, (
                f"{name}: exit 137 (likely SIGKILL){after}, but the grace period of this "
                "termination is not in the API, so a kill at its end cannot be confirmed."
            )
        if used is not None and used >= grace_s - PRECISION.total_seconds():
            extension = (
                " The preStop hook used up the grace, so SIGTERM came only about 2 s before "
                "SIGKILL."
                if overran
                else ""
            )
            late = ""
            if expected_sigkill.latest is not None and exited.at > (
                expected_sigkill.latest + PRECISION
            ):
                lag = (exited.at - expected_sigkill.latest).total_seconds()
                late = (
                    f" It died about {lag:.0f}s after the expected SIGKILL: the kubelet or "
                    "runtime was slow, or a kubelet restart started the grace period over."
                )
            return Verdict.SIGKILL_AFTER_GRACE, (
                f"{name}: still running when the {grace_s}s grace period ran out and was "
                f"killed with SIGKILL (exit 137, {used:.0f}s after the deletion request; "
                f"inferred, there is no event for SIGKILL).{extension}{late}"
            )
        return Verdict.UNKNOWN, (
            f"{name}: exit 137{after}, before the {grace_s}s grace period ended: not the "
            "grace-period SIGKILL (the process may have exited 137 itself, or an OOM kill "
            "was not reported as such)."
        )
    if exit_code > 128:
        return Verdict.UNKNOWN, (
            f"{name}: exit {exit_code} (signal {exit_code - 128}){after}: a custom stop "
            "signal (STOPSIGNAL) or another signal; not decidable from the API."
        )
    return Verdict.UNKNOWN, (
        f"{name}: exited with code {exit_code}{after}; the application chose that code, so "
        "whether it handled SIGTERM is not decidable."
    )


def _endpoint_timeline(
    pod_uid: str,
    observations: Sequence[EndpointObservation],
    since: datetime | None,
) -> tuple[TimePoint, TimePoint, TimePoint, bool]:
    """(terminating, removed, withdrawn, already withdrawn before ``since``)."""
    mine = sorted((o for o in observations if o.pod_uid == pod_uid), key=lambda o: o.observed_at)
    if not mine:
        missing = _unknown("no EndpointSlice observation for this pod")
        return missing, missing, missing, False
    rule = "observed:endpointslice receive time"
    # Pod and EndpointSlice streams are not ordered against each other: a terminating=true
    # endpoint can arrive before the pod update that caused it, and still belongs to the end.
    before = [o for o in mine if since is not None and o.observed_at < since and not o.terminating]
    after = [o for o in mine if o not in before]
    # The latest state per service before the ending decides whether it still had traffic.
    state_before: dict[str, EndpointObservation] = {}
    for o in before:
        state_before[o.service_name] = o
    serving_services = {s for s, o in state_before.items() if not o.withdrawn}
    already = bool(state_before) and not serving_services
    terminating = next((o.observed_at for o in after if o.terminating), None)
    removed = next((o.observed_at for o in after if o.removed), None)
    # Traffic can arrive through any Service, so withdrawal is when the last one let go.
    per_service: dict[str, datetime] = {}
    for o in after:
        if o.withdrawn and o.service_name not in per_service:
            per_service[o.service_name] = o.observed_at
    services = serving_services or {o.service_name for o in after}
    withdrawn_at = max(per_service[s] for s in services) if services <= set(per_service) else None
    return (
        _exact(terminating, rule, "no observation with terminating=true"),
        _exact(removed, rule, "endpoint removal not observed"),
        _exact(withdrawn_at, rule, "withdrawal from every Service not observed"),
        already,
    )


def analyze_termination(
    *,
    pod: PodSnapshot,
    transitions: Sequence[Transition] = (),
    events: Sequence[PodEvent] = (),
    endpoints: Sequence[EndpointObservation] = (),
    now: datetime,
) -> TerminationAnalysis | None:
    """The termination sequence of ``pod``, or None when nothing shows it ending.

    Transitions read: DELETION_REQUESTED and DELETED (receive times), GRACE_SHORTENED (grace
    history) and, optionally, PHASE (to tell the kubelet's final grace-0 delete from a
    force delete; without it the final snapshot's phase decides). Others are ignored.

    ``events`` may hold several versions of one Event in any order (the newest wins);
    events and endpoint observations about other pods are ignored.
    """
    mine = latest_event_versions(
        e for e in events if not e.involved_uid or e.involved_uid == pod.uid
    )
    found = _cause(pod, mine)
    if found is None:
        return None
    cause, cause_rule = found
    notes: list[str] = [
        "API times have 1 s precision and come from different clocks; comparisons allow 1 s."
    ]

    deletion_t = _first_transition(transitions, TransitionKind.DELETION_REQUESTED)
    deleted_t = _first_transition(transitions, TransitionKind.DELETED)
    deletion_requested = _exact(
        pod.deletion_requested_at,
        "api:deletionTimestamp-deletionGracePeriodSeconds"
        if pod.deletion_grace_period_seconds is not None
        else "api:deletionTimestamp (no deletionGracePeriodSeconds; the request was earlier)",
        "no deletionTimestamp",
    )
    deletion_observed = _exact(
        deletion_t.observed_at if deletion_t is not None else None,
        "observed:receive time of the first update with deletionTimestamp",
        "not observed",
    )
    deleted = _exact(
        deleted_t.observed_at if deleted_t is not None else None,
        "observed:receive time of DELETED",
        "not deleted yet, or DELETED not observed",
    )
    grace = _grace(pod, transitions)
    if cause in _KUBELET_CAUSES:
        started = _kubelet_start(pod, mine, cause)
        grace_period = Seconds(
            None,
            "unknown:kubelet-initiated kills use their own grace, which the API does not record",
        )
        if pod.deletion_timestamp is not None:
            notes.append("The pod was deleted after the kubelet had already ended it.")
    elif cause is TerminationCause.NODE_LOST and pod.deletion_timestamp is None:
        started = _kubelet_start(pod, mine, cause)
        grace_period = Seconds(None, "unknown:no deletion yet")
    else:
        started = deletion_requested
        grace_period = Seconds(
            float(grace.seconds) if grace.seconds is not None else None, grace.rule
        )
        if grace.force:
            cause, cause_rule = TerminationCause.FORCE_DELETE, grace.rule + "=0"
            notes.append(
                "Force delete: the API does not wait for the kubelet, so no exit status is "
                "ever written (reference §3.4)."
            )
    if any(e.reason == "NodeNotReady" for e in mine):
        notes.append(
            "The node was reported not ready (NodeNotReady); the kubelet may never have "
            "confirmed the kill."
        )
    if grace.force and not pod.node_name:
        notes.append("Unscheduled pod: the API server deletes it at once with grace 0.")
    if deletion_requested.at is not None and deletion_observed.at is not None:
        lag = (deletion_observed.at - deletion_requested.at).total_seconds()
        if lag < -1 or lag > 30:
            notes.append(
                f"Deletion observed {lag:.0f}s after it was requested: clocks disagree or the "
                "watch was behind."
            )

    since = deletion_observed.at or started.at
    terminating, removed, withdrawn, already = _endpoint_timeline(pod.uid, endpoints, since)

    statuses = [s for s in pod.all_container_statuses if _involved_in_ending(s, started.at)]
    main_exits = [
        s.state.terminated.finished_at
        for s in pod.container_statuses
        if s.state.terminated is not None and s.state.terminated.finished_at is not None
    ]
    main_exit = max(main_exits) if main_exits else None
    containers = tuple(
        _container_termination(
            pod,
            status,
            pod.container_spec(status.name),
            events=mine,
            cause=cause,
            reference=started,
            grace=grace,
            main_exit=main_exit,
            deleted=deleted.at is not None,
            now=now,
        )
        for status in statuses
    )

    traffic_race: bool | None
    sigterm_earliest = min(
        (
            c.sigterm.earliest
            for c in containers
            if c.role is ContainerRole.REGULAR and c.sigterm.earliest is not None
        ),
        default=None,
    )
    if already:
        traffic_race, race_rule = False, "endpoint was already withdrawn before the ending"
    elif withdrawn.at is None or sigterm_earliest is None:
        traffic_race = None
        race_rule = "unknown:" + (
            "endpoint withdrawal not observed" if withdrawn.at is None else "no SIGTERM bound"
        )
    else:
        traffic_race = withdrawn.at > sigterm_earliest
        race_rule = (
            "observed withdrawal (our receive time) vs SIGTERM earliest bound "
            f"({'later' if traffic_race else 'not later'} by "
            f"{abs((withdrawn.at - sigterm_earliest).total_seconds()):.1f}s); receive time "
            "is an upper bound on the real withdrawal and data-plane programming is not "
            "observable"
        )
    return TerminationAnalysis(
        pod_uid=pod.uid,
        namespace=pod.namespace,
        name=pod.name,
        owner_kind=pod.owner_kind,
        owner_name=pod.owner_name,
        cause=cause,
        cause_rule=cause_rule,
        started=started,
        deletion_requested=deletion_requested,
        deletion_observed=deletion_observed,
        grace_period=grace_period,
        grace_shortened=grace.shortened,
        force_delete=cause is TerminationCause.FORCE_DELETE,
        endpoint_terminating=terminating,
        endpoint_removed=removed,
        endpoint_withdrawn=withdrawn,
        traffic_race=traffic_race,
        traffic_race_rule=race_rule,
        containers=containers,
        deleted=deleted,
        notes=tuple(notes),
    )
