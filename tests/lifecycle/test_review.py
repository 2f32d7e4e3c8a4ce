"""Incident review rules: what counts under which cause, per workload, in a window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lifecycle_dash.lifecycle.review import (
    Happening,
    PodFacts,
    ReviewCause,
    StatusClass,
    TerminationFacts,
    WindowOccurrence,
    classify_window,
    group_happenings,
    pod_segments,
    status_class,
    workload_of,
)
from lifecycle_dash.lifecycle.transitions import TimeSource, Transition, TransitionKind

T0 = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)
START, END = T0, T0 + timedelta(hours=1)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def t(
    uid: str,
    kind: TransitionKind,
    minutes: float,
    *,
    subject: str = "",
    old: Any = None,
    new: Any = None,
    detail: dict[str, Any] | None = None,
) -> Transition:
    return Transition(
        pod_uid=uid,
        kind=kind,
        subject=subject,
        old=old,
        new=new,
        observed_at=at(minutes),
        key=f"{uid}|{kind}|{subject}|{minutes}",
        api_time=at(minutes),
        time_source=TimeSource.API,
        detail=detail or {},
    )


def terminated(uid: str, minutes: float, code: int, reason: str = "Error") -> Transition:
    return t(
        uid,
        TransitionKind.CONTAINER_STATE,
        minutes,
        subject="app",
        old="running",
        new=f"terminated:{reason}",
        detail={
            "terminated": {"exit_code": code, "reason": reason, "finished_at": iso(at(minutes))}
        },
    )


def pod(
    uid: str, owner_kind: str = "ReplicaSet", owner: str = "web-5d8f7", **labels: str
) -> PodFacts:
    return PodFacts(
        uid=uid,
        namespace="shop",
        name=f"{owner or 'bare'}-{uid}",
        owner_kind=owner_kind,
        owner_name=owner,
        labels={"pod-template-hash": "5d8f7", **labels} if owner_kind == "ReplicaSet" else labels,
    )


def causes(happenings: list[Happening]) -> list[tuple[ReviewCause, str]]:
    return [(h.cause, h.pod_uid) for h in happenings]


def test_an_oom_kill_is_its_own_cause_not_a_crash():
    pods = {"a": pod("a")}
    found = classify_window(
        start=START, end=END, pods=pods, transitions=[terminated("a", 5, 137, "OOMKilled")]
    )
    assert causes(found) == [(ReviewCause.OOM_KILLED, "a")]


def test_crashes_carry_their_exit_code_and_group_by_it():
    pods = {"a": pod("a"), "b": pod("b")}
    found = classify_window(
        start=START,
        end=END,
        pods=pods,
        transitions=[terminated("a", 5, 1), terminated("a", 7, 1), terminated("b", 9, 2)],
    )
    groups = group_happenings(found, pods=pods)
    assert [(g.cause, g.exit_code, g.count) for g in groups] == [
        (ReviewCause.CRASHED, 1, 2),
        (ReviewCause.CRASHED, 2, 1),
    ]
    [workload] = groups[0].workloads
    assert (workload.kind, workload.name, workload.first, workload.last) == (
        "Deployment",
        "web",
        at(5),
        at(7),
    )


def test_a_restart_whose_terminated_state_was_missed_still_counts_once():
    restart = t(
        "a",
        TransitionKind.CONTAINER_RESTART,
        5,
        subject="app",
        old=0,
        new=1,
        detail={
            "in_gap": False,
            "last_state": {"exit_code": 3, "reason": "Error", "finished_at": iso(at(5))},
        },
    )
    found = classify_window(
        start=START, end=END, pods={"a": pod("a")}, transitions=[terminated("a", 5, 3), restart]
    )
    assert causes(found) == [(ReviewCause.CRASHED, "a")]


def test_the_exit_of_a_deleted_pod_is_not_a_crash():
    transitions = [
        t("a", TransitionKind.DELETION_REQUESTED, 4, new=iso(at(4))),
        terminated("a", 4.5, 143),
    ]
    found = classify_window(start=START, end=END, pods={"a": pod("a")}, transitions=transitions)
    assert ReviewCause.CRASHED not in [h.cause for h in found]


def test_a_liveness_kill_counts_as_a_liveness_restart_and_its_exit_not_as_a_crash():
    kill = WindowOccurrence(
        "a", "Killing", "Container app failed liveness probe, will be restarted", "app", at(5)
    )
    found = classify_window(
        start=START,
        end=END,
        pods={"a": pod("a")},
        transitions=[terminated("a", 5.2, 137)],
        occurrences=[kill],
    )
    assert causes(found) == [(ReviewCause.LIVENESS_RESTART, "a")]


def test_sigkill_eviction_preemption_and_node_loss_come_from_the_termination_analysis():
    pods = {u: pod(u) for u in "abcd"}
    records = [
        TerminationFacts(
            "a", "api_delete", ("app:sigkill_after_grace",), at(3), {"app": (137, at(4))}
        ),
        TerminationFacts("b", "kubelet_eviction", ("app:sigterm_default",), at(6)),
        TerminationFacts("c", "scheduler_preemption", (), at(7)),
        TerminationFacts("d", "node_lost", (), at(8)),
    ]
    found = classify_window(start=START, end=END, pods=pods, transitions=[], terminations=records)
    assert set(causes(found)) == {
        (ReviewCause.SIGKILL_AFTER_GRACE, "a"),
        (ReviewCause.SCALE_DOWN, "a"),
        (ReviewCause.EVICTED, "b"),
        (ReviewCause.PREEMPTED, "c"),
        (ReviewCause.NODE_LOST, "d"),
    }
    sigkill = next(h for h in found if h.cause is ReviewCause.SIGKILL_AFTER_GRACE)
    assert (sigkill.at, sigkill.exit_code, sigkill.container) == (at(4), 137, "app")


def test_deletions_are_replacements_when_the_workload_created_pods_in_the_window():
    pods = {
        "old": pod("old", owner="web-5d8f7"),
        "new": PodFacts(
            "new", "shop", "web-9c4b1-x", "ReplicaSet", "web-9c4b1", {"pod-template-hash": "9c4b1"}
        ),
        "lonely": pod("lonely", owner_kind="", owner=""),
        "db": PodFacts("db", "shop", "db-0", "StatefulSet", "db", {}),
    }
    records = [
        TerminationFacts("old", "api_delete", ("app:clean_exit",), at(10)),
        TerminationFacts("lonely", "force_delete", (), at(11)),
        TerminationFacts("db", "api_delete", (), at(12)),
    ]
    created = [t("new", TransitionKind.POD_CREATED, 9, new=iso(at(9)))]
    found = classify_window(
        start=START, end=END, pods=pods, transitions=created, terminations=records
    )
    assert causes(found) == [
        (ReviewCause.REPLACED, "old"),
        (ReviewCause.DELETED, "lonely"),
        (ReviewCause.SCALE_DOWN, "db"),
    ]


def test_nothing_outside_the_window_is_counted():
    found = classify_window(
        start=START,
        end=END,
        pods={"a": pod("a")},
        transitions=[terminated("a", -5, 1), terminated("a", 65, 1)],
        terminations=[TerminationFacts("a", "kubelet_eviction", (), at(-1))],
    )
    assert found == []


def test_waiting_reasons_make_image_and_config_failures_and_events_fill_in():
    pods = {"a": pod("a"), "b": pod("b"), "c": pod("c")}
    transitions = [
        t("a", TransitionKind.CONTAINER_STATE, 1, subject="app", new="waiting:ErrImagePull"),
        t(
            "b",
            TransitionKind.CONTAINER_STATE,
            2,
            subject="app",
            new="waiting:CreateContainerConfigError",
        ),
    ]
    occurrences = [
        WindowOccurrence(
            "a", "Failed", 'Failed to pull image "ngnix": not found', "app", at(1), "Warning"
        ),
        WindowOccurrence("c", "FailedScheduling", "0/3 nodes are available", "", at(3), "Warning"),
    ]
    found = classify_window(
        start=START, end=END, pods=pods, transitions=transitions, occurrences=occurrences
    )
    assert causes(found) == [
        (ReviewCause.IMAGE_PULL, "a"),
        (ReviewCause.CONFIG_ERROR, "b"),
        (ReviewCause.FAILED_SCHEDULING, "c"),
    ]


@pytest.mark.parametrize(
    ("owner_kind", "owner_name", "labels", "expected"),
    [
        ("ReplicaSet", "web-5d8f7", {"pod-template-hash": "5d8f7"}, ("Deployment", "web")),
        ("ReplicaSet", "web-5d8f7", {}, ("ReplicaSet", "web-5d8f7")),
        ("Job", "nightly-report-29381420", {}, ("CronJob", "nightly-report")),
        ("Job", "migrate", {}, ("Job", "migrate")),
        ("StatefulSet", "db", {}, ("StatefulSet", "db")),
        ("", "", {}, ("", "")),
    ],
)
def test_workloads_are_owners_lifted_by_their_naming(owner_kind, owner_name, labels, expected):
    assert workload_of(owner_kind, owner_name, labels) == expected


@pytest.mark.parametrize(
    ("status", "ready", "expected"),
    [
        ("Running", True, StatusClass.READY),
        ("Running", False, StatusClass.NOT_READY),
        ("Pending", None, StatusClass.PENDING),
        ("ContainerCreating", None, StatusClass.PENDING),
        ("CrashLoopBackOff", False, StatusClass.CRASH),
        ("Init:Error", False, StatusClass.CRASH),
        ("Terminating", True, StatusClass.TERMINATING),
        ("Evicted", False, StatusClass.FAILED),
        ("Completed", False, StatusClass.DONE),
    ],
)
def test_status_classes(status, ready, expected):
    assert status_class(status, ready) is expected


def test_a_lane_starts_at_creation_changes_with_status_and_readiness_and_stops_at_deletion():
    changes = [
        t("a", TransitionKind.KUBECTL_STATUS, 12, new="Running"),
        t("a", TransitionKind.POD_READY, 13, new=True),
        t("a", TransitionKind.KUBECTL_STATUS, 30, new="Terminating"),
    ]
    lane = pod_segments(
        start=START,
        end=END,
        created=at(10),
        deleted=at(31),
        initial_status="Pending",
        initial_ready=None,
        changes=changes,
    )
    assert [(s.start, s.end, s.css) for s in lane] == [
        (at(10), at(12), StatusClass.PENDING),
        (at(12), at(13), StatusClass.NOT_READY),
        (at(13), at(30), StatusClass.READY),
        (at(30), at(31), StatusClass.TERMINATING),
    ]


def test_a_pod_created_before_its_first_observation_is_drawn_unobserved_until_then():
    changes = [t("a", TransitionKind.KUBECTL_STATUS, 5, new="Running")]
    lane = pod_segments(
        start=START,
        end=at(10),
        created=at(-10),
        deleted=None,
        initial_status="",
        initial_ready=None,
        changes=changes,
    )
    assert [(s.start, s.end, s.css) for s in lane] == [
        (START, at(5), StatusClass.UNOBSERVED),
        (at(5), at(10), StatusClass.NOT_READY),
    ]


def test_a_pod_gone_before_the_window_has_no_lane():
    assert (
        pod_segments(
            start=START,
            end=END,
            created=at(-30),
            deleted=at(-10),
            initial_status="Running",
            initial_ready=True,
            changes=[],
        )
        == []
    )
