"""diff: the transitions of concrete lifecycle scenarios, their times, keys and records."""

from __future__ import annotations

import json
from types import MappingProxyType

import pytest

from lifecycle_dash.lifecycle import (
    TimeSource,
    Transition,
    TransitionKind,
    apply,
    diff,
    snapshot_from_pod,
    state_of,
)
from lifecycle_dash.lifecycle.diff import MAX_GAP_RECORDS
from tests.lifecycle import podfactory as f

K = TransitionKind
UID = "3f1e6a52-8c1b-4d7e-9a0f-2b4c6d8e0f11"
OBS = f.at(5000)


def _kinds(transitions):
    return [(t.kind, t.subject) for t in transitions]


def _one(transitions, kind, subject=""):
    found = [t for t in transitions if t.kind is kind and t.subject == subject]
    assert len(found) == 1, _kinds(transitions)
    return found[0]


def test_first_observation_starts_from_the_empty_state():
    snap = snapshot_from_pod(f.running_pod())
    transitions = diff(None, snap, observed_at=OBS)
    assert _kinds(transitions) == [
        (K.POD_CREATED, ""),
        (K.NODE_ASSIGNED, ""),
        (K.POD_IP, ""),
        (K.PHASE, ""),
        (K.CONDITION, "PodReadyToStartContainers"),
        (K.CONDITION, "Initialized"),
        (K.CONDITION, "Ready"),
        (K.CONDITION, "ContainersReady"),
        (K.CONDITION, "PodScheduled"),
        (K.POD_READY, ""),
        (K.CONTAINER_STATE, "app"),
        (K.CONTAINER_STARTED, "app"),
        (K.CONTAINER_READY, "app"),
        (K.KUBECTL_STATUS, ""),
    ]
    created = transitions[0]
    assert created.new == "2024-05-01T12:00:00Z"
    assert (created.api_time, created.time_source) == (f.T0, TimeSource.API)
    assert created.detail["owner_kind"] == "ReplicaSet"
    assert created.key == f"{UID}|pod_created||created"
    state = _one(transitions, K.CONTAINER_STATE, "app")
    assert (state.old, state.new, state.api_time) == (None, "running", f.at(5))
    assert _one(transitions, K.KUBECTL_STATUS).new == "Running"
    assert all(t.pod_uid == UID and t.observed_at == OBS for t in transitions)


def test_scheduling_and_start_of_a_pending_pod():
    a = snapshot_from_pod(f.pending_unscheduled_pod(resource_version="10"))
    conditions = [
        f.condition("PodScheduled", "True", at_=20),
        *f.standard_conditions(ready=False, at_=20)[:4],
    ]
    b = snapshot_from_pod(
        f.pod(
            resource_version="11",
            phase="Pending",
            conditions=conditions,
            container_statuses=[f.waiting("app", "ContainerCreating")],
        )
    )
    transitions = diff(a, b, observed_at=OBS)
    node = _one(transitions, K.NODE_ASSIGNED)
    assert (node.old, node.new) == ("", "node-a-1")
    assert (node.api_time, node.time_source) == (f.at(20), TimeSource.API)
    ip = _one(transitions, K.POD_IP)
    assert (ip.new, ip.detail["pod_ips"], ip.time_source) == (
        "10.244.1.17",
        ("10.244.1.17",),
        TimeSource.OBSERVED,
    )
    scheduled = _one(transitions, K.CONDITION, "PodScheduled")
    assert (scheduled.old, scheduled.new, scheduled.detail["old_reason"]) == (
        "False",
        "True",
        "Unschedulable",
    )
    waiting = _one(transitions, K.CONTAINER_STATE, "app")
    assert (waiting.old, waiting.new, waiting.time_source) == (
        None,
        "waiting:ContainerCreating",
        TimeSource.OBSERVED,
    )
    assert _one(transitions, K.KUBECTL_STATUS).new == "ContainerCreating"
    assert all(t.key.endswith("|rv=11") for t in transitions)


def test_condition_reason_change_alone_is_observed_not_api_time():
    a = snapshot_from_pod(f.pod(conditions=[f.condition("Ready", "False", reason="A", at_=5)]))
    b = snapshot_from_pod(f.pod(conditions=[f.condition("Ready", "False", reason="B", at_=5)]))
    t = _one(diff(a, b, observed_at=OBS), K.CONDITION, "Ready")
    assert (t.old, t.new, t.detail["reason"], t.detail["old_reason"]) == (
        "False",
        "False",
        "B",
        "A",
    )
    assert t.time_source is TimeSource.OBSERVED
    assert t.at == OBS


def test_readiness_flip_without_a_new_transition_time_is_observed():
    a = snapshot_from_pod(f.pod(conditions=[f.condition("Ready", "True", at_=5)]))
    b = snapshot_from_pod(f.pod(conditions=[f.condition("Ready", "False", at_=5)]))
    transitions = diff(a, b, observed_at=OBS)
    for t in (_one(transitions, K.POD_READY), _one(transitions, K.CONDITION, "Ready")):
        assert (t.api_time, t.time_source) == (None, TimeSource.OBSERVED)


def test_condition_message_change_alone_is_no_transition():
    a = snapshot_from_pod(f.pod(conditions=[f.condition("Ready", "False", message="x")]))
    b = snapshot_from_pod(f.pod(conditions=[f.condition("Ready", "False", message="y")]))
    assert diff(a, b, observed_at=OBS) == ()


def test_readiness_loss_has_condition_pod_ready_and_container_ready():
    a = snapshot_from_pod(f.running_pod())
    b = snapshot_from_pod(
        f.pod(
            resource_version="1001",
            container_statuses=[f.running("app", ready=False)],
            conditions=f.standard_conditions(ready=False, ready_at=300),
        )
    )
    transitions = diff(a, b, observed_at=OBS)
    ready = _one(transitions, K.POD_READY)
    assert (ready.old, ready.new, ready.api_time, ready.time_source) == (
        True,
        False,
        f.at(300),
        TimeSource.API,
    )
    assert ready.detail["reason"] == "ContainersNotReady"
    cond = _one(transitions, K.CONDITION, "Ready")
    assert (cond.old, cond.new, cond.api_time) == ("True", "False", f.at(300))
    container = _one(transitions, K.CONTAINER_READY, "app")
    assert (container.old, container.new, container.detail["role"]) == (True, False, "regular")
    assert _kinds(transitions).count((K.CONTAINER_STATE, "app")) == 0


def test_crash_and_restart_seen_in_one_observation():
    a = snapshot_from_pod(f.running_pod())
    b = snapshot_from_pod(
        f.pod(
            resource_version="1001",
            container_statuses=[
                f.running(
                    "app",
                    started_at=400,
                    restart_count=1,
                    last_terminated=f.term(137, reason="OOMKilled", started=5, finished=399),
                )
            ],
        )
    )
    transitions = diff(a, b, observed_at=OBS)
    assert _kinds(transitions) == [(K.CONTAINER_RESTART, "app"), (K.CONTAINER_STATE, "app")]
    restart, state = transitions
    assert (restart.old, restart.new) == (0, 1)
    assert (restart.api_time, restart.time_source) == (f.at(399), TimeSource.API)
    assert restart.detail["in_gap"] is False
    assert restart.detail["last_state"]["exit_code"] == 137
    assert restart.detail["last_state"]["reason"] == "OOMKilled"
    assert restart.detail["last_state"]["finished_at"] == "2024-05-01T12:06:39Z"
    assert restart.key == f"{UID}|container_restart|app|restart=1@2024-05-01T12:06:39Z"
    assert (state.old, state.new, state.api_time) == ("running", "running", f.at(400))


def test_restart_jump_is_a_ledger_with_honest_gaps():
    a = snapshot_from_pod(f.crashloop_pod(2))
    b = snapshot_from_pod(f.crashloop_pod(6, resource_version="1001"))
    restarts = [t for t in diff(a, b, observed_at=OBS) if t.kind is K.CONTAINER_RESTART]
    assert [(t.old, t.new) for t in restarts] == [(2, 3), (3, 4), (4, 5), (5, 6)]
    for gap in restarts[:-1]:
        assert gap.detail["in_gap"] is True
        assert gap.detail["last_state"] is None
        assert (gap.api_time, gap.time_source) == (None, TimeSource.OBSERVED)
    last = restarts[-1]
    assert last.detail["in_gap"] is False
    assert last.detail["last_state"]["exit_code"] == 1
    assert last.api_time == f.at(110)
    assert [t.key.rsplit("|", 1)[1] for t in restarts] == [
        "restart=3@2024-05-01T12:01:50Z",
        "restart=4@2024-05-01T12:01:50Z",
        "restart=5@2024-05-01T12:01:50Z",
        "restart=6@2024-05-01T12:01:50Z",
    ]


def test_first_observation_of_a_crashlooping_pod_records_all_restarts():
    transitions = diff(None, snapshot_from_pod(f.crashloop_pod(3)), observed_at=OBS)
    restarts = [t for t in transitions if t.kind is K.CONTAINER_RESTART]
    assert [t.new for t in restarts] == [1, 2, 3]
    assert [t.detail["in_gap"] for t in restarts] == [True, True, False]


def test_a_huge_restart_gap_is_summarised():
    a = snapshot_from_pod(f.crashloop_pod(1))
    b = snapshot_from_pod(f.crashloop_pod(1 + MAX_GAP_RECORDS + 10, resource_version="1001"))
    restarts = [t for t in diff(a, b, observed_at=OBS) if t.kind is K.CONTAINER_RESTART]
    assert len(restarts) == 2
    gap, last = restarts
    assert (gap.detail["gap_first"], gap.detail["gap_last"]) == (2, MAX_GAP_RECORDS + 10)
    assert last.new == MAX_GAP_RECORDS + 11
    assert apply(state_of(a), restarts) == state_of(b)


def test_restart_count_reset_after_node_reboot():
    a = snapshot_from_pod(f.crashloop_pod(7))
    b = snapshot_from_pod(
        f.pod(resource_version="1001", container_statuses=[f.running("app", restart_count=0)])
    )
    transitions = diff(a, b, observed_at=OBS)
    reset = _one(transitions, K.CONTAINER_RESTART_RESET, "app")
    assert (reset.old, reset.new) == (7, 0)
    assert not [t for t in transitions if t.kind is K.CONTAINER_RESTART]
    assert apply(state_of(a), transitions) == state_of(b)


def test_restarts_after_a_reset_do_not_reuse_keys():
    first = snapshot_from_pod(f.pod(container_statuses=[f.running("app")]))
    crashed = snapshot_from_pod(
        f.pod(
            resource_version="1001",
            container_statuses=[
                f.running("app", restart_count=1, last_terminated=f.term(1, finished=100))
            ],
        )
    )
    rebooted = snapshot_from_pod(
        f.pod(resource_version="1002", container_statuses=[f.running("app")])
    )
    crashed_again = snapshot_from_pod(
        f.pod(
            resource_version="1003",
            container_statuses=[
                f.running("app", restart_count=1, last_terminated=f.term(1, finished=900))
            ],
        )
    )
    history = (
        diff(first, crashed, observed_at=OBS)
        + diff(crashed, rebooted, observed_at=OBS)
        + diff(rebooted, crashed_again, observed_at=OBS)
    )
    restarts = [t for t in history if t.kind is K.CONTAINER_RESTART]
    assert [t.new for t in restarts] == [1, 1]
    assert restarts[0].key != restarts[1].key
    # and a replay of the same observation pair keeps its key
    assert diff(rebooted, crashed_again, observed_at=f.at(9999))[0].key == restarts[1].key


def test_restart_without_a_finished_time_is_keyed_by_resource_version():
    a = snapshot_from_pod(f.pod(container_statuses=[f.running("app")]))
    b = snapshot_from_pod(
        f.pod(resource_version="1007", container_statuses=[f.running("app", restart_count=1)])
    )
    (restart,) = [t for t in diff(a, b, observed_at=OBS) if t.kind is K.CONTAINER_RESTART]
    assert restart.key.endswith("|restart=1@rv=1007")


def test_last_state_change_without_restart_is_recorded():
    a = snapshot_from_pod(f.pod(container_statuses=[f.running("app")]))
    b = snapshot_from_pod(
        f.pod(
            resource_version="1001",
            container_statuses=[
                f.running(
                    "app", last_terminated=f.term(137, reason="ContainerStatusUnknown", finished=50)
                )
            ],
        )
    )
    t = _one(diff(a, b, observed_at=OBS), K.CONTAINER_LAST_STATE, "app")
    assert (t.old, t.new, t.api_time) == (None, "ContainerStatusUnknown", f.at(50))


def test_container_started_flips():
    a = snapshot_from_pod(f.pod(container_statuses=[f.running("app", started=False, ready=False)]))
    b = snapshot_from_pod(f.pod(container_statuses=[f.running("app", started=True, ready=False)]))
    t = _one(diff(a, b, observed_at=OBS), K.CONTAINER_STARTED, "app")
    assert (t.old, t.new, t.time_source) == (False, True, TimeSource.OBSERVED)


def test_terminated_state_carries_exit_code_signal_and_times():
    a = snapshot_from_pod(f.running_pod())
    b = snapshot_from_pod(
        f.pod(
            phase="Failed",
            container_statuses=[
                f.terminated("app", 143, reason="Error", signal=15, started_at=5, finished_at=140)
            ],
        )
    )
    t = _one(diff(a, b, observed_at=OBS), K.CONTAINER_STATE, "app")
    assert (t.old, t.new) == ("running", "terminated:Error")
    assert (t.api_time, t.time_source) == (f.at(140), TimeSource.API)
    term = t.detail["terminated"]
    assert (term["exit_code"], term["signal"], term["reason"]) == (143, 15, "Error")
    assert (term["started_at"], term["finished_at"]) == (
        "2024-05-01T12:00:05Z",
        "2024-05-01T12:02:20Z",
    )


def test_waiting_message_churn_is_not_a_transition():
    a = snapshot_from_pod(
        f.pod(container_statuses=[f.waiting("app", "CrashLoopBackOff", message="back-off 10s")])
    )
    b = snapshot_from_pod(
        f.pod(container_statuses=[f.waiting("app", "CrashLoopBackOff", message="back-off 20s")])
    )
    assert diff(a, b, observed_at=OBS) == ()


def test_graceful_deletion_sequence():
    running = snapshot_from_pod(f.running_pod())
    requested = snapshot_from_pod(
        f.terminating_pod(requested=100, grace=30, resource_version="1001")
    )
    transitions = diff(running, requested, observed_at=OBS)
    req = _one(transitions, K.DELETION_REQUESTED)
    assert req.new == "2024-05-01T12:02:10Z"  # the deletionTimestamp
    assert (req.api_time, req.time_source) == (f.at(100), TimeSource.API)
    assert req.detail["grace_period_seconds"] == 30
    assert req.detail["requested_at"] == "2024-05-01T12:01:40Z"
    assert req.key == f"{UID}|deletion_requested||requested=2024-05-01T12:01:40Z"
    assert _one(transitions, K.KUBECTL_STATUS).new == "Terminating"

    # a second DELETE with a shorter grace: the request time stays the original one
    shortened = snapshot_from_pod(
        f.terminating_pod(requested=100, grace=5, resource_version="1002")
    )
    (grace,) = diff(requested, shortened, observed_at=OBS)
    assert (grace.kind, grace.old, grace.new) == (K.GRACE_SHORTENED, 30, 5)
    assert grace.detail["requested_at"] == "2024-05-01T12:01:40Z"

    final = snapshot_from_pod(
        f.terminating_pod(
            requested=100,
            grace=5,
            resource_version="1003",
            phase="Failed",
            container_statuses=[f.terminated("app", 143, finished_at=104)],
        )
    )
    gone = diff(shortened, final, observed_at=OBS, deleted=True)
    assert gone[-1].kind is K.DELETED
    assert gone[-1].key == f"{UID}|deleted||"
    assert gone[-1].detail["final_state_known"] is True
    state = apply(state_of(running), (*transitions, grace, *gone))
    assert state.deleted
    assert state.phase == "Failed"


def test_deleted_without_a_final_state():
    snap = snapshot_from_pod(f.running_pod())
    (gone,) = diff(snap, None, observed_at=OBS)
    assert (gone.kind, gone.old, gone.new, gone.time_source) == (
        K.DELETED,
        False,
        True,
        TimeSource.OBSERVED,
    )
    assert gone.detail["final_state_known"] is False
    assert diff(None, None, observed_at=OBS) == ()


def test_diff_refuses_two_different_pods():
    a = snapshot_from_pod(f.running_pod())
    b = snapshot_from_pod(f.running_pod(uid="another"))
    with pytest.raises(ValueError, match="across pods"):
        diff(a, b, observed_at=OBS)


def test_apply_refuses_another_pods_transitions():
    a = snapshot_from_pod(f.running_pod())
    other = diff(None, snapshot_from_pod(f.running_pod(uid="another")), observed_at=OBS)
    with pytest.raises(ValueError, match="another"):
        apply(state_of(a), other)


def test_sidecar_and_init_transitions_carry_their_role():
    transitions = diff(None, snapshot_from_pod(f.sidecar_pod()), observed_at=OBS)
    roles = {t.subject: t.detail["role"] for t in transitions if t.kind is K.CONTAINER_STATE}
    assert roles == {"init-db": "init", "istio-proxy": "sidecar", "app": "regular"}
    container_kinds = [t.subject for t in transitions if t.kind is K.CONTAINER_STATE]
    assert container_kinds == ["init-db", "istio-proxy", "app"]


def test_record_is_json_safe_and_round_trips():
    transitions = diff(
        snapshot_from_pod(f.crashloop_pod(1)),
        snapshot_from_pod(f.crashloop_pod(3, resource_version="1001", deletion_timestamp=300)),
        observed_at=OBS,
    )
    for t in transitions:
        record = t.to_record()
        assert json.loads(json.dumps(record)) == record
        assert set(record) == {
            "key",
            "pod_uid",
            "kind",
            "subject",
            "old",
            "new",
            "detail",
            "api_time",
            "observed_at",
            "time_source",
        }
        assert record["observed_at"] == "2024-05-01T13:23:20Z"
        assert Transition.from_record(record) == t
        assert isinstance(t.detail, MappingProxyType)
        hash(t)


def test_transition_detail_is_read_only():
    (t, *_) = diff(None, snapshot_from_pod(f.running_pod()), observed_at=OBS)
    with pytest.raises(TypeError):
        t.detail["name"] = "x"  # type: ignore[index]
