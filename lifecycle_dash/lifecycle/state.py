"""``PodState``: the lifecycle projection of a pod that transitions fold into.

``state_of(snapshot)`` projects a snapshot; ``apply(state, transitions)`` folds transitions
(from ``diff``) into a state. The contract, pinned by property tests:

    apply(state_of(A), diff(A, B) + diff(B, C)) == apply(state_of(A), diff(A, C)) == state_of(C)
    apply(None, diff(None, C)) == state_of(C)

so the stored transition history alone rebuilds the pod's lifecycle state at any instant.
Free text (messages) is kept out of the state; transitions carry it in their detail.

Types (frozen dataclasses with slots):

``PodState``
    ``uid``, ``namespace``, ``name``, ``created_at``, ``phase``, ``reason``, ``node_name``,
    ``pod_ips``, ``conditions`` (tuple of ``ConditionState`` sorted by type), ``ready`` (the Ready
    condition is True), ``containers`` (tuple of ``ContainerLifecycle`` sorted by name),
    ``deletion_timestamp``, ``deletion_grace_period_seconds``, ``kubectl_status``, ``deleted``.
``ConditionState``
    ``type``, ``status``, ``reason``, ``last_transition_time``.
``ContainerLifecycle``
    ``name``, ``role``, ``state`` (``ContainerState`` with messages blanked), ``restart_count``,
    ``last_terminated`` (``StateTerminated`` of lastState, message blanked, or None),
    ``started``, ``ready``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from lifecycle_dash.lifecycle.kubectl import kubectl_status
from lifecycle_dash.lifecycle.projection import (
    decode_state,
    decode_terminated,
    first_conditions,
    first_statuses,
    is_ready,
    parse_time,
    strip_state,
    strip_terminated,
)
from lifecycle_dash.lifecycle.snapshot import (
    EMPTY_STATE,
    ContainerRole,
    ContainerState,
    PodSnapshot,
    StateTerminated,
)
from lifecycle_dash.lifecycle.transitions import Transition, TransitionKind

K = TransitionKind

__all__ = ["ConditionState", "ContainerLifecycle", "PodState", "apply", "state_of"]


@dataclass(frozen=True, slots=True)
class ConditionState:
    type: str
    status: str
    reason: str = ""
    last_transition_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class ContainerLifecycle:
    name: str
    role: ContainerRole
    state: ContainerState = EMPTY_STATE
    restart_count: int = 0
    last_terminated: StateTerminated | None = None
    started: bool = False
    ready: bool = False


@dataclass(frozen=True, slots=True)
class PodState:
    uid: str
    namespace: str = ""
    name: str = ""
    created_at: datetime | None = None
    phase: str = ""
    reason: str = ""
    node_name: str = ""
    pod_ips: tuple[str, ...] = ()
    conditions: tuple[ConditionState, ...] = ()
    ready: bool = False
    containers: tuple[ContainerLifecycle, ...] = ()
    deletion_timestamp: datetime | None = None
    deletion_grace_period_seconds: int | None = None
    kubectl_status: str = ""
    deleted: bool = False


def state_of(snapshot: PodSnapshot) -> PodState:
    """Project a snapshot onto the lifecycle state (not deleted: a snapshot is a live object)."""
    conditions = first_conditions(snapshot)
    return PodState(
        uid=snapshot.uid,
        namespace=snapshot.namespace,
        name=snapshot.name,
        created_at=snapshot.creation_timestamp,
        phase=snapshot.phase,
        reason=snapshot.reason,
        node_name=snapshot.node_name,
        pod_ips=snapshot.pod_ips,
        conditions=tuple(
            ConditionState(c.type, c.status, c.reason, c.last_transition_time)
            for _, c in sorted(conditions.items())
        ),
        ready=is_ready(conditions),
        containers=tuple(
            ContainerLifecycle(
                s.name,
                s.role,
                strip_state(s.state),
                s.restart_count,
                strip_terminated(s.last_state.terminated),
                bool(s.started),
                s.ready,
            )
            for _, s in sorted(first_statuses(snapshot).items())
        ),
        deletion_timestamp=snapshot.deletion_timestamp,
        deletion_grace_period_seconds=snapshot.deletion_grace_period_seconds,
        kubectl_status=kubectl_status(snapshot),
    )


def apply(state: PodState | None, transitions: Iterable[Transition]) -> PodState:
    """Fold transitions (in order) into a state; ``None`` starts from the empty state.

    Transitions of another pod are a programming error and raise ``ValueError``.
    """
    folder = _Folder(state)
    for transition in transitions:
        folder.apply(transition)
    return folder.result()


class _Folder:
    """Mutable working copy of a PodState while a batch of transitions is folded."""

    def __init__(self, state: PodState | None) -> None:
        self.base = state
        self.fields: dict[str, Any] = {}
        self.conditions: dict[str, ConditionState] | None = None
        self.containers: dict[str, ContainerLifecycle] | None = None

    def _conditions(self) -> dict[str, ConditionState]:
        if self.conditions is None:
            base = self.base.conditions if self.base is not None else ()
            self.conditions = {c.type: c for c in base}
        return self.conditions

    def _containers(self) -> dict[str, ContainerLifecycle]:
        if self.containers is None:
            base = self.base.containers if self.base is not None else ()
            self.containers = {c.name: c for c in base}
        return self.containers

    def _container(self, t: Transition) -> ContainerLifecycle:
        containers = self._containers()
        current = containers.get(t.subject)
        if current is None:
            current = ContainerLifecycle(t.subject, ContainerRole(t.detail["role"]))
        return current

    def _put(self, container: ContainerLifecycle) -> None:
        self._containers()[container.name] = container

    def apply(self, t: Transition) -> None:
        uid = self.fields.get("uid", self.base.uid if self.base is not None else None)
        if uid is None:
            self.fields["uid"] = t.pod_uid
        elif uid != t.pod_uid:
            raise ValueError(f"transition of pod {t.pod_uid!r} applied to {uid!r}")
        kind = t.kind
        d = t.detail
        if kind is K.POD_CREATED:
            self.fields.update(
                namespace=d["namespace"], name=d["name"], created_at=parse_time(t.new)
            )
        elif kind is K.PHASE:
            self.fields["phase"] = t.new
        elif kind is K.POD_REASON:
            self.fields["reason"] = t.new
        elif kind is K.NODE_ASSIGNED:
            self.fields["node_name"] = t.new
        elif kind is K.POD_IP:
            self.fields["pod_ips"] = tuple(d["pod_ips"])
        elif kind is K.CONDITION:
            if t.new is None:
                self._conditions().pop(t.subject, None)
            else:
                self._conditions()[t.subject] = ConditionState(
                    t.subject, str(t.new), d["reason"], parse_time(d["last_transition_time"])
                )
        elif kind is K.POD_READY:
            self.fields["ready"] = t.new
        elif kind is K.CONTAINER_STATE:
            if t.new is None:
                self._containers().pop(t.subject, None)
            else:
                c = self._container(t)
                self._put(replace(c, role=ContainerRole(d["role"]), state=decode_state(d)))
        elif kind is K.CONTAINER_RESTART:
            c = self._container(t)
            count = int(d["restart"])
            if d["in_gap"]:
                self._put(replace(c, restart_count=count))
            else:
                last = decode_terminated(d["last_state"])
                self._put(replace(c, restart_count=count, last_terminated=last))
        elif kind is K.CONTAINER_RESTART_RESET:
            c = self._container(t)
            last = decode_terminated(d["last_state"])
            self._put(replace(c, restart_count=int(d["restart"]), last_terminated=last))
        elif kind is K.CONTAINER_LAST_STATE:
            c = self._container(t)
            self._put(replace(c, last_terminated=decode_terminated(d["last_state"])))
        elif kind is K.CONTAINER_STARTED:
            self._put(replace(self._container(t), started=bool(t.new)))
        elif kind is K.CONTAINER_READY:
            self._put(replace(self._container(t), ready=bool(t.new)))
        elif kind is K.DELETION_REQUESTED or kind is K.GRACE_SHORTENED:
            self.fields["deletion_timestamp"] = parse_time(d["deletion_timestamp"])
            self.fields["deletion_grace_period_seconds"] = d["grace_period_seconds"]
        elif kind is K.KUBECTL_STATUS:
            self.fields["kubectl_status"] = t.new
        elif kind is K.DELETED:
            self.fields["deleted"] = True

    def result(self) -> PodState:
        fields = self.fields
        if self.conditions is not None:
            fields["conditions"] = tuple(c for _, c in sorted(self.conditions.items()))
        if self.containers is not None:
            fields["containers"] = tuple(c for _, c in sorted(self.containers.items()))
        if self.base is not None:
            return replace(self.base, **fields) if fields else self.base
        return PodState(**{"uid": "", **fields})
