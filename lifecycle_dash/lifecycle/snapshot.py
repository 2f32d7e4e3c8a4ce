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

``snapshot_from_pod(raw)`` is the pure entry point. ``SnapshotCache().snapshot(raw)`` is the
same for a stream of updates (the ingest hot path): it reuses the parts of the pod's previous
snapshot whose raw JSON did not change, so they are shared objects that ``diff`` skips.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from lifecycle_dash.lifecycle.frozen import fast_new
from lifecycle_dash.lifecycle.timeparse import parse_rfc3339, try_parse_rfc3339

_INT32_MAX = 2**31 - 1

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
    "SnapshotCache",
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


# Positional constructors for the hot path (see ``frozen``): same objects, built faster.
_new_waiting = fast_new(StateWaiting)
_new_running = fast_new(StateRunning)
_new_terminated = fast_new(StateTerminated)
_new_state = fast_new(ContainerState)
_new_status = fast_new(ContainerStatus)
_new_condition = fast_new(PodCondition)
_new_snapshot = fast_new(PodSnapshot)


# --- extraction ---------------------------------------------------------------------------
#
# Every reader below takes the parent mapping, the key and the parent's path, and appends a
# problem naming the field instead of raising. Paths are only formatted on the error branch:
# this is the ingest hot path.

# Bounds that keep a hostile or broken object from making a huge snapshot. The API itself caps
# objects at 1.5 MB; these are far above anything a real pod has.
MAX_ITEMS = 256  # containers, statuses, conditions, IPs, readiness gates
MAX_LABELS = 256
MAX_STRING = 4096  # messages; longer text is truncated
MAX_PROBLEMS = 64
_MAX_NAME = 317  # label keys (253 + "/" + 63), label values, IPs, condition types

_SHELLS = frozenset({"sh", "/bin/sh", "bash", "/bin/bash"})


class _Problems(list[str]):
    """Problems of one part of the object; capped once, when the snapshot is assembled."""

    add = list.append


def _capped(problems: list[str]) -> tuple[str, ...]:
    if len(problems) <= MAX_PROBLEMS:
        return tuple(problems)
    return (*problems[:MAX_PROBLEMS], f"{len(problems) - MAX_PROBLEMS} further problems not listed")


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _map(parent: Mapping[str, Any], key: str, path: str, problems: _Problems) -> Mapping[str, Any]:
    value = parent.get(key)
    if value is None:
        return _NO_MAP
    if type(value) is dict or isinstance(value, Mapping):
        return value
    problems.add(f"{path}{key}: expected an object, got {_type_name(value)}")
    return _NO_MAP


def _opt_map(
    parent: Mapping[str, Any], key: str, path: str, problems: _Problems
) -> Mapping[str, Any] | None:
    """Like ``_map`` but tells "absent" (None) from "present and empty" ({})."""
    value = parent.get(key)
    if value is None or type(value) is dict or isinstance(value, Mapping):
        return value
    problems.add(f"{path}{key}: expected an object, got {_type_name(value)}")
    return None


def _list(parent: Mapping[str, Any], key: str, path: str, problems: _Problems) -> list[Any]:
    value = parent.get(key)
    if value is None:
        return _NO_LIST
    if type(value) is list or isinstance(value, tuple):
        if len(value) > MAX_ITEMS:
            problems.add(f"{path}{key}: {len(value)} items, only the first {MAX_ITEMS} read")
            return list(value[:MAX_ITEMS])
        return value  # type: ignore[return-value]
    problems.add(f"{path}{key}: expected an array, got {_type_name(value)}")
    return _NO_LIST


def _str(
    parent: Mapping[str, Any],
    key: str,
    path: str,
    problems: _Problems,
    *,
    required: bool = False,
) -> str:
    value = parent.get(key)
    if type(value) is str:
        if len(value) > MAX_STRING:
            problems.add(f"{path}{key}: {len(value)} characters, truncated to {MAX_STRING}")
            return value[:MAX_STRING]
        return value
    if value is None:
        if required:
            problems.add(f"{path}{key}: missing")
        return ""
    problems.add(f"{path}{key}: expected a string, got {_type_name(value)}")
    return ""


def _int(parent: Mapping[str, Any], key: str, path: str, problems: _Problems) -> int | None:
    value = parent.get(key)
    if type(value) is int:
        return value
    if value is None:
        return None
    if type(value) is float and value.is_integer():
        return int(value)
    problems.add(f"{path}{key}: expected an integer, got {_type_name(value)}")
    return None


def _bool(parent: Mapping[str, Any], key: str, path: str, problems: _Problems) -> bool | None:
    value = parent.get(key)
    if value is True or value is False or value is None:
        return value
    problems.add(f"{path}{key}: expected a boolean, got {_type_name(value)}")
    return None


def _time(parent: Mapping[str, Any], key: str, path: str, problems: _Problems) -> datetime | None:
    value = parent.get(key)
    if value is None:
        return None
    if type(value) is str:
        try:
            return parse_rfc3339(value)
        except ValueError:
            problems.add(f"{path}{key}: unparseable timestamp {value[:40]!r}")
            return None
    problems.add(f"{path}{key}: expected a timestamp string, got {_type_name(value)}")
    return None


_NO_MAP: Mapping[str, Any] = MappingProxyType({})
_NO_LIST: list[Any] = []


def _hook(parent: Mapping[str, Any], key: str, path: str, problems: _Problems) -> Hook | None:
    handler = _map(parent, key, path, problems)
    if not handler:
        return None if key not in parent or parent[key] is None else Hook(HookKind.UNKNOWN)
    hpath = f"{path}{key}."
    if "sleep" in handler:
        seconds = _int(
            _map(handler, "sleep", hpath, problems), "seconds", hpath + "sleep.", problems
        )
        return Hook(HookKind.SLEEP, seconds)
    if "exec" in handler:
        command = _map(handler, "exec", hpath, problems).get("command")
        return Hook(HookKind.EXEC, _literal_sleep(command))
    if "httpGet" in handler:
        return Hook(HookKind.HTTP_GET)
    if "tcpSocket" in handler:
        return Hook(HookKind.TCP_SOCKET)
    return Hook(HookKind.UNKNOWN)


def _literal_sleep(command: object) -> int | None:
    """N for a command that is literally ``sleep N`` or ``sh -c "sleep N"``; else None.

    Only the number leaves this function: the command line itself is never kept.
    """
    if type(command) is not list:
        return None
    if len(command) == 2 and command[0] in ("sleep", "/bin/sleep"):
        text = command[1]
    elif len(command) == 3 and command[0] in _SHELLS and command[1] == "-c":
        parts = command[2].split() if type(command[2]) is str else ()
        if len(parts) != 2 or parts[0] not in ("sleep", "/bin/sleep"):
            return None
        text = parts[1]
    else:
        return None
    if type(text) is str and text.isascii() and text.isdigit() and len(text) < 10:
        return int(text)
    return None


_PROBE_MECHANISMS = (
    ("exec", ProbeMechanism.EXEC),
    ("httpGet", ProbeMechanism.HTTP_GET),
    ("tcpSocket", ProbeMechanism.TCP_SOCKET),
    ("grpc", ProbeMechanism.GRPC),
)


def _probe(parent: Mapping[str, Any], key: str, path: str, problems: _Problems) -> Probe | None:
    probe = _map(parent, key, path, problems)
    if not probe:
        return None
    mechanism = ProbeMechanism.UNKNOWN
    for field_name, kind in _PROBE_MECHANISMS:
        if field_name in probe:
            mechanism = kind
            break
    ppath = f"{path}{key}."
    delay = _int(probe, "initialDelaySeconds", ppath, problems)
    period = _int(probe, "periodSeconds", ppath, problems)
    timeout = _int(probe, "timeoutSeconds", ppath, problems)
    failure = _int(probe, "failureThreshold", ppath, problems)
    success = _int(probe, "successThreshold", ppath, problems)
    return Probe(
        mechanism,
        0 if delay is None else delay,
        10 if period is None else period,
        1 if timeout is None else timeout,
        3 if failure is None else failure,
        1 if success is None else success,
        _int(probe, "terminationGracePeriodSeconds", ppath, problems),
    )


def _container_spec(
    raw: object, init: bool, path: str, problems: _Problems
) -> ContainerSpec | None:
    if type(raw) is not dict and not isinstance(raw, Mapping):
        problems.add(f"{path}: expected an object, got {_type_name(raw)}")
        return None
    cpath = path + "."
    name = _str(raw, "name", cpath, problems, required=True)
    restart_policy = _str(raw, "restartPolicy", cpath, problems)
    if init:
        role = ContainerRole.SIDECAR if restart_policy == "Always" else ContainerRole.INIT
    else:
        role = ContainerRole.REGULAR
    lifecycle = _map(raw, "lifecycle", cpath, problems)
    lpath = cpath + "lifecycle."
    return ContainerSpec(
        name,
        role,
        _str(raw, "image", cpath, problems),
        restart_policy,
        _hook(lifecycle, "postStart", lpath, problems) if lifecycle else None,
        _hook(lifecycle, "preStop", lpath, problems) if lifecycle else None,
        _probe(raw, "livenessProbe", cpath, problems),
        _probe(raw, "readinessProbe", cpath, problems),
        _probe(raw, "startupProbe", cpath, problems),
    )


def _state(parent: Mapping[str, Any], key: str, path: str, problems: _Problems) -> ContainerState:
    state = parent.get(key)
    if not state and (state is None or type(state) is dict):
        return EMPTY_STATE
    if type(state) is dict and len(state) == 1:
        # Fast path: one well-typed state, as the API always writes it.
        fast = _fast_state(state)
        if fast is not None:
            return fast
    return _careful_state(parent, key, path, problems)


def _fast_state(state: dict[str, Any]) -> ContainerState | None:
    """The state when it is exactly one well-typed member, else None (use the careful path)."""
    body = state.get("running")
    if type(body) is dict:
        started = body.get("startedAt")
        if started is None:
            return _new_state(None, _new_running(None), None)
        parsed = try_parse_rfc3339(started)
        return None if parsed is None else _new_state(None, _new_running(parsed), None)
    body = state.get("waiting")
    if type(body) is dict:
        reason = body.get("reason", "")
        message = body.get("message", "")
        if (
            type(reason) is str
            and type(message) is str
            and len(reason) <= MAX_STRING
            and len(message) <= MAX_STRING
        ):
            return _new_state(_new_waiting(reason, message), None, None)
        return None
    body = state.get("terminated")
    if type(body) is dict:
        exit_code = body.get("exitCode", 0)
        signal = body.get("signal", 0)
        reason = body.get("reason", "")
        message = body.get("message", "")
        container_id = body.get("containerID", "")
        started = body.get("startedAt")
        finished = body.get("finishedAt")
        started_at = None if started is None else try_parse_rfc3339(started)
        finished_at = None if finished is None else try_parse_rfc3339(finished)
        if (
            type(exit_code) is int
            and type(signal) is int
            and type(reason) is str
            and type(message) is str
            and type(container_id) is str
            and len(message) + len(reason) + len(container_id) <= MAX_STRING
            and (started is None or started_at is not None)
            and (finished is None or finished_at is not None)
        ):
            return _new_state(
                None,
                None,
                _new_terminated(
                    exit_code, signal, reason, message, started_at, finished_at, container_id
                ),
            )
    return None


def _careful_state(
    parent: Mapping[str, Any], key: str, path: str, problems: _Problems
) -> ContainerState:
    state = _map(parent, key, path, problems)
    if not state:
        return EMPTY_STATE
    spath = f"{path}{key}."
    waiting = running = terminated = None
    raw_waiting = _opt_map(state, "waiting", spath, problems)
    if raw_waiting is not None:
        wpath = spath + "waiting."
        waiting = StateWaiting(
            _str(raw_waiting, "reason", wpath, problems),
            _str(raw_waiting, "message", wpath, problems),
        )
    raw_running = _opt_map(state, "running", spath, problems)
    if raw_running is not None:
        running = StateRunning(_time(raw_running, "startedAt", spath + "running.", problems))
    raw_terminated = _opt_map(state, "terminated", spath, problems)
    if raw_terminated is not None:
        tpath = spath + "terminated."
        exit_code = _int(raw_terminated, "exitCode", tpath, problems)
        signal = _int(raw_terminated, "signal", tpath, problems)
        terminated = StateTerminated(
            0 if exit_code is None else exit_code,
            0 if signal is None else signal,
            _str(raw_terminated, "reason", tpath, problems),
            _str(raw_terminated, "message", tpath, problems),
            _time(raw_terminated, "startedAt", tpath, problems),
            _time(raw_terminated, "finishedAt", tpath, problems),
            _str(raw_terminated, "containerID", tpath, problems),
        )
    if (waiting is not None) + (running is not None) + (terminated is not None) > 1:
        problems.add(f"{path}{key}: more than one of waiting/running/terminated set")
    return ContainerState(waiting, running, terminated)


def _container_status(
    raw: object,
    roles: Mapping[str, ContainerRole],
    default_role: ContainerRole,
    path: str,
    problems: _Problems,
) -> ContainerStatus | None:
    if type(raw) is not dict and not isinstance(raw, Mapping):
        problems.add(f"{path}: expected an object, got {_type_name(raw)}")
        return None
    cpath = path + "."
    name = _str(raw, "name", cpath, problems, required=True)
    restart_count = raw.get("restartCount")
    if type(restart_count) is not int or restart_count < 0:
        restart_count = _int(raw, "restartCount", cpath, problems)
        if restart_count is not None and restart_count < 0:
            problems.add(f"{cpath}restartCount: negative ({restart_count}), read as 0")
            restart_count = 0
    if restart_count is not None and restart_count > _INT32_MAX:
        # The API field is an int32: anything larger is corrupt, and would not fit storage.
        problems.add(f"{cpath}restartCount: {restart_count} exceeds int32, read as {_INT32_MAX}")
        restart_count = _INT32_MAX
    ready = raw.get("ready")
    if ready is not True and ready is not False:
        ready = _bool(raw, "ready", cpath, problems)
    started = raw.get("started")
    if started is not True and started is not False:
        started = _bool(raw, "started", cpath, problems)
    container_id = raw.get("containerID", "")
    image = raw.get("image", "")
    image_id = raw.get("imageID", "")
    if not (
        type(container_id) is str
        and type(image) is str
        and type(image_id) is str
        and len(container_id) + len(image) + len(image_id) <= MAX_STRING
    ):
        container_id = _str(raw, "containerID", cpath, problems)
        image = _str(raw, "image", cpath, problems)
        image_id = _str(raw, "imageID", cpath, problems)
    return _new_status(
        name,
        roles.get(name, default_role),
        _state(raw, "state", cpath, problems),
        _state(raw, "lastState", cpath, problems),
        0 if restart_count is None else restart_count,
        started,
        bool(ready),
        container_id,
        image,
        image_id,
    )


def _condition(raw: object, path: str, problems: _Problems) -> PodCondition | None:
    if type(raw) is dict:
        # Fast path: every field present is well-typed.
        type_ = raw.get("type")
        status = raw.get("status", "")
        reason = raw.get("reason", "")
        message = raw.get("message", "")
        changed = raw.get("lastTransitionTime")
        changed_at = None if changed is None else try_parse_rfc3339(changed)
        if (
            type(type_) is str
            and type(status) is str
            and type(reason) is str
            and type(message) is str
            and len(type_) + len(status) + len(reason) + len(message) <= MAX_STRING
            and (changed is None or changed_at is not None)
        ):
            return _new_condition(type_, status, reason, message, changed_at)
    elif not isinstance(raw, Mapping):
        problems.add(f"{path}: expected an object, got {_type_name(raw)}")
        return None
    cpath = path + "."
    return PodCondition(
        _str(raw, "type", cpath, problems, required=True),
        _str(raw, "status", cpath, problems),
        _str(raw, "reason", cpath, problems),
        _str(raw, "message", cpath, problems),
        _time(raw, "lastTransitionTime", cpath, problems),
    )


def _controller(meta: Mapping[str, Any], problems: _Problems) -> tuple[str, str]:
    for i, ref in enumerate(_list(meta, "ownerReferences", "metadata.", problems)):
        if not isinstance(ref, Mapping):
            problems.add(f"metadata.ownerReferences[{i}]: expected an object")
            continue
        if ref.get("controller") is True:
            path = f"metadata.ownerReferences[{i}]."
            return _str(ref, "kind", path, problems), _str(ref, "name", path, problems)
    return "", ""


def _pod_ips(status: Mapping[str, Any], problems: _Problems) -> tuple[str, ...]:
    ips: list[str] = []
    for i, entry in enumerate(_list(status, "podIPs", "status.", problems)):
        ip = entry.get("ip") if isinstance(entry, Mapping) else None
        if type(ip) is str and len(ip) <= _MAX_NAME:
            ips.append(ip)
        else:
            problems.add(f"status.podIPs[{i}]: expected an object with a string ip")
    if not ips:
        single = _str(status, "podIP", "status.", problems)
        if single:
            ips.append(single)
    return tuple(ips)


def _readiness_gates(spec: Mapping[str, Any], problems: _Problems) -> tuple[str, ...]:
    gates: list[str] = []
    for i, gate in enumerate(_list(spec, "readinessGates", "spec.", problems)):
        condition_type = gate.get("conditionType") if isinstance(gate, Mapping) else None
        if type(condition_type) is str and len(condition_type) <= _MAX_NAME:
            gates.append(condition_type)
        else:
            problems.add(f"spec.readinessGates[{i}]: expected an object with a conditionType")
    return tuple(gates)


def _labels(raw: object, problems: _Problems) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if type(raw) is not dict and not isinstance(raw, Mapping):
        problems.add(f"metadata.labels: expected an object, got {_type_name(raw)}")
        return ()
    pairs = []
    for key, value in raw.items():
        if (
            type(key) is str
            and type(value) is str
            and len(key) <= _MAX_NAME
            and len(value) <= _MAX_NAME
        ):
            pairs.append((key, value))
        else:
            problems.add(f"metadata.labels[{str(key)[:63]!r}]: expected a short string value")
    pairs.sort()
    if len(pairs) > MAX_LABELS:
        problems.add(f"metadata.labels: {len(pairs)} labels, only {MAX_LABELS} kept")
        del pairs[MAX_LABELS:]
    return tuple(pairs)


# --- parts and their reuse ------------------------------------------------------------------
#
# The object is read in parts: metadata (all but resourceVersion), the spec's scalars, each
# container list, the status (and within it each list). A part remembers the raw value it was
# read from; ``SnapshotCache`` hands the previous parts of the same pod back in, and a part
# whose raw JSON is equal to last time is reused as is (same tuple objects, same problems), so
# unchanged parts cost one C-level comparison and ``diff`` can skip them by identity. A kubelet
# status resync thus costs a handful of comparisons, and a changed condition or container
# status re-reads only that item. ``snapshot_from_pod`` runs the very same code with nothing
# to reuse, so both paths give equal snapshots by construction.

T = TypeVar("T")


@dataclass(slots=True)
class _ListPart(Generic[T]):
    raw: object  # what it was read from: compared, never read again
    value: tuple[T, ...]
    problems: tuple[str, ...]
    # Per raw item, for reuse when only some items change: what it was read from, what it
    # gave (None: unreadable) and its problems. Three parallel tuples rather than an object
    # per item: a status update re-reads a list or two, and each item object cost more to
    # build than reading a condition does.
    item_raws: tuple[object, ...]
    item_values: tuple[T | None, ...]
    item_problems: tuple[tuple[str, ...], ...]
    context: object = None  # anything else the parse depended on (init container roles)


def _read_list(
    parent: Mapping[str, Any],
    key: str,
    path: str,
    parse: Callable[[object, str, _Problems], T | None],
    previous: _ListPart[T] | None,
    context: object = None,
    spec: bool = False,
) -> _ListPart[T]:
    """Read a list part, reusing what ``previous`` read from equal raw items.

    ``spec``: the items are spec containers, compared on ``_spec_fingerprint`` (just the
    members ``parse`` reads), so that changes elsewhere in the item (env, resources...)
    neither defeat reuse nor stay referenced.
    """
    raw = parent.get(key)
    prints: Any = _spec_fingerprints(raw) if spec else raw
    if (
        previous is not None
        and prints == previous.raw
        and (previous.context is context or previous.context == context)
    ):
        return previous
    problems = _Problems()  # the list's own first, then each item's, in order
    raw_items = _list(parent, key, path, problems)
    if previous is not None and previous.context == context:
        old_raws = previous.item_raws
        old_values = previous.item_values
        old_problems = previous.item_problems
    else:
        old_raws = old_values = old_problems = ()
    n_old = len(old_raws)
    by_print = spec and prints is not raw
    item_raws: list[object] = []
    item_values: list[T | None] = []
    item_problems: list[tuple[str, ...]] = []
    for i, item in enumerate(raw_items):
        item_print = prints[i] if by_print else item
        if i < n_old and old_raws[i] == item_print:
            parsed = old_values[i]
            these = old_problems[i]
            if these:
                problems.extend(these)
        else:
            first = len(problems)
            parsed = parse(item, f"{path}{key}[{i}]", problems)
            these = tuple(problems[first:]) if len(problems) != first else ()
        item_raws.append(item_print)
        item_values.append(parsed)
        item_problems.append(these)
    return _ListPart(
        prints,
        tuple([value for value in item_values if value is not None]),
        tuple(problems),
        tuple(item_raws),
        tuple(item_values),
        tuple(item_problems),
        context,
    )


# The members of a spec container that ``_container_spec`` reads (nothing else).
_SPEC_CONTAINER_KEYS = (
    "name",
    "image",
    "restartPolicy",
    "lifecycle",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
)
_NOT_DICT = object()  # marks the fingerprint of a non-dict item: never equal to a dict's


def _spec_fingerprint(item: object) -> object:
    """The members of a spec container that ``_container_spec`` reads (nothing else)."""
    if type(item) is dict:
        return tuple(map(item.get, _SPEC_CONTAINER_KEYS))
    return (_NOT_DICT, item)


def _spec_fingerprints(raw: object) -> object:
    if type(raw) is list:
        keys = _SPEC_CONTAINER_KEYS
        return tuple(
            [
                tuple(map(item.get, keys)) if type(item) is dict else (_NOT_DICT, item)
                for item in raw
            ]
        )
    return raw


def _init_spec(item: object, path: str, problems: _Problems) -> ContainerSpec | None:
    return _container_spec(item, True, path, problems)


def _regular_spec(item: object, path: str, problems: _Problems) -> ContainerSpec | None:
    return _container_spec(item, False, path, problems)


def _regular_status(item: object, path: str, problems: _Problems) -> ContainerStatus | None:
    return _container_status(item, _NO_MAP, ContainerRole.REGULAR, path, problems)


# The metadata members read (resourceVersion apart: it changes on every update).
_META_KEYS = (
    "uid",
    "namespace",
    "name",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
    "labels",
)


@dataclass(slots=True)
class _MetaPart:
    raw: tuple[object, ...]  # the members of _META_KEYS, in that order
    uid: str
    namespace: str
    name: str
    owner_kind: str
    owner_name: str
    labels: tuple[tuple[str, str], ...]
    creation_timestamp: datetime | None
    deletion_timestamp: datetime | None
    deletion_grace_period_seconds: int | None
    problems: tuple[str, ...]


def _read_meta(meta: Mapping[str, Any], raw: tuple[object, ...]) -> _MetaPart:
    problems = _Problems()
    m = "metadata."
    uid = _str(meta, "uid", m, problems, required=True)
    namespace = _str(meta, "namespace", m, problems)
    name = _str(meta, "name", m, problems, required=True)
    owner_kind, owner_name = _controller(meta, problems)
    return _MetaPart(
        raw,
        uid,
        namespace,
        name,
        owner_kind,
        owner_name,
        _labels(raw[7], problems),
        _time(meta, "creationTimestamp", m, problems),
        _time(meta, "deletionTimestamp", m, problems),
        _int(meta, "deletionGracePeriodSeconds", m, problems),
        tuple(problems),
    )


# The spec's own members read (the container lists are parts of their own).
_SPEC_KEYS = ("nodeName", "terminationGracePeriodSeconds", "restartPolicy", "readinessGates")


@dataclass(slots=True)
class _SpecPart:
    raw: tuple[object, ...]  # the members of _SPEC_KEYS, in that order
    node_name: str
    termination_grace_period_seconds: int | None
    restart_policy: str
    readiness_gates: tuple[str, ...]
    problems: tuple[str, ...]


def _read_spec(spec: Mapping[str, Any], raw: tuple[object, ...]) -> _SpecPart:
    problems = _Problems()
    return _SpecPart(
        raw,
        _str(spec, "nodeName", "spec.", problems),
        _int(spec, "terminationGracePeriodSeconds", "spec.", problems),
        _str(spec, "restartPolicy", "spec.", problems),
        _readiness_gates(spec, problems),
        tuple(problems),
    )


@dataclass(slots=True)
class _StatusPart:
    """Everything read from ``status`` (it depends on nothing else but the sidecar roles)."""

    raw: object
    roles: Mapping[str, ContainerRole]
    init_statuses: _ListPart[ContainerStatus]
    statuses: _ListPart[ContainerStatus]
    conditions: _ListPart[PodCondition]
    pod_ips: tuple[str, ...]
    qos_class: str
    phase: str
    reason: str
    message: str
    nominated_node_name: str
    problems: tuple[str, ...]


@dataclass(slots=True)
class _Memo:
    """The parts of the last object seen of one pod."""

    meta: _MetaPart | None = None
    spec: _SpecPart | None = None
    init_specs: _ListPart[ContainerSpec] | None = None
    specs: _ListPart[ContainerSpec] | None = None
    status: _StatusPart | None = None


class _InitStatusParser:
    """Parses init container statuses with the roles their spec gives (no per-call closure)."""

    __slots__ = ("roles",)

    def __init__(self, roles: Mapping[str, ContainerRole]) -> None:
        self.roles = roles

    def __call__(self, item: object, path: str, problems: _Problems) -> ContainerStatus | None:
        return _container_status(item, self.roles, ContainerRole.INIT, path, problems)


def _read_status(
    raw: object,
    status: Mapping[str, Any],
    roles: Mapping[str, ContainerRole],
    previous: _StatusPart | None,
) -> _StatusPart:
    if (
        previous is not None
        and raw == previous.raw
        and (previous.roles is roles or previous.roles == roles)
    ):
        # A kubelet resync or a metadata-only change: the status is as it was.
        return previous
    init_statuses = _read_list(
        status,
        "initContainerStatuses",
        "status.",
        _InitStatusParser(roles),
        previous.init_statuses if previous is not None else None,
        roles,
    )
    statuses = _read_list(
        status,
        "containerStatuses",
        "status.",
        _regular_status,
        previous.statuses if previous is not None else None,
    )
    conditions = _read_list(
        status,
        "conditions",
        "status.",
        _condition,
        previous.conditions if previous is not None else None,
    )
    problems = _Problems()
    for part in (init_statuses, statuses, conditions):
        problems.extend(part.problems)
    s = "status."
    return _StatusPart(
        raw,
        roles,
        init_statuses,
        statuses,
        conditions,
        pod_ips=_pod_ips(status, problems),
        qos_class=_str(status, "qosClass", s, problems),
        phase=_str(status, "phase", s, problems),
        reason=_str(status, "reason", s, problems),
        message=_str(status, "message", s, problems),
        nominated_node_name=_str(status, "nominatedNodeName", s, problems),
        problems=tuple(problems),
    )


class _SharedSpecs:
    """Container spec list parts shared by all the pods of one cache that have equal ones.

    Pods of one workload have the same containers, and their spec parts are compared on
    every update of each pod. With one shared part per distinct list, that comparison reads
    a part the other pods keep in the CPU caches, instead of a copy of its own left over
    from the pod's first event, scattered among its long-freed garbage (in the lifecycle
    benchmark: 2,000 pods, some 4 us per update of cache misses); and the cache keeps one
    copy per workload instead of one per pod. Parts are matched on what they parsed to and
    then on their raw items, so a shared part is equal in every field the snapshot takes
    from it. Bounded: emptied when it reaches ``limit`` entries (pods keep their parts).
    """

    __slots__ = ("limit", "parts")

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self.parts: dict[tuple[object, ...], _ListPart[ContainerSpec]] = {}

    def share(self, part: _ListPart[ContainerSpec]) -> _ListPart[ContainerSpec]:
        key = (part.value, part.problems)
        found = self.parts.get(key)
        if found is not None and found.raw == part.raw:
            return found
        if len(self.parts) >= self.limit:
            self.parts.clear()
        self.parts[key] = part
        return part

    def clear(self) -> None:
        self.parts.clear()


def _build(raw: Mapping[str, Any], memo: _Memo, shared: _SharedSpecs | None = None) -> PodSnapshot:
    """Read ``raw``, reusing the parts in ``memo`` where their raw JSON is unchanged, and
    leave the parts just read in ``memo`` for the next update of the same pod. Spec list
    parts read afresh are swapped for an equal one of another pod in ``shared``, if any."""
    problems = _Problems()  # those of the pod itself; the parts carry their own
    if type(raw) is not dict and not isinstance(raw, Mapping):
        problems.add(f"pod: expected an object, got {_type_name(raw)}")
        return PodSnapshot(uid="", problems=tuple(problems))
    meta = raw.get("metadata")
    if type(meta) is not dict:
        meta = _map(raw, "metadata", "", problems)
        if "metadata" not in raw:
            problems.add("metadata: missing")
    spec = raw.get("spec")
    if type(spec) is not dict:
        spec = _map(raw, "spec", "", problems)
    raw_status = raw.get("status")
    status = raw_status if type(raw_status) is dict else _map(raw, "status", "", problems)

    resource_version = meta.get("resourceVersion")
    if type(resource_version) is not str or len(resource_version) > MAX_STRING:
        resource_version = _str(meta, "resourceVersion", "metadata.", problems)

    meta_raw = tuple(map(meta.get, _META_KEYS))
    meta_part = memo.meta
    if meta_part is None or meta_part.raw != meta_raw:
        meta_part = memo.meta = _read_meta(meta, meta_raw)
    spec_raw = tuple(map(spec.get, _SPEC_KEYS))
    spec_part = memo.spec
    if spec_part is None or spec_part.raw != spec_raw:
        spec_part = memo.spec = _read_spec(spec, spec_raw)

    previous_init_specs = memo.init_specs
    init_specs = _read_list(
        spec, "initContainers", "spec.", _init_spec, previous_init_specs, None, True
    )
    previous_specs = memo.specs
    specs = _read_list(spec, "containers", "spec.", _regular_spec, previous_specs, None, True)
    if shared is not None:
        if init_specs is not previous_init_specs:
            init_specs = shared.share(init_specs)
        if specs is not previous_specs:
            specs = shared.share(specs)
    memo.init_specs = init_specs
    memo.specs = specs
    previous_status = memo.status
    if previous_init_specs is init_specs and previous_status is not None:
        roles = previous_status.roles
    else:
        roles = {c.name: c.role for c in init_specs.value}
    status_part = memo.status = _read_status(raw_status, status, roles, previous_status)

    if (
        problems
        or meta_part.problems
        or spec_part.problems
        or init_specs.problems
        or specs.problems
        or status_part.problems
    ):
        for part_problems in (
            meta_part.problems,
            spec_part.problems,
            init_specs.problems,
            specs.problems,
            status_part.problems,
        ):
            problems.extend(part_problems)
        all_problems = _capped(problems)
    else:
        all_problems = ()
    return _new_snapshot(
        meta_part.uid,
        meta_part.namespace,
        meta_part.name,
        meta_part.owner_kind,
        meta_part.owner_name,
        spec_part.node_name,
        status_part.pod_ips,
        status_part.qos_class,
        meta_part.labels,
        resource_version,
        meta_part.creation_timestamp,
        status_part.phase,
        status_part.reason,
        status_part.message,
        status_part.nominated_node_name,
        spec_part.readiness_gates,
        status_part.conditions.value,
        status_part.init_statuses.value,
        status_part.statuses.value,
        meta_part.deletion_timestamp,
        meta_part.deletion_grace_period_seconds,
        spec_part.termination_grace_period_seconds,
        spec_part.restart_policy,
        init_specs.value,
        specs.value,
        all_problems,
    )


def snapshot_from_pod(raw: Mapping[str, Any]) -> PodSnapshot:
    """Build a snapshot from a raw pod dict (the API's JSON, parsed). Never raises.

    What cannot be read is left at its empty value and named in ``problems``.
    Pure: for a stream of updates, ``SnapshotCache`` gives equal results faster.
    """
    return _build(raw, _Memo())


class SnapshotCache:
    """``snapshot_from_pod`` for a stream of updates of the same pods: the ingest hot path.

    Remembers, per pod UID, the parts of the last object it read (a reference to their raw
    JSON and the parsed values). Parts whose raw JSON is equal this time (usually the whole
    spec, the metadata, most conditions and container statuses) are reused instead of parsed
    again, so the snapshot shares those tuples and items with the previous one and ``diff``
    skips them by identity. The result equals ``snapshot_from_pod(raw)`` (pinned by a
    property test), with one documented exception that no API server can produce: parts are
    compared with ``==``, for which JSON ``true`` equals ``1`` and ``1`` equals ``1.0``; if a
    field flips between such spellings while nothing else in its part changes, the earlier
    reading (and its problems) is kept until the part changes. Container specs are compared
    only on the members that are read (name, image, restartPolicy, lifecycle, probes), so env
    values, args and volumes are not kept alive by the cache (hook and probe definitions are,
    in memory only, to be compared; nothing of them beyond the snapshot fields is exposed).
    Pods whose container lists read the same (a workload's replicas) share one spec part,
    so their snapshots share those tuples too.

    Memory is bounded by ``max_pods`` (least recently updated pods are forgotten first; a
    forgotten pod is simply parsed in full next time). Call ``forget(uid)`` on DELETED.
    Not thread-safe: use one per watch stream.
    """

    def __init__(self, max_pods: int = 10_000) -> None:
        self.max_pods = max_pods
        self._memos: dict[str, _Memo] = {}
        self._shared_specs = _SharedSpecs()

    def __len__(self) -> int:
        return len(self._memos)

    def snapshot(self, raw: Mapping[str, Any]) -> PodSnapshot:
        uid = _peek_uid(raw)
        memos = self._memos
        memo = memos.pop(uid, None) if uid else None
        if memo is None:
            memo = _Memo()
        snapshot = _build(raw, memo, self._shared_specs)
        if uid and snapshot.uid == uid:
            memos[uid] = memo  # re-inserted last: dict order is recency order
            if len(memos) > self.max_pods:
                del memos[next(iter(memos))]
        return snapshot

    def forget(self, uid: str) -> None:
        self._memos.pop(uid, None)

    def clear(self) -> None:
        self._memos.clear()
        self._shared_specs.clear()


def _peek_uid(raw: object) -> str:
    if type(raw) is dict:
        meta = raw.get("metadata")
        if type(meta) is dict:
            uid = meta.get("uid")
            if type(uid) is str:
                return uid
    return ""
