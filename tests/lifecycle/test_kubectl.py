"""kubectl get pods columns, rule for rule (shared/reference/kubectl-status.md).

Each case names the reference section it pins. All pods come from the podfactory, so they
carry the full noise of a real object.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from lifecycle_dash.lifecycle import (
    KubectlColumns,
    format_age,
    kubectl_columns,
    kubectl_status,
    snapshot_from_pod,
    translate_timestamp_since,
)
from tests.lifecycle import podfactory as f

NOW = f.at(3600)  # one hour after T0 (= creationTimestamp of the default pod)
DAY = 86400

Json = dict[str, Any]


def _init_pod(init_statuses: list[Json], *, app: Json | None = None, **kw: Any) -> Json:
    """A pod with a plain init container, a sidecar and an app container."""
    kw.setdefault(
        "init_containers",
        [f.init_container("init-db"), f.init_container("proxy", sidecar=True)],
    )
    kw.setdefault("conditions", f.standard_conditions(initialized=False, ready=False))
    kw.setdefault("phase", "Pending")
    return f.pod(
        init_container_statuses=init_statuses,
        container_statuses=[app or f.waiting("app", "PodInitializing")],
        **kw,
    )


def _two_app_pod(a: Json, b: Json, **kw: Any) -> Json:
    return f.pod(containers=[f.container("a"), f.container("b")], container_statuses=[a, b], **kw)


# (id, pod, STATUS, READY, RESTARTS)
CASES: list[tuple[str, Callable[[], Json], str, str, str]] = [
    # §1 starting point
    ("s1-phase-running", lambda: f.running_pod(), "Running", "1/1", "0"),
    (
        "s1-phase-pending-no-statuses",
        lambda: f.pending_unscheduled_pod(),
        "Pending",
        "0/1",
        "0",
    ),
    (
        "s1-empty-phase-prints-empty",
        lambda: f.pod(phase="", container_statuses=[]),
        "",
        "0/1",
        "0",
    ),
    (
        "s1-non-standard-phase-prints-as-is",
        lambda: f.pod(phase="Weird", container_statuses=[]),
        "Weird",
        "0/1",
        "0",
    ),
    (
        "s1-pod-reason-beats-phase",
        lambda: f.pod(phase="Failed", reason="Evicted", container_statuses=[]),
        "Evicted",
        "0/1",
        "0",
    ),
    (
        "s1-scheduling-gated-beats-phase-and-reason",
        lambda: f.pod(
            phase="Pending",
            node=None,
            pod_ips=(),
            container_statuses=[],
            scheduling_gates=["example.com/quota"],
            conditions=[f.condition("PodScheduled", "False", reason="SchedulingGated")],
        ),
        "SchedulingGated",
        "0/1",
        "0",
    ),
    (
        "s1-scheduling-gated-ignores-condition-status",
        lambda: f.pod(
            phase="Pending",
            reason="Whatever",
            container_statuses=[],
            conditions=[f.condition("PodScheduled", "True", reason="SchedulingGated")],
        ),
        "SchedulingGated",
        "0/1",
        "0",
    ),
    (
        "s1-unschedulable-is-just-pending",
        lambda: f.pod(
            phase="Pending",
            container_statuses=[],
            conditions=[f.condition("PodScheduled", "False", reason="Unschedulable")],
        ),
        "Pending",
        "0/1",
        "0",
    ),
    # §2 init-container pass
    (
        "s2-init-done-exit-0-then-app",
        lambda: f.sidecar_pod(),
        "Running",
        "2/2",
        "0",
    ),
    (
        "s2-first-init-running",
        lambda: _init_pod([f.running("init-db", ready=False), f.no_state("proxy")]),
        "Init:0/2",
        "0/2",
        "0",
    ),
    (
        "s2-sidecar-not-started",
        lambda: _init_pod(
            [
                f.terminated("init-db", 0, finished_at=3),
                f.running("proxy", started=False, ready=False),
            ]
        ),
        "Init:1/2",
        "0/2",
        "0",
    ),
    (
        "s2-sidecar-started-not-ready-continues-uncounted",
        lambda: _init_pod(
            [
                f.terminated("init-db", 0, finished_at=3),
                f.running("proxy", started=True, ready=False),
            ],
            app=f.running("app"),
            conditions=f.standard_conditions(),
            phase="Running",
        ),
        "Running",
        "1/2",
        "0",
    ),
    (
        "s2-sidecar-started-and-ready-counts",
        lambda: _init_pod(
            [f.terminated("init-db", 0, finished_at=3), f.running("proxy")],
            app=f.running("app", ready=False),
            phase="Running",
        ),
        "Running",
        "1/2",
        "0",
    ),
    (
        "s2-sidecar-exited-0-is-done-but-not-ready",
        lambda: _init_pod(
            [
                f.terminated("init-db", 0, finished_at=3),
                f.terminated("proxy", 0, started=True, ready=True),
            ],
            app=f.running("app"),
            phase="Running",
        ),
        "Running",
        "1/2",
        "0",
    ),
    (
        "s2-init-waiting-reason",
        lambda: _init_pod(
            [
                f.waiting(
                    "init-db",
                    "CrashLoopBackOff",
                    restart_count=3,
                    last_terminated=f.term(1, finished=3000),
                ),
                f.no_state("proxy"),
            ]
        ),
        "Init:CrashLoopBackOff",
        "0/2",
        "3 (10m ago)",
    ),
    (
        "s2-init-waiting-pod-initializing-is-index",
        lambda: _init_pod([f.waiting("init-db", "PodInitializing"), f.no_state("proxy")]),
        "Init:0/2",
        "0/2",
        "0",
    ),
    (
        "s2-init-waiting-empty-reason-is-index",
        lambda: _init_pod([f.waiting("init-db", None), f.no_state("proxy")]),
        "Init:0/2",
        "0/2",
        "0",
    ),
    (
        "s2-init-no-state-is-index",
        lambda: _init_pod([f.no_state("init-db"), f.no_state("proxy")]),
        "Init:0/2",
        "0/2",
        "0",
    ),
    (
        "s2-init-terminated-reason",
        lambda: _init_pod([f.terminated("init-db", 1, reason="Error"), f.no_state("proxy")]),
        "Init:Error",
        "0/2",
        "0",
    ),
    (
        "s2-init-oomkilled",
        lambda: _init_pod([f.terminated("init-db", 137, reason="OOMKilled"), f.no_state("proxy")]),
        "Init:OOMKilled",
        "0/2",
        "0",
    ),
    (
        "s2-init-terminated-signal-without-reason",
        lambda: _init_pod([f.terminated("init-db", 137, reason="", signal=9), f.no_state("proxy")]),
        "Init:Signal:9",
        "0/2",
        "0",
    ),
    (
        "s2-init-terminated-exit-code-without-reason",
        lambda: _init_pod([f.terminated("init-db", 3, reason=""), f.no_state("proxy")]),
        "Init:ExitCode:3",
        "0/2",
        "0",
    ),
    (
        "s2-unknown-init-name-is-a-plain-init-container",
        lambda: _init_pod(
            [
                f.terminated("init-db", 0, finished_at=3),
                f.running("mystery", started=True),
                f.running("proxy"),
            ]
        ),
        "Init:1/2",
        "0/2",
        "0",
    ),
    (
        "s2-stop-later-inits-contribute-nothing",
        lambda: _init_pod(
            [
                f.waiting(
                    "init-db",
                    "CrashLoopBackOff",
                    restart_count=3,
                    last_terminated=f.term(1, finished=3000),
                ),
                f.running("proxy", restart_count=2, last_terminated=f.term(137, finished=3590)),
            ]
        ),
        "Init:CrashLoopBackOff",
        "0/2",
        "3 (10m ago)",
    ),
    # §3 regular-container pass
    (
        "s3-plain-init-restarts-dropped-sidecar-restarts-kept",
        lambda: _init_pod(
            [
                f.terminated(
                    "init-db",
                    0,
                    finished_at=3,
                    restart_count=2,
                    last_terminated=f.term(1, finished=3590),
                ),
                f.running("proxy", restart_count=4, last_terminated=f.term(137, finished=600)),
            ],
            app=f.running("app", restart_count=1, last_terminated=f.term(1, finished=1200)),
            conditions=f.standard_conditions(),
            phase="Running",
        ),
        "Running",
        "2/2",
        "5 (40m ago)",
    ),
    (
        "s3-initialized-true-lets-regular-pass-run",
        lambda: _init_pod(
            [f.waiting("init-db", "CrashLoopBackOff", restart_count=7), f.no_state("proxy")],
            app=f.waiting("app", "CrashLoopBackOff", restart_count=2),
            conditions=f.standard_conditions(initialized=True, ready=False),
            phase="Running",
        ),
        "CrashLoopBackOff",
        "0/2",
        "2",
    ),
    (
        "s3-initialized-true-keeps-init-reason-when-no-container-reason",
        lambda: _init_pod(
            [f.waiting("init-db", "CrashLoopBackOff"), f.no_state("proxy")],
            app=f.running("app"),
            conditions=f.standard_conditions(initialized=True),
            phase="Running",
        ),
        "Init:CrashLoopBackOff",
        "1/2",
        "0",
    ),
    (
        "s3-only-first-initialized-condition-consulted",
        lambda: _init_pod(
            [f.waiting("init-db", "CrashLoopBackOff"), f.no_state("proxy")],
            app=f.waiting("app", "CrashLoopBackOff", restart_count=2),
            conditions=[
                f.condition("Initialized", "False", reason="ContainersNotInitialized"),
                f.condition("Initialized", "True"),
            ],
        ),
        "Init:CrashLoopBackOff",
        "0/2",
        "0",
    ),
    (
        "s3-reverse-scan-first-container-wins-waiting",
        lambda: _two_app_pod(
            f.waiting("a", "ImagePullBackOff"), f.terminated("b", 1, reason="Error")
        ),
        "ImagePullBackOff",
        "0/2",
        "0",
    ),
    (
        "s3-reverse-scan-first-container-wins-terminated",
        lambda: _two_app_pod(
            f.terminated("a", 1, reason="Error"), f.waiting("b", "CrashLoopBackOff")
        ),
        "Error",
        "0/2",
        "0",
    ),
    (
        "s3-waiting-without-reason-does-not-override",
        lambda: _two_app_pod(f.waiting("a", None), f.running("b")),
        "Running",
        "1/2",
        "0",
    ),
    (
        "s3-terminated-signal-without-reason",
        lambda: f.pod(container_statuses=[f.terminated("app", 143, reason="", signal=15)]),
        "Signal:15",
        "0/1",
        "0",
    ),
    (
        "s3-terminated-exit-code-without-reason",
        lambda: f.pod(container_statuses=[f.terminated("app", 137, reason="")]),
        "ExitCode:137",
        "0/1",
        "0",
    ),
    (
        "s3-evicted-pod-shows-container-reason",
        lambda: f.pod(
            phase="Failed",
            reason="Evicted",
            container_statuses=[f.terminated("app", 137, reason="ContainerStatusUnknown")],
        ),
        "ContainerStatusUnknown",
        "0/1",
        "0",
    ),
    (
        "s3-completed-plus-running-ready-condition-true-is-running",
        lambda: _two_app_pod(f.terminated("a", 0), f.running("b")),
        "Running",
        "1/2",
        "0",
    ),
    (
        "s3-completed-plus-running-no-ready-condition-is-notready",
        lambda: _two_app_pod(
            f.terminated("a", 0),
            f.running("b"),
            conditions=f.standard_conditions(ready=False),
        ),
        "NotReady",
        "1/2",
        "0",
    ),
    (
        "s3-completed-without-running-stays-completed",
        lambda: f.completed_pod(),
        "Completed",
        "0/1",
        "0",
    ),
    (
        "s3-completed-with-unready-running-stays-completed",
        lambda: _two_app_pod(f.terminated("a", 0), f.running("b", ready=False)),
        "Completed",
        "0/2",
        "0",
    ),
    (
        "s3-ready-without-running-not-counted",
        lambda: f.pod(container_statuses=[f.waiting("app", None, ready=True)]),
        "Running",
        "0/1",
        "0",
    ),
    (
        "s3-running-not-ready",
        lambda: f.pod(container_statuses=[f.running("app", ready=False)]),
        "Running",
        "0/1",
        "0",
    ),
    (
        "s3-crashloop-with-restart-age",
        lambda: f.crashloop_pod(5),
        "CrashLoopBackOff",
        "0/1",
        "5 (58m ago)",
    ),
    # §4 deletion overrides
    ("s4-terminating", lambda: f.terminating_pod(), "Terminating", "1/1", "0"),
    (
        "s4-terminating-overrides-container-reason",
        lambda: f.crashloop_pod(2, deletion_timestamp=200, deletion_grace=30),
        "Terminating",
        "0/1",
        "2 (58m ago)",
    ),
    (
        "s4-nodelost-deleting-is-unknown",
        lambda: f.pod(reason="NodeLost", deletion_timestamp=100),
        "Unknown",
        "1/1",
        "0",
    ),
    (
        "s4-nodelost-deleting-terminal-is-still-unknown",
        lambda: f.pod(phase="Failed", reason="NodeLost", deletion_timestamp=100),
        "Unknown",
        "1/1",
        "0",
    ),
    (
        "s4-nodelost-not-deleting-keeps-reason",
        lambda: f.pod(reason="NodeLost", container_statuses=[]),
        "NodeLost",
        "0/1",
        "0",
    ),
    (
        "s4-succeeded-being-deleted-keeps-completed",
        lambda: f.completed_pod(deletion_timestamp=200, deletion_grace=0),
        "Completed",
        "0/1",
        "0",
    ),
    (
        "s4-failed-being-deleted-keeps-error",
        lambda: f.pod(
            phase="Failed",
            restart_policy="Never",
            deletion_timestamp=200,
            container_statuses=[f.terminated("app", 1, reason="Error")],
        ),
        "Error",
        "0/1",
        "0",
    ),
    # §6 READY denominator
    (
        "s6-denominator-counts-sidecars-not-plain-inits",
        lambda: f.pod(
            init_containers=[
                f.init_container("init-a"),
                f.init_container("side-a", sidecar=True),
                f.init_container("init-b"),
                f.init_container("side-b", sidecar=True),
            ],
            containers=[f.container("a"), f.container("b")],
            container_statuses=[f.running("a"), f.running("b", ready=False)],
        ),
        "Running",
        "3/4",
        "0",
    ),
    # §7 RESTARTS
    (
        "s7-latest-finished-among-counted-wins",
        lambda: _two_app_pod(
            f.running("a", restart_count=3, last_terminated=f.term(1, finished=3600 - 5 * DAY)),
            f.running("b", restart_count=2, last_terminated=f.term(1, finished=-20 * DAY)),
        ),
        "Running",
        "2/2",
        "5 (5d ago)",
    ),
    (
        "s7-most-restarts-does-not-decide-the-time",
        lambda: _two_app_pod(
            f.running("a", restart_count=1, last_terminated=f.term(1, finished=3590)),
            f.running("b", restart_count=50, last_terminated=f.term(1, finished=-20 * DAY)),
        ),
        "Running",
        "2/2",
        "51 (10s ago)",
    ),
    (
        "s7-restarts-without-last-state-are-bare",
        lambda: f.pod(container_statuses=[f.running("app", restart_count=2)]),
        "Running",
        "1/1",
        "2",
    ),
    (
        "s7-last-state-without-finished-at-is-bare",
        lambda: f.pod(
            container_statuses=[f.running("app", restart_count=2, last_terminated={"exitCode": 1})]
        ),
        "Running",
        "1/1",
        "2",
    ),
    (
        "s7-go-zero-finished-at-is-no-time",
        lambda: f.pod(
            container_statuses=[
                f.running(
                    "app",
                    restart_count=2,
                    last_terminated={"exitCode": 1, "finishedAt": "0001-01-01T00:00:00Z"},
                )
            ]
        ),
        "Running",
        "1/1",
        "2",
    ),
    (
        "s7-zero-restarts-never-show-a-time",
        lambda: f.pod(
            container_statuses=[
                f.running("app", restart_count=0, last_terminated=f.term(1, finished=3000))
            ]
        ),
        "Running",
        "1/1",
        "0",
    ),
]


@pytest.mark.parametrize(
    ("make", "status", "ready", "restarts"),
    [pytest.param(m, s, r, rs, id=i) for i, m, s, r, rs in CASES],
)
def test_status_ready_restarts(make, status, ready, restarts):
    raw = make()
    columns = kubectl_columns(raw, now=NOW)
    assert (columns.status, columns.ready, columns.restarts) == (status, ready, restarts)
    assert kubectl_status(snapshot_from_pod(raw)) == status


def test_numbers_behind_ready_and_restarts():
    columns = kubectl_columns(f.crashloop_pod(5), now=NOW)
    assert (columns.ready_count, columns.ready_total) == (0, 1)
    assert (columns.restart_count, columns.last_restart_at) == (5, f.at(110))
    assert columns.restarts == f"5 ({format_age(NOW - f.at(110))} ago)"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (-10, "<invalid>"),
        (-2, "<invalid>"),
        (-1.9, "0s"),
        (-1, "0s"),
        (-0.5, "0s"),
        (0, "0s"),
        (0.9, "0s"),
        (10, "10s"),
        (20, "20s"),
        (119, "119s"),
        (119.99, "119s"),
        (120, "2m"),
        (125, "2m5s"),
        (599, "9m59s"),
        (600, "10m"),
        (659, "10m"),
        (3 * 3600 - 1, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 5 * 60, "3h5m"),
        (8 * 3600 - 1, "7h59m"),
        (8 * 3600, "8h"),
        (48 * 3600 - 1, "47h"),
        (2 * DAY, "2d"),
        (2 * DAY + 5 * 3600, "2d5h"),
        (5 * DAY, "5d"),
        (8 * DAY - 1, "7d23h"),
        (8 * DAY, "8d"),
        (10 * DAY, "10d"),
        (730 * DAY - 1, "729d"),
        (730 * DAY, "2y"),
        (735 * DAY, "2y5d"),
        (8 * 365 * DAY - 1, "7y364d"),
        (8 * 365 * DAY, "8y"),
        (10 * 365 * DAY + 100 * DAY, "10y"),
    ],
)
def test_format_age_bands(seconds, expected):
    assert format_age(timedelta(seconds=seconds)) == expected


def test_age_column_and_unknown_creation_time():
    assert kubectl_columns(f.pod(created=0), now=f.at(90)).age == "90s"
    raw = f.pod()
    del raw["metadata"]["creationTimestamp"]
    assert kubectl_columns(raw, now=NOW).age == "<unknown>"
    assert translate_timestamp_since(None, now=NOW) == "<unknown>"
    raw["metadata"]["creationTimestamp"] = "0001-01-01T00:00:00Z"
    assert kubectl_columns(raw, now=NOW).age == "<unknown>"
    assert translate_timestamp_since(f.at(3599), now=NOW) == "1s"


def test_age_in_the_future_beyond_skew_is_invalid():
    assert kubectl_columns(f.pod(created=10), now=f.at(0)).age == "<invalid>"


def test_wide_columns_of_a_running_pod():
    raw = f.pod(
        pod_ips=("10.244.1.17", "fd00::17"),
        readiness_gates=("example.com/lb-ready", "example.com/warm"),
        conditions=[
            *f.standard_conditions(),
            f.condition("example.com/lb-ready", "True"),
            f.condition("example.com/warm", "False"),
            f.condition("example.com/warm", "True"),  # only the first of a type decides
        ],
    )
    assert kubectl_columns(raw, now=NOW) == KubectlColumns(
        status="Running",
        ready="1/1",
        restarts="0",
        age="60m",
        ip="10.244.1.17",
        node="node-a-1",
        nominated_node="<none>",
        readiness_gates="1/2",
        ready_count=1,
        ready_total=1,
        restart_count=0,
        last_restart_at=None,
    )


def test_wide_columns_of_an_unscheduled_pod():
    raw = f.pending_unscheduled_pod(nominated_node="node-b-2", readiness_gates=("x/y",))
    columns = kubectl_columns(raw, now=NOW)
    assert (columns.ip, columns.node, columns.nominated_node, columns.readiness_gates) == (
        "<none>",
        "<none>",
        "node-b-2",
        "0/1",
    )


def test_accepts_snapshot_and_raw_dict_alike():
    raw = f.crashloop_pod(3)
    assert kubectl_columns(raw, now=NOW) == kubectl_columns(snapshot_from_pod(raw), now=NOW)


def test_malformed_pod_still_prints():
    columns = kubectl_columns({"metadata": "nope", "status": {"phase": 7}}, now=NOW)
    assert columns == KubectlColumns(
        status="",
        ready="0/0",
        restarts="0",
        age="<unknown>",
        ip="<none>",
        node="<none>",
        nominated_node="<none>",
        readiness_gates="<none>",
    )
