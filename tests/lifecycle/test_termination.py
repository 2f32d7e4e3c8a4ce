from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle_dash.lifecycle.endpoints import EndpointObservation
from lifecycle_dash.lifecycle.events import event_from_raw, latest_event_versions
from lifecycle_dash.lifecycle.snapshot import ContainerRole, snapshot_from_pod
from lifecycle_dash.lifecycle.termination import (
    TerminationCause,
    Verdict,
    analyze_termination,
)
from lifecycle_dash.lifecycle.transitions import Transition, TransitionKind
from tests.lifecycle import podfactory as f
from tests.lifecycle.test_events import kubelet_event

UID = "3f1e6a52-8c1b-4d7e-9a0f-2b4c6d8e0f11"  # podfactory's default pod uid
REQUESTED = 100  # seconds after podfactory.T0
GRACE = 30
NOW = f.at(1000)


def killing(container: str, at_s: float, *, count: int = 1, first_s: float | None = None):
    return event_from_raw(
        kubelet_event(
            "Killing",
            f"Stopping container {container}",
            at=f.at(at_s),
            container=container,
            count=count,
            first=f.at(first_s) if first_s is not None else None,
            pod_uid=UID,
            uid=f"kill-{container}",
        )
    )


def pod_event(
    reason: str, message: str, at_s: float, *, container: str | None = None, type_="Warning"
):
    return event_from_raw(
        kubelet_event(reason, message, at=f.at(at_s), container=container, pod_uid=UID, type_=type_)
    )


def transition(kind: TransitionKind, old: Any, new: Any, observed_s: float) -> Transition:
    return Transition(
        pod_uid=UID,
        kind=kind,
        subject="",
        old=old,
        new=new,
        observed_at=f.at(observed_s),
        key=f"{UID}|{kind}||{observed_s}",
    )


def endpoint(observed_s: float, *, ready=True, terminating=False, removed=False, service="web"):
    return EndpointObservation(
        pod_uid=UID,
        namespace="shop",
        slice_name=f"{service}-8xk2p",
        service_name=service,
        observed_at=f.at(observed_s),
        ready=None if removed else ready,
        serving=None if removed else ready,
        terminating=None if removed else terminating,
        removed=removed,
    )


TERMINAL_CONDITIONS = [
    f.condition("PodReadyToStartContainers", "False", at_=REQUESTED + 5),
    f.condition("Initialized", "True", at_=1),
    f.condition("Ready", "False", reason="PodFailed", at_=REQUESTED),
    f.condition("ContainersReady", "False", reason="PodFailed", at_=REQUESTED),
    f.condition("PodScheduled", "True", at_=0),
]


def deleted_pod(
    *,
    exit_code: int | None,
    finished_s: float = REQUESTED + 3,
    reason: str | None = None,
    pre_stop: dict[str, Any] | None = None,
    grace: int = GRACE,
    deletion_grace: int | None = None,
    phase: str | None = None,
    **kw: Any,
):
    """The last state of a deleted pod: terminal phase and exit, or still running."""
    if exit_code is None:
        statuses = [f.running("app", started_at=5)]
        phase = phase or "Running"
        conditions = f.standard_conditions()
    else:
        statuses = [
            f.terminated("app", exit_code, reason=reason, started_at=5, finished_at=finished_s)
        ]
        phase = phase or ("Succeeded" if exit_code == 0 else "Failed")
        conditions = TERMINAL_CONDITIONS
    kw.setdefault("container_statuses", statuses)
    kw.setdefault("conditions", conditions)
    deletion_grace = grace if deletion_grace is None else deletion_grace
    # A later DELETE keeps deletionTimestamp - deletionGracePeriodSeconds = request time (§3.1).
    kw.setdefault("deletion_timestamp", REQUESTED + deletion_grace)
    return snapshot_from_pod(
        f.terminating_pod(
            requested=REQUESTED,
            grace=grace,
            deletion_grace=deletion_grace,
            containers=[f.container("app", pre_stop=pre_stop)],
            phase=phase,
            **kw,
        )
    )


def deleted_transitions(grace: int = GRACE, *, deleted_s: float = REQUESTED + 5):
    return [
        transition(
            TransitionKind.DELETION_REQUESTED, None, f.ts(REQUESTED + grace), REQUESTED + 0.3
        ),
        transition(TransitionKind.PHASE, "Running", "Failed", deleted_s - 1),
        transition(TransitionKind.GRACE_SHORTENED, grace, 0, deleted_s - 0.5),
        transition(TransitionKind.DELETED, False, True, deleted_s),
    ]


def analyze(pod, *, events=(), endpoints=(), transitions=None, now=NOW):
    result = analyze_termination(
        pod=pod,
        transitions=deleted_transitions() if transitions is None else transitions,
        events=events,
        endpoints=endpoints,
        now=now,
    )
    assert result is not None
    return result


# --- the deletion itself -------------------------------------------------------------------


def test_deletion_request_is_exact_and_says_where_it_came_from():
    result = analyze(deleted_pod(exit_code=0), events=[killing("app", REQUESTED)])

    assert result.cause is TerminationCause.API_DELETE
    assert result.deletion_requested.at == f.at(REQUESTED)
    assert result.deletion_requested.rule == "api:deletionTimestamp-deletionGracePeriodSeconds"
    assert not result.deletion_requested.estimate
    assert result.deletion_observed.at == f.at(REQUESTED + 0.3)
    assert result.deletion_observed.rule.startswith("observed:")
    assert result.deleted.at == f.at(REQUESTED + 5)
    assert result.grace_period.value == GRACE


def test_the_kubelets_final_grace_zero_delete_is_not_a_force_delete():
    result = analyze(deleted_pod(exit_code=0, deletion_grace=0), events=[killing("app", REQUESTED)])

    assert result.cause is TerminationCause.API_DELETE
    assert not result.force_delete
    assert result.grace_period.value == GRACE
    assert "kubelet's final delete" in result.grace_period.rule


def test_a_pod_first_seen_after_the_final_delete_falls_back_to_the_spec_grace_and_says_so():
    result = analyze(deleted_pod(exit_code=0, deletion_grace=0), transitions=[])

    assert result.grace_period.value == GRACE
    assert result.grace_period.rule.startswith("assumed:spec.terminationGracePeriodSeconds")


def test_a_shortened_grace_is_used_and_reported():
    transitions = [
        transition(TransitionKind.DELETION_REQUESTED, None, f.ts(REQUESTED + 30), REQUESTED),
        transition(TransitionKind.GRACE_SHORTENED, 30, 10, REQUESTED + 2),
    ]
    pod = deleted_pod(exit_code=137, finished_s=REQUESTED + 10, deletion_grace=10)

    result = analyze(pod, transitions=transitions, events=[killing("app", REQUESTED)])

    assert result.grace_shortened
    assert result.grace_period.value == 10
    assert "30 -> 10" in result.grace_period.rule
    assert result.deletion_requested.at == f.at(REQUESTED)
    assert result.containers[0].verdict is Verdict.SIGKILL_AFTER_GRACE


def test_force_delete_leaves_every_exit_unknown():
    pod = deleted_pod(exit_code=None, deletion_grace=0)
    transitions = [
        transition(TransitionKind.DELETION_REQUESTED, None, f.ts(REQUESTED), REQUESTED),
        transition(TransitionKind.DELETED, False, True, REQUESTED + 0.2),
    ]

    result = analyze(pod, transitions=transitions)

    assert result.cause is TerminationCause.FORCE_DELETE
    assert result.force_delete
    [app] = result.containers
    assert app.verdict is Verdict.UNKNOWN
    assert "force delete" in app.verdict_sentence
    assert app.exited.at is None
    assert app.exited.rule.startswith("unknown:")


def test_a_running_pod_has_no_termination():
    pod = snapshot_from_pod(f.running_pod())

    assert analyze_termination(pod=pod, now=NOW) is None


# --- SIGTERM estimates ---------------------------------------------------------------------


def test_without_prestop_sigterm_is_bounded_by_the_killing_event():
    result = analyze(deleted_pod(exit_code=0), events=[killing("app", REQUESTED)])

    [app] = result.containers
    assert app.kill_started.at == f.at(REQUESTED)
    assert app.kill_started.rule == "event:Killing.firstTimestamp"
    assert app.sigterm.estimate
    assert (app.sigterm.earliest, app.sigterm.latest) == (f.at(REQUESTED), f.at(REQUESTED + 1))
    assert app.sigterm.rule.startswith("estimate:killing")


def test_a_sleep_prestop_moves_sigterm_by_its_seconds():
    pod = deleted_pod(exit_code=143, finished_s=REQUESTED + 6, pre_stop=f.sleep_hook(5))

    result = analyze(pod, events=[killing("app", REQUESTED)])

    [app] = result.containers
    assert app.pre_stop_kind == "sleep"
    assert app.pre_stop_sleep_seconds == 5
    assert app.sigterm.at == f.at(REQUESTED + 5)
    assert (app.sigterm.earliest, app.sigterm.latest) == (f.at(REQUESTED + 5), f.at(REQUESTED + 6))
    assert app.sigterm.rule == "estimate:killing+prestop-sleep (5s)"
    assert app.pre_stop_overran is False


def test_an_exec_prestop_of_unknown_length_gives_only_bounds():
    pod = deleted_pod(exit_code=0, finished_s=REQUESTED + 8, pre_stop=f.exec_hook())

    result = analyze(pod, events=[killing("app", REQUESTED)])

    [app] = result.containers
    assert app.sigterm.at is None
    assert app.sigterm.earliest == f.at(REQUESTED)
    assert app.sigterm.latest == f.at(REQUESTED + GRACE + 1)
    assert "preStop duration unknown" in app.sigterm.rule
    assert app.pre_stop_overran is None


def test_a_failed_sleep_prestop_no_longer_pins_sigterm():
    pod = deleted_pod(exit_code=0, finished_s=REQUESTED + 2, pre_stop=f.exec_hook("sleep", "5"))
    failed = pod_event("FailedPreStopHook", "PreStopHook failed", REQUESTED, container="app")

    result = analyze(pod, events=[killing("app", REQUESTED), failed])

    [app] = result.containers
    assert app.pre_stop_failed
    assert app.sigterm.at is None
    assert app.sigterm.earliest == f.at(REQUESTED)
    assert "preStop failed" in app.sigterm.rule


def test_without_a_killing_event_the_deletion_request_bounds_sigterm():
    result = analyze(deleted_pod(exit_code=0))

    [app] = result.containers
    assert app.kill_started.at is None
    assert app.kill_started.rule == "unknown:no Killing event for this container"
    assert app.sigterm.earliest == f.at(REQUESTED)
    assert "deletion-request" in app.sigterm.rule
    assert app.verdict is Verdict.CLEAN_EXIT


def test_aggregated_killing_events_bound_sigterm_from_first_to_last_attempt():
    pod = deleted_pod(exit_code=143, finished_s=REQUESTED + 25)
    repeated = killing("app", REQUESTED + 20, count=2, first_s=REQUESTED)

    result = analyze(pod, events=[repeated])

    [app] = result.containers
    assert app.kill_events == 2
    assert app.kill_started.at == f.at(REQUESTED)
    assert "repeated" in app.kill_started.rule
    assert app.sigterm.earliest == f.at(REQUESTED)
    assert app.sigterm.latest == f.at(REQUESTED + 21)


def test_events_arriving_out_of_order_use_the_newest_version():
    older = killing("app", REQUESTED, count=1)
    newer = killing("app", REQUESTED + 20, count=2, first_s=REQUESTED)

    assert latest_event_versions([newer, older]) == [newer]
    result = analyze(deleted_pod(exit_code=143, finished_s=REQUESTED + 25), events=[newer, older])
    assert result.containers[0].kill_events == 2


def test_events_about_other_pods_are_ignored():
    other = event_from_raw(
        kubelet_event(
            "Killing", "Stopping container app", at=f.at(REQUESTED + 9), pod_uid="other-pod"
        )
    )

    result = analyze(deleted_pod(exit_code=0), events=[other])

    assert result.containers[0].kill_started.at is None


# --- verdicts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exit_code", "reason", "finished", "verdict", "phrase"),
    [
        (0, None, REQUESTED + 2, Verdict.CLEAN_EXIT, "handled SIGTERM and exited 0 2s after"),
        (143, None, REQUESTED + 1, Verdict.SIGTERM_DEFAULT, "default action (exit 143)"),
        (137, None, REQUESTED + GRACE, Verdict.SIGKILL_AFTER_GRACE, "grace period ran out"),
        (137, None, REQUESTED + GRACE - 1, Verdict.SIGKILL_AFTER_GRACE, "29s after"),
        (137, None, REQUESTED + GRACE - 2, Verdict.UNKNOWN, "before the 30s grace period ended"),
        (137, "OOMKilled", REQUESTED + 4, Verdict.OOM_KILLED, "memory limit"),
        (137, "ContainerStatusUnknown", REQUESTED + GRACE, Verdict.UNKNOWN, "synthetic exit 137"),
        (1, None, REQUESTED + 3, Verdict.UNKNOWN, "exited with code 1"),
        (131, None, REQUESTED + 3, Verdict.UNKNOWN, "custom stop signal"),
        (0, None, REQUESTED - 50, Verdict.UNKNOWN, "before the termination began"),
    ],
)
def test_verdicts(exit_code, reason, finished, verdict, phrase):
    pod = deleted_pod(exit_code=exit_code, reason=reason, finished_s=finished)

    result = analyze(pod, events=[killing("app", REQUESTED)])

    [app] = result.containers
    assert app.verdict is verdict
    assert phrase in app.verdict_sentence
    assert app.exit_code == exit_code
    assert app.exited.at == f.at(finished)
    assert app.exited.rule == "api:state.terminated.finishedAt"


def test_grace_used_and_headroom_are_measured_from_the_deletion_request():
    result = analyze(
        deleted_pod(exit_code=143, finished_s=REQUESTED + 12), events=[killing("app", REQUESTED)]
    )

    [app] = result.containers
    assert app.grace_used.value == 12
    assert app.grace_used.rule.startswith("api:finishedAt - ")
    assert app.headroom.value == GRACE - 12


def test_sigkill_at_grace_plus_two_when_prestop_overran():
    pod = deleted_pod(exit_code=137, finished_s=REQUESTED + GRACE + 2, pre_stop=f.sleep_hook(40))

    result = analyze(pod, events=[killing("app", REQUESTED)])

    [app] = result.containers
    assert app.pre_stop_overran is True
    assert app.sigterm.at == f.at(REQUESTED + GRACE)
    assert "capped at grace 30s" in app.sigterm.rule
    assert app.expected_sigkill.at == f.at(REQUESTED + GRACE + 2)
    assert "+2s-minimum" in app.expected_sigkill.rule
    assert app.verdict is Verdict.SIGKILL_AFTER_GRACE
    assert "about 2 s before SIGKILL" in app.verdict_sentence
    assert app.headroom.value == -2


def test_a_prestop_ending_just_before_grace_still_gets_the_two_second_floor():
    pod = deleted_pod(exit_code=137, finished_s=REQUESTED + GRACE + 1, pre_stop=f.sleep_hook(29))

    result = analyze(pod, events=[killing("app", REQUESTED)])

    [app] = result.containers
    assert app.pre_stop_overran is True
    assert app.expected_sigkill.at == f.at(REQUESTED + 31)


def test_without_prestop_sigkill_is_expected_at_the_grace_period():
    result = analyze(
        deleted_pod(exit_code=137, finished_s=REQUESTED + GRACE), events=[killing("app", REQUESTED)]
    )

    [app] = result.containers
    assert app.expected_sigkill.at == f.at(REQUESTED + GRACE)
    assert app.expected_sigkill.rule == "estimate:killing+grace"


def test_a_pod_still_terminating_is_not_judged_yet():
    pod = deleted_pod(exit_code=None)
    transitions = [
        transition(TransitionKind.DELETION_REQUESTED, None, f.ts(REQUESTED + 30), REQUESTED)
    ]

    result = analyze(
        pod, transitions=transitions, events=[killing("app", REQUESTED)], now=f.at(REQUESTED + 10)
    )

    [app] = result.containers
    assert app.verdict is Verdict.UNKNOWN
    assert "still terminating" in app.verdict_sentence


def test_a_deleted_pod_without_final_status_has_an_unknown_exit():
    pod = deleted_pod(exit_code=None)

    result = analyze(pod, events=[killing("app", REQUESTED)])

    assert "no final status" in result.containers[0].verdict_sentence


def test_sidecars_without_a_killing_event_are_bounded_by_the_last_main_exit():
    pod = snapshot_from_pod(
        f.sidecar_pod(
            deletion_timestamp=REQUESTED + GRACE,
            deletion_grace=GRACE,
            phase="Failed",
            conditions=TERMINAL_CONDITIONS,
            container_statuses=[f.terminated("app", 143, started_at=5, finished_at=REQUESTED + 11)],
            init_container_statuses=[
                f.terminated("init-db", 0, started_at=1, finished_at=3),
                f.terminated("istio-proxy", 0, started_at=3, finished_at=REQUESTED + 13),
            ],
        )
    )

    result = analyze(pod, events=[killing("app", REQUESTED)])

    assert [c.name for c in result.containers] == ["istio-proxy", "app"]
    proxy = result.container("istio-proxy")
    assert proxy is not None
    assert proxy.role is ContainerRole.SIDECAR
    assert proxy.sigterm.earliest == f.at(REQUESTED + 11 + 5)
    assert "last-main-container-exit" in proxy.sigterm.rule
    assert proxy.verdict is Verdict.CLEAN_EXIT
    assert "before SIGTERM could have been sent" in proxy.verdict_sentence
    app = result.container("app")
    assert app is not None
    assert app.sigterm.at == f.at(REQUESTED + 10)


# --- endpoints and the traffic race ---------------------------------------------------------


def test_endpoint_withdrawal_after_sigterm_is_a_traffic_race():
    endpoints = [
        endpoint(10),
        endpoint(REQUESTED + 1.4, ready=False, terminating=True),
        endpoint(REQUESTED + 4, removed=True),
    ]

    result = analyze(
        deleted_pod(exit_code=0), events=[killing("app", REQUESTED)], endpoints=endpoints
    )

    assert result.endpoint_terminating.at == f.at(REQUESTED + 1.4)
    assert result.endpoint_terminating.rule == "observed:endpointslice receive time"
    assert result.endpoint_removed.at == f.at(REQUESTED + 4)
    assert result.endpoint_withdrawn.at == f.at(REQUESTED + 1.4)
    assert result.traffic_race is True
    assert "later by 1.4s" in result.traffic_race_rule


def test_a_prestop_sleep_longer_than_the_withdrawal_avoids_the_race():
    pod = deleted_pod(exit_code=0, finished_s=REQUESTED + 6, pre_stop=f.sleep_hook(5))
    endpoints = [endpoint(10), endpoint(REQUESTED + 1.4, ready=False, terminating=True)]

    result = analyze(pod, events=[killing("app", REQUESTED)], endpoints=endpoints)

    assert result.traffic_race is False


def test_withdrawal_counts_when_the_last_service_lets_go():
    endpoints = [
        endpoint(10, service="web"),
        endpoint(10, service="web-internal"),
        endpoint(REQUESTED + 0.2, ready=False, terminating=True, service="web"),
        endpoint(REQUESTED + 3, ready=False, terminating=True, service="web-internal"),
    ]
    pod = deleted_pod(exit_code=0, pre_stop=f.sleep_hook(2), finished_s=REQUESTED + 4)

    result = analyze(pod, events=[killing("app", REQUESTED)], endpoints=endpoints)

    assert result.endpoint_withdrawn.at == f.at(REQUESTED + 3)
    assert result.traffic_race is True


def test_an_endpoint_already_unready_before_the_deletion_is_no_race():
    endpoints = [
        endpoint(10),
        endpoint(50, ready=False),
        endpoint(REQUESTED + 2, ready=False, terminating=True),
    ]

    result = analyze(
        deleted_pod(exit_code=0), events=[killing("app", REQUESTED)], endpoints=endpoints
    )

    assert result.traffic_race is False
    assert "already withdrawn" in result.traffic_race_rule


def test_without_endpoint_observations_the_race_is_unknown():
    result = analyze(deleted_pod(exit_code=0), events=[killing("app", REQUESTED)])

    assert result.traffic_race is None
    assert result.endpoint_withdrawn.at is None
    assert result.endpoint_removed.rule == "unknown:no EndpointSlice observation for this pod"


# --- endings that are not API deletes --------------------------------------------------------


def test_kubelet_eviction_without_deletion_timestamp():
    pod = snapshot_from_pod(
        f.pod(
            phase="Failed",
            reason="Evicted",
            message="The node was low on resource: memory. Threshold quantity: 100Mi.",
            container_statuses=[
                f.terminated("app", 137, reason="ContainerStatusUnknown", finished_at=200)
            ],
            conditions=[
                f.condition("DisruptionTarget", "True", reason="TerminationByKubelet", at_=198),
                *TERMINAL_CONDITIONS,
            ],
        )
    )
    evicted = pod_event("Evicted", "The node was low on resource: memory.", 197)

    result = analyze_termination(pod=pod, events=[evicted, killing("app", 198)], now=NOW)

    assert result is not None
    assert result.cause is TerminationCause.KUBELET_EVICTION
    assert result.cause_rule == "api:status.reason=Evicted"
    assert result.deletion_requested.at is None
    assert result.started.at == f.at(197)
    assert result.started.rule == "event:Evicted time"
    assert result.grace_period.value is None
    assert result.grace_period.rule.startswith("unknown:")
    [app] = result.containers
    assert app.verdict is Verdict.UNKNOWN
    assert "synthetic" in app.verdict_sentence
    assert app.expected_sigkill.at is None


def test_an_eviction_sigkill_is_not_confirmed_without_a_grace_period():
    pod = snapshot_from_pod(
        f.pod(
            phase="Failed",
            reason="Evicted",
            container_statuses=[f.terminated("app", 137, finished_at=230)],
            conditions=[
                f.condition("DisruptionTarget", "True", reason="TerminationByKubelet", at_=198)
            ],
        )
    )

    result = analyze_termination(pod=pod, now=NOW)

    assert result is not None
    assert result.started.rule == "api:DisruptionTarget.lastTransitionTime"
    assert result.containers[0].verdict is Verdict.UNKNOWN
    assert "not in the API" in result.containers[0].verdict_sentence


@pytest.mark.parametrize(
    ("condition_reason", "extra_event", "cause"),
    [
        ("PreemptionByScheduler", None, TerminationCause.SCHEDULER_PREEMPTION),
        (
            None,
            ("Preempted", "Preempted by pod 1234 on node node-a-1"),
            TerminationCause.SCHEDULER_PREEMPTION,
        ),
        ("EvictionByEvictionAPI", None, TerminationCause.API_EVICTION),
        ("DeletionByTaintManager", None, TerminationCause.TAINT_MANAGER),
        (
            None,
            ("TaintManagerEviction", "Marking for deletion Pod shop/web"),
            TerminationCause.TAINT_MANAGER,
        ),
        ("DeletionByPodGC", None, TerminationCause.POD_GC),
    ],
)
def test_disruptions_that_end_in_a_graceful_delete(condition_reason, extra_event, cause):
    conditions = list(TERMINAL_CONDITIONS)
    if condition_reason:
        conditions.append(
            f.condition("DisruptionTarget", "True", reason=condition_reason, at_=REQUESTED)
        )
    pod = deleted_pod(exit_code=143, conditions=conditions)
    events = [killing("app", REQUESTED)]
    if extra_event:
        events.append(pod_event(extra_event[0], extra_event[1], REQUESTED - 1, type_="Normal"))

    result = analyze(pod, events=events)

    assert result.cause is cause
    assert result.grace_period.value == GRACE
    assert result.containers[0].verdict is Verdict.SIGTERM_DEFAULT


def test_node_loss_before_any_deletion():
    pod = snapshot_from_pod(
        f.pod(
            conditions=[f.condition("Ready", "False", at_=300), f.condition("PodScheduled", "True")]
        )
    )
    not_ready = pod_event("NodeNotReady", "Node is not ready", 300)

    result = analyze_termination(pod=pod, events=[not_ready], now=NOW)

    assert result is not None
    assert result.cause is TerminationCause.NODE_LOST
    assert result.started.at == f.at(300)
    assert result.containers[0].verdict is Verdict.UNKNOWN
    assert "node stopped reporting" in result.containers[0].verdict_sentence


def test_a_node_not_ready_event_on_a_pod_that_recovered_is_no_ending():
    not_ready = pod_event("NodeNotReady", "Node is not ready", 300)

    assert analyze_termination(pod=snapshot_from_pod(f.pod()), events=[not_ready], now=NOW) is None


def test_deadline_exceeded():
    pod = snapshot_from_pod(
        f.pod(
            phase="Failed",
            reason="DeadlineExceeded",
            message="Pod was active on the node longer than the specified deadline",
            restart_policy="Never",
            owner=("Job", "nightly-report"),
            container_statuses=[f.terminated("app", 143, finished_at=601)],
            conditions=TERMINAL_CONDITIONS,
        )
    )
    deadline = pod_event(
        "DeadlineExceeded",
        "Pod was active on the node longer than the specified deadline",
        600,
        type_="Normal",
    )

    result = analyze_termination(pod=pod, events=[deadline, killing("app", 600)], now=NOW)

    assert result is not None
    assert result.cause is TerminationCause.DEADLINE_EXCEEDED
    assert result.started.at == f.at(600)
    assert result.containers[0].verdict is Verdict.SIGTERM_DEFAULT
    assert result.owner_kind == "Job"


def test_kubelet_preemption_and_node_shutdown():
    preempted = snapshot_from_pod(
        f.pod(phase="Failed", reason="Preempting", conditions=TERMINAL_CONDITIONS)
    )
    shutdown = snapshot_from_pod(
        f.pod(phase="Failed", reason="Terminated", conditions=TERMINAL_CONDITIONS)
    )

    first = analyze_termination(pod=preempted, now=NOW)
    second = analyze_termination(pod=shutdown, now=NOW)

    assert first is not None
    assert first.cause is TerminationCause.KUBELET_PREEMPTION
    assert second is not None
    assert second.cause is TerminationCause.NODE_SHUTDOWN


def test_every_time_point_states_its_rule():
    result = analyze(
        deleted_pod(exit_code=0, pre_stop=f.sleep_hook(5), finished_s=REQUESTED + 7),
        events=[killing("app", REQUESTED)],
        endpoints=[endpoint(10), endpoint(REQUESTED + 1, ready=False, terminating=True)],
    )

    points = [
        result.started,
        result.deletion_requested,
        result.deletion_observed,
        result.endpoint_terminating,
        result.endpoint_removed,
        result.endpoint_withdrawn,
        result.deleted,
    ]
    for c in result.containers:
        points += [c.kill_started, c.sigterm, c.expected_sigkill, c.exited]
    for point in points:
        assert point.rule.split(":", 1)[0] in {"api", "event", "observed", "estimate", "unknown"}
        assert point.known or point.estimate or point.rule.startswith("unknown:")
    assert result.notes
    assert "1 s" in result.notes[0]
    assert timedelta(seconds=GRACE) == timedelta(seconds=result.grace_period.value or 0)


# --- end to end: raw pod, Event and EndpointSlice JSON through core's diff ---------------------


def test_a_graceful_delete_that_ends_in_sigkill_from_raw_watch_data():
    from lifecycle_dash.lifecycle.diff import diff
    from lifecycle_dash.lifecycle.endpoints import diff_endpoint_slices
    from tests.lifecycle.test_endpoints import endpoint as slice_endpoint
    from tests.lifecycle.test_endpoints import endpoint_slice

    running = f.pod()
    deleting = f.terminating_pod(requested=REQUESTED, grace=GRACE)
    unready = f.terminating_pod(
        requested=REQUESTED, grace=GRACE, conditions=f.standard_conditions(ready=False)
    )
    terminal = f.terminating_pod(
        requested=REQUESTED,
        grace=GRACE,
        phase="Failed",
        conditions=TERMINAL_CONDITIONS,
        container_statuses=[f.terminated("app", 137, finished_at=REQUESTED + GRACE)],
    )
    # The kubelet's final DELETE grace=0: deletionTimestamp becomes the request time (§3.1).
    final = f.terminating_pod(
        requested=REQUESTED,
        grace=GRACE,
        deletion_timestamp=REQUESTED,
        deletion_grace=0,
        phase="Failed",
        conditions=TERMINAL_CONDITIONS,
        container_statuses=[f.terminated("app", 137, finished_at=REQUESTED + GRACE)],
    )
    transitions: list[Transition] = []
    before = None
    for observed_s, raw in (
        (50, running),
        (REQUESTED + 0.3, deleting),
        (REQUESTED + 1.2, unready),
        (REQUESTED + GRACE + 0.4, terminal),
        (REQUESTED + GRACE + 0.6, final),
    ):
        after = snapshot_from_pod(raw)
        transitions += diff(before, after, observed_at=f.at(observed_s))
        before = after
    assert before is not None
    transitions += diff(before, before, observed_at=f.at(REQUESTED + GRACE + 0.7), deleted=True)

    ip = "10.244.1.17"
    slices = [
        (50, endpoint_slice(slice_endpoint(UID, ip))),
        (
            REQUESTED + 0.8,
            endpoint_slice(slice_endpoint(UID, ip, ready=False, serving=True, terminating=True)),
        ),
        (
            REQUESTED + 1.3,
            endpoint_slice(slice_endpoint(UID, ip, ready=False, serving=False, terminating=True)),
        ),
        (REQUESTED + GRACE + 0.5, endpoint_slice()),
    ]
    observations = []
    previous = None
    for observed_s, raw_slice in slices:
        observations += diff_endpoint_slices(previous, raw_slice, observed_at=f.at(observed_s))
        previous = raw_slice
    events = [
        event_from_raw(
            kubelet_event("Killing", "Stopping container app", at=f.at(REQUESTED), pod_uid=UID)
        )
    ]

    result = analyze_termination(
        pod=before, transitions=transitions, events=events, endpoints=observations, now=NOW
    )

    assert result is not None
    assert result.cause is TerminationCause.API_DELETE
    assert result.deletion_requested.at == f.at(REQUESTED)
    assert result.deletion_observed.at == f.at(REQUESTED + 0.3)
    assert result.grace_period.value == GRACE
    assert not result.force_delete
    assert result.deleted.at == f.at(REQUESTED + GRACE + 0.7)
    assert result.endpoint_terminating.at == f.at(REQUESTED + 0.8)
    assert result.endpoint_removed.at == f.at(REQUESTED + GRACE + 0.5)
    assert result.traffic_race is True
    [app] = result.containers
    assert app.verdict is Verdict.SIGKILL_AFTER_GRACE
    assert app.headroom.value == 0


def test_a_terminating_endpoint_received_before_the_pod_update_still_counts_as_the_ending():
    endpoints = [endpoint(10), endpoint(REQUESTED + 0.1, ready=False, terminating=True)]
    transitions = [
        transition(
            TransitionKind.DELETION_REQUESTED, None, f.ts(REQUESTED + GRACE), REQUESTED + 0.5
        ),
        *deleted_transitions()[1:],
    ]

    result = analyze(
        deleted_pod(exit_code=0),
        transitions=transitions,
        events=[killing("app", REQUESTED)],
        endpoints=endpoints,
    )

    assert result.endpoint_withdrawn.at == f.at(REQUESTED + 0.1)
    assert result.traffic_race is True


def test_stopping_container_kills_from_before_the_deletion_are_not_its_kill():
    sandbox_restart = killing("app", 40)
    aggregated = killing("app", REQUESTED + 1, count=2, first_s=40)

    alone = analyze(deleted_pod(exit_code=0), events=[sandbox_restart])
    merged = analyze(deleted_pod(exit_code=0), events=[aggregated])

    assert alone.containers[0].kill_started.at is None
    assert merged.containers[0].kill_started.at == f.at(REQUESTED + 1)
    assert merged.containers[0].kill_events == 1


def test_kubelet_preemption_seen_only_in_an_event():
    pod = snapshot_from_pod(f.pod(phase="Failed", conditions=TERMINAL_CONDITIONS))
    preempting = pod_event("Preempting", "Preempted in order to admit critical pod", 300)

    result = analyze_termination(pod=pod, events=[preempting], now=NOW)

    assert result is not None
    assert result.cause is TerminationCause.KUBELET_PREEMPTION
    assert result.cause_rule == "event:Preempting"
    assert result.started.at == f.at(300)


def test_a_sigkill_well_after_the_expected_time_says_so():
    on_time_with_overrun = analyze(
        deleted_pod(exit_code=137, finished_s=REQUESTED + GRACE + 2, pre_stop=f.sleep_hook(40)),
        events=[killing("app", REQUESTED)],
    )
    late_without_prestop = analyze(
        deleted_pod(exit_code=137, finished_s=REQUESTED + GRACE + 4),
        events=[killing("app", REQUESTED)],
    )

    assert "after the expected SIGKILL" not in on_time_with_overrun.containers[0].verdict_sentence
    late = late_without_prestop.containers[0]
    assert late.verdict is Verdict.SIGKILL_AFTER_GRACE
    assert "about 3s after the expected SIGKILL" in late.verdict_sentence


_RULE_KINDS = {"api", "event", "observed", "estimate", "assumed", "unknown"}


@settings(max_examples=60, deadline=None)
@given(
    phase=st.sampled_from(["Running", "Succeeded", "Failed", "Pending", "Unknown"]),
    reason=st.sampled_from([None, "Evicted", "DeadlineExceeded", "NodeLost", "Terminated"]),
    deleting=st.booleans(),
    deletion_grace=st.sampled_from([0, 1, 10, 30]),
    exit_code=st.sampled_from([None, 0, 1, 137, 143]),
    finished=st.integers(min_value=-60, max_value=60),
    pre_stop=st.sampled_from([None, "sleep", "exec", "http"]),
    with_killing=st.booleans(),
    disruption=st.sampled_from([None, "TerminationByKubelet", "PreemptionByScheduler"]),
)
def test_any_combination_is_analysed_without_raising_and_every_value_has_a_rule(
    phase, reason, deleting, deletion_grace, exit_code, finished, pre_stop, with_killing, disruption
):
    hook = {"sleep": f.sleep_hook(5), "exec": f.exec_hook(), "http": f.http_hook(), None: None}
    statuses = (
        [f.running("app", started_at=5)]
        if exit_code is None
        else [f.terminated("app", exit_code, finished_at=REQUESTED + finished)]
    )
    conditions = list(TERMINAL_CONDITIONS)
    if disruption:
        conditions.append(f.condition("DisruptionTarget", "True", reason=disruption, at_=REQUESTED))
    raw = f.pod(
        phase=phase,
        reason=reason,
        containers=[f.container("app", pre_stop=hook[pre_stop])],
        container_statuses=statuses,
        conditions=conditions,
        deletion_timestamp=REQUESTED + deletion_grace if deleting else None,
        deletion_grace=deletion_grace,
    )
    events = [killing("app", REQUESTED)] if with_killing else []

    result = analyze_termination(pod=snapshot_from_pod(raw), events=events, now=NOW)

    if result is None:
        assert not deleting
        return
    for c in result.containers:
        assert c.verdict in set(Verdict)
        assert c.verdict_sentence
        for point in (c.kill_started, c.sigterm, c.expected_sigkill, c.exited):
            assert point.rule.split(":", 1)[0] in _RULE_KINDS
            if point.earliest is not None and point.latest is not None:
                assert point.earliest <= point.latest
    assert result.grace_period.rule.split(":", 1)[0] in _RULE_KINDS
