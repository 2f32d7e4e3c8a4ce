"""The lifecycle projection shared by ``diff`` and ``state_of``.

Both sides must see a snapshot through the same lens (first condition of each type, first
status of each container name, messages blanked) or the fold contract in ``state`` breaks;
so the lens lives here, once. Also the JSON encoding of container states used in transition
details and decoded again by ``apply``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from lifecycle_dash.lifecycle.snapshot import (
    EMPTY_STATE,
    ContainerState,
    ContainerStatus,
    PodCondition,
    PodSnapshot,
    StateRunning,
    StateTerminated,
    StateWaiting,
)
from lifecycle_dash.lifecycle.timeparse import format_rfc3339, parse_rfc3339

# Free text kept in transition details is capped: a termination message can be 4 KiB.
MAX_DETAIL_TEXT = 1024


def first_conditions(snapshot: PodSnapshot) -> dict[str, PodCondition]:
    """Condition type -> the first condition of that type (the one kubectl and kubelet read)."""
    by_type: dict[str, PodCondition] = {}
    for cond in snapshot.conditions:
        if cond.type not in by_type:
            by_type[cond.type] = cond
    return by_type


def first_statuses(snapshot: PodSnapshot) -> dict[str, ContainerStatus]:
    """Container name -> its first status, init (incl. sidecars) before regular."""
    by_name: dict[str, ContainerStatus] = {}
    for status in snapshot.init_container_statuses:
        if status.name not in by_name:
            by_name[status.name] = status
    for status in snapshot.container_statuses:
        if status.name not in by_name:
            by_name[status.name] = status
    return by_name


def is_ready(conditions: Mapping[str, PodCondition]) -> bool:
    ready = conditions.get("Ready")
    return ready is not None and ready.status == "True"


def strip_terminated(term: StateTerminated | None) -> StateTerminated | None:
    if term is None or not term.message:
        return term
    return StateTerminated(
        term.exit_code,
        term.signal,
        term.reason,
        "",
        term.started_at,
        term.finished_at,
        term.container_id,
    )


def strip_state(state: ContainerState) -> ContainerState:
    """The state without free-text messages (what the state fold compares)."""
    if state.waiting is not None and state.waiting.message:
        return ContainerState(StateWaiting(state.waiting.reason), state.running, state.terminated)
    if state.terminated is not None and state.terminated.message:
        return ContainerState(state.waiting, state.running, strip_terminated(state.terminated))
    return state


def state_label(state: ContainerState | None) -> str | None:
    """The short value a CONTAINER_STATE transition carries: "waiting:CrashLoopBackOff"..."""
    if state is None:
        return None
    if state.terminated is not None:
        term = state.terminated
        return f"terminated:{term.reason}" if term.reason else f"terminated:exit={term.exit_code}"
    if state.running is not None:
        return "running"
    if state.waiting is not None and state.waiting.reason:
        return f"waiting:{state.waiting.reason}"
    return "waiting"


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    formatted = _ISO_CACHE.get(value)
    if formatted is None:
        if len(_ISO_CACHE) >= 65536:
            _ISO_CACHE.clear()
        formatted = _ISO_CACHE[value] = format_rfc3339(value)
    return formatted


# The same few instants (startedAt, finishedAt, lastTransitionTime) recur in every diff.
_ISO_CACHE: dict[datetime, str] = {}


def parse_time(value: Any) -> datetime | None:
    return parse_rfc3339(value) if isinstance(value, str) else None


def text(value: str) -> str:
    return value if len(value) <= MAX_DETAIL_TEXT else value[:MAX_DETAIL_TEXT]


def encode_terminated(term: StateTerminated | None) -> Mapping[str, Any] | None:
    """JSON-safe, read-only description of a termination, for transition details."""
    if term is None:
        return None
    return MappingProxyType(
        {
            "exit_code": term.exit_code,
            "signal": term.signal,
            "reason": term.reason,
            "message": text(term.message),
            "started_at": iso(term.started_at),
            "finished_at": iso(term.finished_at),
            "container_id": term.container_id,
        }
    )


def decode_terminated(data: Mapping[str, Any] | None) -> StateTerminated | None:
    """Inverse of ``encode_terminated`` with the message blanked (the state keeps no text)."""
    if data is None:
        return None
    return StateTerminated(
        data["exit_code"],
        data["signal"],
        data["reason"],
        "",
        parse_time(data["started_at"]),
        parse_time(data["finished_at"]),
        data["container_id"],
    )


def encode_state(state: ContainerState) -> dict[str, Any]:
    """JSON-safe description of a state (kind + its read-only fields), for transition details."""
    out: dict[str, Any] = {}
    if state.waiting is not None:
        out["waiting"] = MappingProxyType(
            {"reason": state.waiting.reason, "message": text(state.waiting.message)}
        )
    if state.running is not None:
        out["running"] = MappingProxyType({"started_at": iso(state.running.started_at)})
    if state.terminated is not None:
        out["terminated"] = encode_terminated(state.terminated)
    return out


def decode_state(data: Mapping[str, Any]) -> ContainerState:
    """Inverse of ``encode_state``, messages blanked."""
    if not data:
        return EMPTY_STATE
    waiting = data.get("waiting")
    running = data.get("running")
    return ContainerState(
        StateWaiting(waiting["reason"]) if waiting is not None else None,
        StateRunning(parse_time(running["started_at"])) if running is not None else None,
        decode_terminated(data.get("terminated")),
    )
