"""Compact, immutable, redacted snapshots of a pod: what the lifecycle needs and nothing more.

Types (all frozen dataclasses with ``__slots__``; sequences are tuples, never lists):

``PodSnapshot``
    One observation of one pod. Identity (``uid``, ``namespace``, ``name``, ``owner_kind``,
    ``owner_name`` of the *controller* ownerReference, ``node_name``, ``pod_ips``, ``qos_class``,
    ``labels`` as sorted ``(key, value)`` pairs), ``resource_version``, ``creation_timestamp``,
    ``phase``, pod ``reason`` / ``message``, ``nominated_node_name``, ``readiness_gates`` (condition
    types), ``conditions`` (``PodCondition``), ``init_container_statuses`` (plain init containers
    AND sidecars, in API order, each tagged with its ``role``), ``container_statuses`` (regular
    containers), ``deletion_timestamp`` / ``deletion_grace_period_seconds``,
    ``termination_grace_period_seconds``, ``restart_policy``, the spec side of each container
    (``init_containers`` / ``containers``: ``ContainerSpec``) and ``problems``: human-readable
    strings naming every field that was missing where required, of the wrong type or unparseable.
    Empty strings stand for "absent" in string fields; ``None`` for absent times and numbers.
    Helpers: ``condition(type)`` (first condition of that type), ``container_spec(name)``,
    ``container_status(name)``, ``sidecar_statuses``, ``all_container_statuses``,
    ``deletion_requested_at`` (deletionTimestamp - deletionGracePeriodSeconds, reference §3.1),
    ``labels_dict()``, ``pod_ip``.

``ContainerStatus``
    ``name``, ``role`` (``ContainerRole``: init / sidecar / regular), ``state`` and ``last_state``
    (``ContainerState``), ``restart_count``, ``started`` (None = not reported), ``ready``,
    ``container_id``, ``image``, ``image_id``.

``ContainerState``
    ``waiting`` (``StateWaiting``: reason, message) | ``running`` (``StateRunning``: started_at) |
    ``terminated`` (``StateTerminated``: exit_code, signal, reason, message, started_at,
    finished_at, container_id); at most one is set. ``kind`` gives a ``StateKind``; a state with
    none set is ``StateKind.WAITING`` as the API defines, ``ContainerState.EMPTY`` is that value.

``ContainerSpec``
    ``name``, ``role``, ``image``, ``restart_policy`` (the container-level one: "Always" on a
    sidecar), ``post_start`` / ``pre_stop`` (``Hook``: kind + ``sleep_seconds`` when the hook is
    a ``sleep`` action or an exec of literally ``sleep N`` / ``sh -c "sleep N"``), and
    ``liveness_probe`` / ``readiness_probe`` / ``startup_probe`` (``Probe``: mechanism and the
    timing fields with the API defaults applied).

Redaction by construction: env, command lines, args, secret / configMap references, volumes and
annotations are never read, so they cannot leak into a snapshot, its repr or storage.

Timestamps are timezone-aware UTC ``datetime``s (RFC 3339 input, see ``timeparse``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

__all__ = [
    "EMPTY_STATE",
    "ContainerRole",
    "ContainerSpec",
    "ContainerState",
    "ContainerStatus",
    "Hook",
    "HookKind",
    "PodCondition",
    "PodSnapshot",
    "Probe",
    "ProbeMechanism",
    "StateKind",
    "StateRunning",
    "StateTerminated",
    "StateWaiting",
    "snapshot_from_pod",
]


class ContainerRole(StrEnum):
    """Where a container sits in the pod."""

    INIT = "init"
    SIDECAR = "sidecar"  # an init container with restartPolicy: Always
    REGULAR = "regular"


class StateKind(StrEnum):
    WAITING = "waiting"
    RUNNING = "running"
    TERMINATED = "terminated"


class HookKind(StrEnum):
    EXEC = "exec"
    HTTP_GET = "httpGet"
    TCP_SOCKET = "tcpSocket"
    SLEEP = "sleep"
    UNKNOWN = "unknown"  # a handler present but of no kind we know


class ProbeMechanism(StrEnum):
    EXEC = "exec"
    HTTP_GET = "httpGet"
    TCP_SOCKET = "tcpSocket"
    GRPC = "grpc"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class StateWaiting:
    reason: str = ""
    message: str = ""


@dataclass(frozen=True, slots=True)
class StateRunning:
    started_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StateTerminated:
    exit_code: int = 0
    signal: int = 0
    reason: str = ""
    message: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    container_id: str = ""


@dataclass(frozen=True, slots=True)
class ContainerState:
    """One of waiting / running / terminated (the API's "none set" reads as waiting)."""

    waiting: StateWaiting | None = None
    running: StateRunning | None = None
    terminated: StateTerminated | None = None

    @property
    def kind(self) -> StateKind:
        if self.terminated is not None:
            return StateKind.TERMINATED
        if self.running is not None:
            return StateKind.RUNNING
        return StateKind.WAITING

    @property
    def is_empty(self) -> bool:
        return self.waiting is None and self.running is None and self.terminated is None


# The shared "nothing reported" value (ContainerState() == EMPTY_STATE as well).
EMPTY_STATE = ContainerState()


@dataclass(frozen=True, slots=True)
class Hook:
    kind: HookKind
    sleep_seconds: int | None = None  # set for a sleep action or a literal `sleep N` exec


@dataclass(frozen=True, slots=True)
class Probe:
    """A probe's mechanism and timing, API defaults applied (command lines never kept)."""

    mechanism: ProbeMechanism
    initial_delay_seconds: int = 0
    period_seconds: int = 10
    timeout_seconds: int = 1
    failure_threshold: int = 3
    success_threshold: int = 1
    termination_grace_period_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    name: str
    role: ContainerRole
    image: str = ""
    restart_policy: str = ""
    post_start: Hook | None = None
    pre_stop: Hook | None = None
    liveness_probe: Probe | None = None
    readiness_probe: Probe | None = None
    startup_probe: Probe | None = None


@dataclass(frozen=True, slots=True)
class ContainerStatus:
    name: str
    role: ContainerRole
    state: ContainerState = EMPTY_STATE
    last_state: ContainerState = EMPTY_STATE
    restart_count: int = 0
    started: bool | None = None
    ready: bool = False
    container_id: str = ""
    image: str = ""
    image_id: str = ""


@dataclass(frozen=True, slots=True)
class PodCondition:
    type: str
    status: str = ""
    reason: str = ""
    message: str = ""
    last_transition_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class PodSnapshot:
    uid: str
    namespace: str = ""
    name: str = ""
    owner_kind: str = ""
    owner_name: str = ""
    node_name: str = ""
    pod_ips: tuple[str, ...] = ()
    qos_class: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    resource_version: str = ""
    creation_timestamp: datetime | None = None
    phase: str = ""
    reason: str = ""
    message: str = ""
    nominated_node_name: str = ""
    readiness_gates: tuple[str, ...] = ()
    conditions: tuple[PodCondition, ...] = ()
    init_container_statuses: tuple[ContainerStatus, ...] = ()
    container_statuses: tuple[ContainerStatus, ...] = ()
    deletion_timestamp: datetime | None = None
    deletion_grace_period_seconds: int | None = None
    termination_grace_period_seconds: int | None = None
    restart_policy: str = ""
    init_containers: tuple[ContainerSpec, ...] = ()
    containers: tuple[ContainerSpec, ...] = ()
    problems: tuple[str, ...] = ()

    def condition(self, type_: str) -> PodCondition | None:
        """The first condition of that type (kubectl and the kubelet both read the first)."""
        for cond in self.conditions:
            if cond.type == type_:
                return cond
        return None

    def container_spec(self, name: str) -> ContainerSpec | None:
        for spec in self.init_containers:
            if spec.name == name:
                return spec
        for spec in self.containers:
            if spec.name == name:
                return spec
        return None

    def container_status(self, name: str) -> ContainerStatus | None:
        for status in self.init_container_statuses:
            if status.name == name:
                return status
        for status in self.container_statuses:
            if status.name == name:
                return status
        return None

    @property
    def sidecar_statuses(self) -> tuple[ContainerStatus, ...]:
        return tuple(s for s in self.init_container_statuses if s.role is ContainerRole.SIDECAR)

    @property
    def all_container_statuses(self) -> tuple[ContainerStatus, ...]:
        """Init (incl. sidecars) then regular, each in API order."""
        return self.init_container_statuses + self.container_statuses

    @property
    def pod_ip(self) -> str:
        return self.pod_ips[0] if self.pod_ips else ""

    @property
    def deletion_requested_at(self) -> datetime | None:
        """deletionTimestamp - deletionGracePeriodSeconds: the original DELETE time (§3.1, §3.7).

        Holds across grace shortening. None when the pod is not being deleted; the
        deletionTimestamp itself when the grace is unknown.
        """
        if self.deletion_timestamp is None:
            return None
        if self.deletion_grace_period_seconds is None:
            return self.deletion_timestamp
        return self.deletion_timestamp - timedelta(seconds=self.deletion_grace_period_seconds)

    def labels_dict(self) -> dict[str, str]:
        return dict(self.labels)


def snapshot_from_pod(raw: Mapping[str, Any]) -> PodSnapshot:
    """Build a snapshot from a raw pod dict (the API's JSON, parsed). Never raises."""
    raise NotImplementedError  # filled in right after the types land
