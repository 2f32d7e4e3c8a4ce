"""Diff two snapshots of one pod into typed transitions.

``diff(before, after, *, observed_at, deleted=False)`` is pure and deterministic: the same
input gives the same transitions in the same order. ``before=None`` is the first observation
(transitions from the empty state, starting with ``POD_CREATED``); ``after=None`` or
``deleted=True`` ends with ``DELETED`` (``after`` is then the last state the DELETED event
carried, if any).

Order of the output: POD_CREATED, NODE_ASSIGNED, POD_IP, PHASE, POD_REASON, CONDITION (in the
order of ``after``'s conditions, then vanished ones by type), POD_READY, then per container
(init and sidecars in API order, then regular): CONTAINER_RESTART / CONTAINER_RESTART_RESET /
CONTAINER_LAST_STATE, CONTAINER_STATE, CONTAINER_STARTED, CONTAINER_READY; vanished containers
by name; DELETION_REQUESTED / GRACE_SHORTENED, KUBECTL_STATUS, DELETED.

Restarts form a lossless ledger: a jump of ``restartCount`` from ``n`` to ``n + k`` yields ``k``
``CONTAINER_RESTART`` records numbered ``n+1 .. n+k``; the last carries the ``lastState`` seen
now, the earlier ones are marked ``in_gap`` with unknown termination details (their time is
only bounded by this observation). A gap wider than ``MAX_GAP_RECORDS`` is summarised by one
record covering the range (``gap_first``..``gap_last``) so a corrupt count cannot explode.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from operator import is_
from types import MappingProxyType
from typing import Any

from lifecycle_dash.lifecycle.frozen import fast_new
from lifecycle_dash.lifecycle.kubectl import kubectl_status, same_status
from lifecycle_dash.lifecycle.projection import (
    encode_state,
    encode_terminated,
    first_conditions,
    first_statuses,
    iso,
    state_label,
    strip_state,
    strip_terminated,
    text,
)
from lifecycle_dash.lifecycle.snapshot import (
    ContainerStatus,
    PodCondition,
    PodSnapshot,
    StateTerminated,
)
from lifecycle_dash.lifecycle.transitions import (
    JSONScalar,
    TimeSource,
    Transition,
    TransitionKind,
)

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_API = TimeSource.API
_OBSERVED = TimeSource.OBSERVED

__all__ = ["MAX_GAP_RECORDS", "diff"]

MAX_GAP_RECORDS = 500

K = TransitionKind


_new_transition = fast_new(Transition)


class _Emitter:
    """Builds transitions for one diff, sharing uid, receive time and key discriminator."""

    __slots__ = ("observed_at", "out", "prefix", "rv_key", "uid")

    def __init__(self, uid: str, rv: str, observed_at: datetime) -> None:
        self.uid = uid
        self.prefix = uid + "|"
        self.observed_at = observed_at
        self.rv_key = f"rv={rv}" if rv else f"observed={iso(observed_at)}"
        self.out: list[Transition] = []

    def emit(
        self,
        kind: TransitionKind,
        subject: str,
        old: JSONScalar,
        new: JSONScalar,
        api_time: datetime | None = None,
        detail: dict[str, Any] | None = None,  # values JSON-safe and immutable already
        key: str | None = None,
    ) -> None:
        # Positional: this runs for every transition and keyword parsing is measurable. The
        # key takes the kind's plain value: formatting the enum member itself goes through
        # Enum.__format__, three times the cost of the whole f-string.
        self.out.append(
            _new_transition(
                self.uid,
                kind,
                subject,
                old,
                new,
                self.observed_at,
                f"{self.prefix}{kind._value_}|{subject}|{self.rv_key if key is None else key}",
                api_time,
                _OBSERVED if api_time is None else _API,
                _EMPTY if detail is None else MappingProxyType(detail),
            )
        )


def diff(
    before: PodSnapshot | None,
    after: PodSnapshot | None,
    *,
    observed_at: datetime,
    deleted: bool = False,
) -> tuple[Transition, ...]:
    """Transitions that take ``before`` to ``after`` (see the module docstring)."""
    if after is None:
        if before is None:
            return ()
        deleted = True
        current = before
    else:
        current = after
        if before is not None and before.uid != after.uid:
            raise ValueError(f"diff across pods: {before.uid!r} -> {after.uid!r}")
    em = _Emitter(current.uid, current.resource_version, observed_at)

    if after is not None:
        if before is None:
            em.emit(
                K.POD_CREATED,
                "",
                None,
                iso(after.creation_timestamp),
                api_time=after.creation_timestamp,
                detail={
                    "namespace": after.namespace,
                    "name": after.name,
                    "owner_kind": after.owner_kind,
                    "owner_name": after.owner_name,
                },
                key="created",
            )
            before = PodSnapshot(uid=after.uid)
        if before is not after:
            _diff_pod(em, before, after)

    if deleted:
        em.emit(K.DELETED, "", False, True, detail={"final_state_known": after is not None}, key="")
    return tuple(em.out)


def _diff_pod(em: _Emitter, before: PodSnapshot, after: PodSnapshot) -> None:
    # Parts a SnapshotCache reused are the same objects, so most checks below end at an
    # identity comparison (``is`` first: the previous snapshot has usually left the CPU
    # caches, and an identity test does not read the objects compared).
    if before.node_name is not after.node_name and before.node_name != after.node_name:
        scheduled = after.condition("PodScheduled")
        em.emit(
            K.NODE_ASSIGNED,
            "",
            before.node_name,
            after.node_name,
            api_time=scheduled.last_transition_time
            if scheduled is not None and scheduled.status == "True" and after.node_name
            else None,
        )
    if before.pod_ips is not after.pod_ips and before.pod_ips != after.pod_ips:
        em.emit(K.POD_IP, "", before.pod_ip, after.pod_ip, detail={"pod_ips": after.pod_ips})
    phase_changed = before.phase is not after.phase and before.phase != after.phase
    if phase_changed:
        em.emit(K.PHASE, "", before.phase, after.phase)
    reason_changed = before.reason is not after.reason and before.reason != after.reason
    if reason_changed:
        em.emit(
            K.POD_REASON, "", before.reason, after.reason, detail={"message": text(after.message)}
        )

    conditions_changed = _changed(before.conditions, after.conditions)
    if conditions_changed:
        conds_before = first_conditions(before)
        conds_after = first_conditions(after)
        for type_, cond in conds_after.items():
            was = conds_before.get(type_)
            if was is not cond:
                _diff_condition(em, type_, was, cond)
        for type_ in sorted(conds_before.keys() - conds_after.keys()):
            _diff_condition(em, type_, conds_before[type_], None)
        ready = conds_after.get("Ready")
        was = conds_before.get("Ready")
        ready_before = was is not None and was.status == "True"
        ready_after = ready is not None and ready.status == "True"
        if ready_before != ready_after:
            moved = ready is not None and (
                was is None or was.last_transition_time != ready.last_transition_time
            )
            em.emit(
                K.POD_READY,
                "",
                ready_before,
                ready_after,
                # as for CONDITION: the API time only when the condition's time moved
                ready.last_transition_time if moved and ready is not None else None,
                {"reason": ready.reason if ready is not None else ""},
            )

    statuses_changed = _changed(
        before.init_container_statuses, after.init_container_statuses
    ) or _changed(before.container_statuses, after.container_statuses)
    if statuses_changed:
        statuses_before = first_statuses(before)
        statuses_after = first_statuses(after)
        for name, status in statuses_after.items():
            was_status = statuses_before.get(name)
            if was_status is not status:
                _diff_container(em, was_status, status)
        for name in sorted(statuses_before.keys() - statuses_after.keys()):
            old = statuses_before[name]
            em.emit(
                K.CONTAINER_STATE,
                name,
                state_label(old.state),
                None,
                detail={"role": str(old.role)},
            )

    _diff_deletion(em, before, after)

    # STATUS reads only these fields: when none changed, neither did STATUS.
    if (
        conditions_changed
        or statuses_changed
        or phase_changed
        or reason_changed
        or (before.deletion_timestamp is None) != (after.deletion_timestamp is None)
        or _changed(before.init_containers, after.init_containers)
        or len(before.containers) != len(after.containers)
    ):
        status_before = kubectl_status(before)
        status_after = kubectl_status(after)
        if status_before != status_after:
            em.emit(K.KUBECTL_STATUS, "", status_before, status_after)
    else:
        same_status(before, after)


def _changed(old: tuple[Any, ...], new: tuple[Any, ...]) -> bool:
    """False when ``old`` and ``new`` hold the very same items; True when they may differ.

    Identity only: a SnapshotCache shares the items it did not read again, and one it did
    read again has almost always changed. A True for equal items costs time, not output:
    every check it leads to compares values (each condition, each container) before
    emitting, and the STATUS it recomputes is the same. Comparing values here as well
    (dataclass ``__eq__``, Python code per item) would be paid on every real change.
    """
    if old is new:
        return False
    return len(old) != len(new) or not all(map(is_, old, new))


def _diff_condition(
    em: _Emitter, type_: str, old: PodCondition | None, new: PodCondition | None
) -> None:
    if (
        old is not None
        and new is not None
        and (
            old.status == new.status
            and old.reason == new.reason
            and old.last_transition_time == new.last_transition_time
        )
    ):
        return
    if new is None:
        assert old is not None
        em.emit(K.CONDITION, type_, old.status, None, detail={"old_reason": old.reason})
        return
    moved = old is None or old.last_transition_time != new.last_transition_time
    em.emit(
        K.CONDITION,
        type_,
        old.status if old is not None else None,
        new.status,
        api_time=new.last_transition_time if moved else None,
        detail={
            "reason": new.reason,
            "message": text(new.message),
            "last_transition_time": iso(new.last_transition_time),
            "old_reason": old.reason if old is not None else None,
        },
    )


def _empty_status(after: ContainerStatus) -> ContainerStatus:
    return ContainerStatus(after.name, after.role)


def _diff_container(em: _Emitter, old: ContainerStatus | None, new: ContainerStatus) -> None:
    # No ``old == new`` shortcut: callers pass only statuses that are not the same object,
    # which a SnapshotCache makes nearly always changed ones, and every check below
    # compares values before emitting.
    if old is new:
        return
    appeared = old is None
    if old is None:
        old = _empty_status(new)
    name = new.name
    role = str(new.role)

    old_last = strip_terminated(old.last_state.terminated)
    new_last_full = new.last_state.terminated
    new_last = strip_terminated(new_last_full)
    if new.restart_count > old.restart_count:
        _restarts(em, name, role, old.restart_count, new.restart_count, new_last_full)
    elif new.restart_count < old.restart_count:
        em.emit(
            K.CONTAINER_RESTART_RESET,
            name,
            old.restart_count,
            new.restart_count,
            detail={
                "role": role,
                "restart": new.restart_count,
                "last_state": encode_terminated(new_last_full),
            },
        )
    elif old_last != new_last:
        em.emit(
            K.CONTAINER_LAST_STATE,
            name,
            _terminated_label(old_last),
            _terminated_label(new_last),
            api_time=new_last.finished_at if new_last is not None else None,
            detail={"role": role, "last_state": encode_terminated(new_last_full)},
        )

    old_state = strip_state(old.state)
    new_state = strip_state(new.state)
    if appeared or old_state != new_state or old.role is not new.role:
        api_time = None
        if new_state.terminated is not None:
            api_time = new_state.terminated.finished_at
        elif new_state.running is not None:
            api_time = new_state.running.started_at
        detail = {"role": role, **encode_state(new.state)}
        em.emit(
            K.CONTAINER_STATE,
            name,
            None if appeared else state_label(old.state),
            state_label(new.state),
            api_time=api_time,
            detail=detail,
        )
    if bool(old.started) != bool(new.started):
        em.emit(
            K.CONTAINER_STARTED, name, bool(old.started), bool(new.started), detail={"role": role}
        )
    if old.ready != new.ready:
        em.emit(K.CONTAINER_READY, name, old.ready, new.ready, detail={"role": role})


def _terminated_label(term: StateTerminated | None) -> str | None:
    if term is None:
        return None
    return term.reason or f"exit={term.exit_code}"


def _restarts(
    em: _Emitter,
    name: str,
    role: str,
    old_count: int,
    new_count: int,
    last: StateTerminated | None,
) -> None:
    # Keys: the restart number alone would repeat after a restartCount reset (node reboot),
    # so each is anchored on the termination this jump ends with (its finishedAt; else the
    # resourceVersion): a replay gives the same keys, a later restart with a reused number
    # does not.
    finished = last.finished_at if last is not None else None
    anchor = f"@{iso(finished)}" if finished is not None else f"@{em.rv_key}"
    first_gap = max(old_count + 1, 1)
    last_gap = new_count - 1
    if last_gap - first_gap + 1 > MAX_GAP_RECORDS:
        em.emit(
            K.CONTAINER_RESTART,
            name,
            first_gap - 1,
            last_gap,
            detail={
                "role": role,
                "restart": last_gap,
                "in_gap": True,
                "gap_first": first_gap,
                "gap_last": last_gap,
                "last_state": None,
            },
            key=f"restart={first_gap}-{last_gap}{anchor}",
        )
    else:
        for number in range(first_gap, last_gap + 1):
            em.emit(
                K.CONTAINER_RESTART,
                name,
                number - 1,
                number,
                detail={"role": role, "restart": number, "in_gap": True, "last_state": None},
                key=f"restart={number}{anchor}",
            )
    em.emit(
        K.CONTAINER_RESTART,
        name,
        new_count - 1,
        new_count,
        api_time=last.finished_at if last is not None else None,
        detail={
            "role": role,
            "restart": new_count,
            "in_gap": False,
            "last_state": encode_terminated(last),
        },
        key=f"restart={new_count}{anchor}",
    )


def _diff_deletion(em: _Emitter, before: PodSnapshot, after: PodSnapshot) -> None:
    if (
        before.deletion_timestamp is after.deletion_timestamp
        or before.deletion_timestamp == after.deletion_timestamp
    ) and before.deletion_grace_period_seconds == after.deletion_grace_period_seconds:
        return
    detail = {
        "deletion_timestamp": iso(after.deletion_timestamp),
        "grace_period_seconds": after.deletion_grace_period_seconds,
        "requested_at": iso(after.deletion_requested_at),
    }
    if before.deletion_timestamp is None:
        requested = after.deletion_requested_at
        em.emit(
            K.DELETION_REQUESTED,
            "",
            None,
            iso(after.deletion_timestamp),
            api_time=requested,
            detail=detail,
            key=f"requested={iso(requested)}",
        )
        return
    # Already being deleted: a later DELETE may only shorten the grace (reference §3.1).
    # Anything else here (a cleared or lengthened deletion) is not something the API does,
    # but it is recorded the same way so the state fold stays exact.
    em.emit(
        K.GRACE_SHORTENED,
        "",
        before.deletion_grace_period_seconds,
        after.deletion_grace_period_seconds,
        detail=detail,
    )
