"""The columns ``kubectl get pods [-o wide]`` prints, rule for rule.

The single source of STATUS / READY / RESTARTS / AGE in the product (simulator Table output,
dashboard, timeline). Follows shared/reference/kubectl-status.md (kubectl's ``printPod``).

``kubectl_columns(pod, *, now)`` accepts a ``PodSnapshot`` or a raw pod dict and returns
``KubectlColumns``: ``status``, ``ready``, ``restarts``, ``age`` and the wide-only ``ip``,
``node``, ``nominated_node``, ``readiness_gates``, all strings exactly as kubectl prints them,
plus the numbers behind them (``ready_count``, ``ready_total``, ``restart_count``,
``last_restart_at``) for sorting and for re-rendering the restart age at another ``now``.
``kubectl_status(snapshot)`` is the STATUS alone (it does not depend on ``now``).
``format_age(delta)`` is kubectl's ``HumanDuration`` / ``translateTimestampSince`` formatting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lifecycle_dash.lifecycle.frozen import fast_new
from lifecycle_dash.lifecycle.snapshot import ContainerRole, PodSnapshot, snapshot_from_pod

__all__ = [
    "KubectlColumns",
    "format_age",
    "kubectl_columns",
    "kubectl_status",
    "translate_timestamp_since",
]


@dataclass(frozen=True, slots=True)
class KubectlColumns:
    """One row of ``kubectl get pods -o wide`` (NAME and NAMESPACE are the caller's)."""

    status: str
    ready: str
    restarts: str
    age: str
    ip: str
    node: str
    nominated_node: str
    readiness_gates: str
    # The numbers behind READY and RESTARTS, for sorting and for rendering the restart age
    # later (RESTARTS embeds an age relative to ``now``; these do not depend on it).
    ready_count: int = 0
    ready_total: int = 0
    restart_count: int = 0
    last_restart_at: datetime | None = None  # the finishedAt the "(<age> ago)" counts from


def format_age(delta: timedelta) -> str:
    """Format an elapsed time like kubectl's AGE column (``duration.HumanDuration``).

    Integer truncation throughout; up to 1 s in the future reads ``0s`` (clock skew), more is
    ``<invalid>``. Bands: ``<s>s`` under 2 minutes, ``<m>m<s>s`` under 10 minutes, ``<m>m``
    under 3 hours, ``<h>h<m>m`` under 8 hours, ``<h>h`` under 2 days, ``<d>d<h>h`` under 8
    days, ``<d>d`` under 2 years, ``<y>y<d>d`` under 8 years, then ``<y>y`` (365-day years).
    """
    micros = delta // _MICROSECOND
    # Go's int(d.Seconds()) truncates toward zero: -1.9 s is -1 s, which still reads "0s".
    seconds = micros // 1_000_000 if micros >= 0 else -((-micros) // 1_000_000)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        h = hours % 24
        return f"{days}d" if h == 0 else f"{days}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    years = days // 365
    if hours < 24 * 365 * 8:
        d = days % 365
        return f"{years}y" if d == 0 else f"{years}y{d}d"
    return f"{years}y"


_MICROSECOND = timedelta(microseconds=1)


def translate_timestamp_since(timestamp: datetime | None, *, now: datetime) -> str:
    """kubectl's ``translateTimestampSince``: ``<unknown>`` for no time, else ``format_age``."""
    if timestamp is None or timestamp == _GO_ZERO_TIME:
        return "<unknown>"
    return format_age(now - timestamp)


# Go's zero time.Time; kubectl treats it like a missing time (IsZero).
_GO_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class _Printed:
    status: str
    ready: int
    total: int
    restarts: int
    last_restart: datetime | None


# diff() works out a STATUS for most pod updates: plain stores instead of the frozen
# dataclass's guarded ones, and the enum member read once (an Enum class attribute lookup
# goes through its metaclass, several times slower than a module global).
_new_printed = fast_new(_Printed)
_SIDECAR = ContainerRole.SIDECAR


def _later(current: datetime | None, candidate: datetime | None) -> datetime | None:
    if candidate is None or candidate == _GO_ZERO_TIME:
        return current  # a null or zero time never wins
    if current is None or candidate > current:
        return candidate
    return current


def _print_pod(pod: PodSnapshot) -> _Printed:
    """STATUS, READY and RESTARTS exactly as kubectl's printPod derives them.

    Section numbers refer to shared/reference/kubectl-status.md.
    """
    # §1 starting point
    total = len(pod.containers)
    sidecars: set[str] = set()
    for c in pod.init_containers:
        if c.role is _SIDECAR:
            total += 1
            sidecars.add(c.name)
    reason = pod.reason or pod.phase
    for cond in pod.conditions:
        if cond.type == "PodScheduled" and cond.reason == "SchedulingGated":
            reason = "SchedulingGated"
    restarts = sidecar_restarts = ready = 0
    last_restart: datetime | None = None
    last_sidecar_restart: datetime | None = None

    # §2 init-container pass
    initializing = False
    init_total = len(pod.init_containers)
    for i, status in enumerate(pod.init_container_statuses):
        restarts += status.restart_count
        last_term = status.last_state.terminated
        finished = last_term.finished_at if last_term is not None else None
        last_restart = _later(last_restart, finished)
        is_sidecar = status.name in sidecars  # unknown names are plain init containers
        if is_sidecar:
            sidecar_restarts += status.restart_count
            last_sidecar_restart = _later(last_sidecar_restart, finished)
        state = status.state
        terminated = state.terminated
        if terminated is not None and terminated.exit_code == 0:
            continue
        if is_sidecar and status.started:
            if status.ready:
                ready += 1
            continue
        initializing = True
        if terminated is not None:
            if terminated.reason:
                reason = "Init:" + terminated.reason
            elif terminated.signal != 0:
                reason = f"Init:Signal:{terminated.signal}"
            else:
                reason = f"Init:ExitCode:{terminated.exit_code}"
        elif (
            state.waiting is not None
            and state.waiting.reason
            and state.waiting.reason != "PodInitializing"
        ):
            reason = "Init:" + state.waiting.reason
        else:
            reason = f"Init:{i}/{init_total}"
        break

    # §3 regular-container pass
    initialized = pod.condition("Initialized")
    if not initializing or (initialized is not None and initialized.status == "True"):
        restarts = sidecar_restarts
        last_restart = last_sidecar_restart
        has_running = False
        for status in reversed(pod.container_statuses):
            restarts += status.restart_count
            last_term = status.last_state.terminated
            if last_term is not None:
                last_restart = _later(last_restart, last_term.finished_at)
            state = status.state
            terminated = state.terminated
            if state.waiting is not None and state.waiting.reason:
                reason = state.waiting.reason
            elif terminated is not None and terminated.reason:
                reason = terminated.reason
            elif terminated is not None:
                if terminated.signal != 0:
                    reason = f"Signal:{terminated.signal}"
                else:
                    reason = f"ExitCode:{terminated.exit_code}"
            elif status.ready and state.running is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            pod_ready = any(c.type == "Ready" and c.status == "True" for c in pod.conditions)
            reason = "Running" if pod_ready else "NotReady"

    # §4 deletion overrides
    if pod.deletion_timestamp is not None:
        if pod.reason == "NodeLost":
            reason = "Unknown"
        elif pod.phase not in ("Succeeded", "Failed"):
            reason = "Terminating"
    return _new_printed(reason, ready, total, restarts, last_restart)


def kubectl_status(pod: PodSnapshot) -> str:
    """The STATUS column alone (independent of the current time)."""
    # diff() asks for the STATUS of both snapshots, and each snapshot of a stream is the
    # "after" of one diff and the "before" of the next: remember the last few by identity.
    # The entry holds the snapshot itself, so its id cannot be reused while remembered.
    status = _remembered(pod)
    if status is None:
        status = _print_pod(pod).status
        _remember(pod, status)
    return status


def same_status(known: PodSnapshot, other: PodSnapshot) -> None:
    """Note that ``other`` has the STATUS of ``known`` (a caller that checked the inputs)."""
    status = _remembered(known)
    if status is not None:
        _remember(other, status)


def _remembered(pod: PodSnapshot) -> str | None:
    key = id(pod)
    hit = _status_recent.get(key)
    if hit is None:
        hit = _status_older.get(key)
    if hit is not None and hit[0] is pod:
        return hit[1]
    return None


def _remember(pod: PodSnapshot, status: str) -> None:
    # Two generations instead of evicting the oldest entry one by one: deleting a dict's
    # first entry leaves a hole that every later ``next(iter(d))`` walks over again, so an
    # oldest-first eviction costs a scan of up to a thousand slots per call (about 2 us);
    # dropping a whole generation at once is O(1) per entry. The last
    # ``_STATUS_MEMO_SIZE`` (to twice that) snapshots stay remembered.
    global _status_recent, _status_older
    if len(_status_recent) >= _STATUS_MEMO_SIZE:
        _status_older = _status_recent
        _status_recent = {}
    _status_recent[id(pod)] = (pod, status)


_status_recent: dict[int, tuple[PodSnapshot, str]] = {}
_status_older: dict[int, tuple[PodSnapshot, str]] = {}
_STATUS_MEMO_SIZE = 4096


def _readiness_gates(pod: PodSnapshot) -> str:
    if not pod.readiness_gates:
        return "<none>"
    true_count = 0
    for gate in pod.readiness_gates:
        cond = pod.condition(gate)  # the first condition of the gate's type decides
        if cond is not None and cond.status == "True":
            true_count += 1
    return f"{true_count}/{len(pod.readiness_gates)}"


def kubectl_columns(pod: PodSnapshot | Mapping[str, Any], *, now: datetime) -> KubectlColumns:
    """The columns ``kubectl get pods -o wide`` prints for this pod at ``now`` (aware UTC).

    ``pod`` is a ``PodSnapshot`` or a raw pod dict (converted with ``snapshot_from_pod``).
    """
    snapshot = pod if isinstance(pod, PodSnapshot) else snapshot_from_pod(pod)
    printed = _print_pod(snapshot)
    restarts = str(printed.restarts)
    if printed.restarts != 0 and printed.last_restart is not None:
        restarts = f"{restarts} ({format_age(now - printed.last_restart)} ago)"
    return KubectlColumns(
        status=printed.status,
        ready=f"{printed.ready}/{printed.total}",
        restarts=restarts,
        age=translate_timestamp_since(snapshot.creation_timestamp, now=now),
        ip=snapshot.pod_ip or "<none>",
        node=snapshot.node_name or "<none>",
        nominated_node=snapshot.nominated_node_name or "<none>",
        readiness_gates=_readiness_gates(snapshot),
        ready_count=printed.ready,
        ready_total=printed.total,
        restart_count=printed.restarts,
        last_restart_at=printed.last_restart,
    )
