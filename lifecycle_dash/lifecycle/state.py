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
from dataclasses import dataclass
from datetime import datetime

from lifecycle_dash.lifecycle.snapshot import (
    EMPTY_STATE,
    ContainerRole,
    ContainerState,
    PodSnapshot,
    StateTerminated,
)
from lifecycle_dash.lifecycle.transitions import Transition

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
    raise NotImplementedError


def apply(state: PodState | None, transitions: Iterable[Transition]) -> PodState:
    raise NotImplementedError
