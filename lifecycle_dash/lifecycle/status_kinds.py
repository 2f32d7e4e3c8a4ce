"""What a kubectl STATUS string means, in one place: the dashboard's badge colour, the
timeline's lane colour and the problem lists all read it from here, so the same STATUS never
looks healthy on one page and broken on the next.

The strings are the ones ``kubectl_columns`` prints (../shared/reference/kubectl-status.md):
a pod reason, a container's waiting or terminated reason (``Init:`` prefixed while
initializing), ``Signal:N`` / ``ExitCode:N`` for a reasonless exit, ``Init:N/M``,
``Completed``, ``Terminating``, ``NotReady``, ``Running``.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["StatusKind", "status_kind"]


class StatusKind(StrEnum):
    RUNNING = "running"  # whether it is Ready is the READY column's business
    NOT_READY = "not-ready"
    PENDING = "pending"  # on its way: scheduling, pulling, initializing
    CRASH = "crash"  # a container fails to start or keeps exiting
    FAILED = "failed"  # the pod itself failed or was evicted
    TERMINATING = "terminating"
    DONE = "done"  # finished as it should
    OTHER = "other"  # a reason this list does not know


# Container reasons that mean its process cannot run or keeps dying.
_CRASH = frozenset(
    {
        "CrashLoopBackOff",
        "Error",
        "OOMKilled",
        "ImagePullBackOff",
        "ErrImagePull",
        "ErrImageNeverPull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
        "ContainerStatusUnknown",
        "StartError",
    }
)
# The same, while initializing (init and sidecar containers).
_CRASH_PREFIXES = (
    "Init:Err",
    "Init:Crash",
    "Init:OOM",
    "Init:Image",
    "Init:Create",
    "Init:Run",
    "Init:Invalid",
    "Init:Signal:",
    "Init:ExitCode:",
    "Signal:",
    "ExitCode:",
)
# Pod reasons of a pod that failed as a whole (kubelet admission, eviction, node loss).
_FAILED = frozenset(
    {
        "Failed",
        "Evicted",
        "NodeLost",
        "Unknown",
        "DeadlineExceeded",
        "Preempting",
        "Shutdown",
        "Terminated",
        "UnexpectedAdmissionError",
        "NodeAffinity",
    }
)
_PENDING = frozenset({"Pending", "ContainerCreating", "PodInitializing", "SchedulingGated"})


def status_kind(status: str) -> StatusKind:
    """The kind of a kubectl STATUS string."""
    if status == "Running":
        return StatusKind.RUNNING
    if status == "Terminating":
        return StatusKind.TERMINATING
    if status in ("Completed", "Succeeded"):
        return StatusKind.DONE
    if status == "NotReady":
        return StatusKind.NOT_READY
    if status in _CRASH or status.startswith(_CRASH_PREFIXES):
        return StatusKind.CRASH
    if status in _FAILED or status.startswith("OutOf"):  # OutOfcpu, OutOfmemory, ...
        return StatusKind.FAILED
    if status in _PENDING or status.startswith("Init:"):  # Init:1/2 and other init waits
        return StatusKind.PENDING
    return StatusKind.OTHER
