"""One meaning per kubectl STATUS, shared by the dashboard badge, the timeline lanes and the
problem lists."""

from __future__ import annotations

import pytest

from lifecycle_dash.lifecycle.review import StatusClass, status_class
from lifecycle_dash.lifecycle.status_kinds import StatusKind, status_kind
from lifecycle_dash.web.rendering import status_severity
from lifecycle_dash.web.selectors import PROBLEM_STATUSES

CASES = [
    ("Running", StatusKind.RUNNING),
    ("Terminating", StatusKind.TERMINATING),
    ("Completed", StatusKind.DONE),
    ("Succeeded", StatusKind.DONE),
    ("NotReady", StatusKind.NOT_READY),
    ("Pending", StatusKind.PENDING),
    ("ContainerCreating", StatusKind.PENDING),
    ("PodInitializing", StatusKind.PENDING),
    ("SchedulingGated", StatusKind.PENDING),
    ("Init:0/2", StatusKind.PENDING),
    ("Init:1/2", StatusKind.PENDING),
    ("CrashLoopBackOff", StatusKind.CRASH),
    ("Error", StatusKind.CRASH),
    ("OOMKilled", StatusKind.CRASH),
    ("ImagePullBackOff", StatusKind.CRASH),
    ("ErrImagePull", StatusKind.CRASH),
    ("CreateContainerConfigError", StatusKind.CRASH),
    ("ContainerStatusUnknown", StatusKind.CRASH),
    ("Signal:9", StatusKind.CRASH),
    ("ExitCode:3", StatusKind.CRASH),
    ("Init:Error", StatusKind.CRASH),
    ("Init:CrashLoopBackOff", StatusKind.CRASH),
    ("Init:OOMKilled", StatusKind.CRASH),
    ("Init:ImagePullBackOff", StatusKind.CRASH),
    ("Init:CreateContainerError", StatusKind.CRASH),
    ("Init:Signal:15", StatusKind.CRASH),
    ("Init:ExitCode:1", StatusKind.CRASH),
    ("Evicted", StatusKind.FAILED),
    ("NodeLost", StatusKind.FAILED),
    ("Preempting", StatusKind.FAILED),
    ("DeadlineExceeded", StatusKind.FAILED),
    ("UnexpectedAdmissionError", StatusKind.FAILED),
    ("OutOfcpu", StatusKind.FAILED),
    ("OutOfmemory", StatusKind.FAILED),
    ("SomethingNew", StatusKind.OTHER),
]


@pytest.mark.parametrize(("status", "kind"), CASES)
def test_status_kinds(status: str, kind: StatusKind) -> None:
    assert status_kind(status) is kind


@pytest.mark.parametrize(("status", "kind"), CASES)
def test_badge_and_lane_agree(status: str, kind: StatusKind) -> None:
    severity = status_severity(status, "1/1")
    lane = status_class(status, True)
    if kind in (StatusKind.CRASH, StatusKind.FAILED):
        assert severity == "bad"
        assert lane in (StatusClass.CRASH, StatusClass.FAILED)
    elif kind is StatusKind.DONE:
        assert (severity, lane) == ("done", StatusClass.DONE)
    elif kind is StatusKind.RUNNING:
        assert (severity, lane) == ("ok", StatusClass.READY)
    elif kind is StatusKind.OTHER:
        assert severity == "unknown"
    else:
        assert severity == "warn"
        assert lane in (StatusClass.PENDING, StatusClass.TERMINATING, StatusClass.NOT_READY)


def test_running_but_not_ready_is_a_warning_on_both() -> None:
    assert status_severity("Running", "1/2") == "warn"
    assert status_class("Running", False) is StatusClass.NOT_READY


def test_every_problem_status_is_a_crash_or_a_failure() -> None:
    assert {status_kind(s) for s in PROBLEM_STATUSES} <= {StatusKind.CRASH, StatusKind.FAILED}
