"""Store a ``PodSnapshot`` as JSON and read it back, losslessly.

The stored form is pod-shaped (``metadata``/``spec``/``status`` with only the fields the
snapshot keeps), so reading it back is ``lifecycle.snapshot_from_pod`` itself: one parser,
and ``snapshot_from_pod(snapshot_document(s)) == s`` (``problems`` aside) is what makes a cache
seeded from the database diff exactly like the cache that wrote it (tests pin this). Nothing
redacted can reappear: the input is the already-redacted snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import orjson

from lifecycle_dash.lifecycle import (
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    Hook,
    HookKind,
    PodCondition,
    PodSnapshot,
    Probe,
    ProbeMechanism,
    snapshot_from_pod,
)

__all__ = ["DocumentMemo", "snapshot_document", "snapshot_from_document"]


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    # Datetimes stay objects: orjson writes them as RFC 3339 in UTC with "Z" (``_dumps``).
    if value is not None and value != "":
        target[key] = value


def _hook(hook: Hook) -> dict[str, Any]:
    if hook.kind is HookKind.SLEEP:
        return {"sleep": {} if hook.sleep_seconds is None else {"seconds": hook.sleep_seconds}}
    if hook.kind is HookKind.EXEC:
        if hook.sleep_seconds is None:
            return {"exec": {}}
        return {"exec": {"command": ["sleep", str(hook.sleep_seconds)]}}
    if hook.kind is HookKind.HTTP_GET:
        return {"httpGet": {}}
    if hook.kind is HookKind.TCP_SOCKET:
        return {"tcpSocket": {}}
    return {}


def _probe(probe: Probe) -> dict[str, Any]:
    out: dict[str, Any] = {
        "initialDelaySeconds": probe.initial_delay_seconds,
        "periodSeconds": probe.period_seconds,
        "timeoutSeconds": probe.timeout_seconds,
        "failureThreshold": probe.failure_threshold,
        "successThreshold": probe.success_threshold,
    }
    if probe.mechanism is not ProbeMechanism.UNKNOWN:
        out[str(probe.mechanism)] = {}
    _put(out, "terminationGracePeriodSeconds", probe.termination_grace_period_seconds)
    return out


def _container(spec: ContainerSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"name": spec.name}
    _put(out, "image", spec.image)
    _put(out, "restartPolicy", spec.restart_policy)
    lifecycle: dict[str, Any] = {}
    if spec.post_start is not None:
        lifecycle["postStart"] = _hook(spec.post_start)
    if spec.pre_stop is not None:
        lifecycle["preStop"] = _hook(spec.pre_stop)
    if lifecycle:
        out["lifecycle"] = lifecycle
    for key, probe in (
        ("livenessProbe", spec.liveness_probe),
        ("readinessProbe", spec.readiness_probe),
        ("startupProbe", spec.startup_probe),
    ):
        if probe is not None:
            out[key] = _probe(probe)
    return out


def _state(state: ContainerState) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if state.waiting is not None:
        waiting: dict[str, Any] = {}
        _put(waiting, "reason", state.waiting.reason)
        _put(waiting, "message", state.waiting.message)
        out["waiting"] = waiting
    if state.running is not None:
        running: dict[str, Any] = {}
        _put(running, "startedAt", state.running.started_at)
        out["running"] = running
    if state.terminated is not None:
        term = state.terminated
        terminated: dict[str, Any] = {"exitCode": term.exit_code, "signal": term.signal}
        _put(terminated, "reason", term.reason)
        _put(terminated, "message", term.message)
        _put(terminated, "startedAt", term.started_at)
        _put(terminated, "finishedAt", term.finished_at)
        _put(terminated, "containerID", term.container_id)
        out["terminated"] = terminated
    return out


def _status(status: ContainerStatus) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": status.name,
        "ready": status.ready,
        "restartCount": status.restart_count,
    }
    if not status.state.is_empty:
        out["state"] = _state(status.state)
    if not status.last_state.is_empty:
        out["lastState"] = _state(status.last_state)
    _put(out, "started", status.started)
    _put(out, "containerID", status.container_id)
    _put(out, "image", status.image)
    _put(out, "imageID", status.image_id)
    return out


def _meta(snapshot: PodSnapshot, *, labels: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {"uid": snapshot.uid, "name": snapshot.name}
    _put(meta, "namespace", snapshot.namespace)
    _put(meta, "resourceVersion", snapshot.resource_version)
    _put(meta, "creationTimestamp", snapshot.creation_timestamp)
    _put(meta, "deletionTimestamp", snapshot.deletion_timestamp)
    _put(meta, "deletionGracePeriodSeconds", snapshot.deletion_grace_period_seconds)
    if labels and snapshot.labels:
        meta["labels"] = dict(snapshot.labels)
    if snapshot.owner_kind or snapshot.owner_name:
        meta["ownerReferences"] = [
            {"kind": snapshot.owner_kind, "name": snapshot.owner_name, "controller": True}
        ]
    return meta


def _spec(snapshot: PodSnapshot) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    _put(spec, "nodeName", snapshot.node_name)
    _put(spec, "terminationGracePeriodSeconds", snapshot.termination_grace_period_seconds)
    _put(spec, "restartPolicy", snapshot.restart_policy)
    if snapshot.readiness_gates:
        spec["readinessGates"] = [{"conditionType": g} for g in snapshot.readiness_gates]
    if snapshot.init_containers:
        spec["initContainers"] = [_container(c) for c in snapshot.init_containers]
    if snapshot.containers:
        spec["containers"] = [_container(c) for c in snapshot.containers]
    return spec


def _condition(cond: PodCondition) -> dict[str, Any]:
    item: dict[str, Any] = {"type": cond.type}
    _put(item, "status", cond.status)
    _put(item, "reason", cond.reason)
    _put(item, "message", cond.message)
    _put(item, "lastTransitionTime", cond.last_transition_time)
    return item


def _status_scalars(snapshot: PodSnapshot) -> dict[str, Any]:
    status: dict[str, Any] = {}
    _put(status, "phase", snapshot.phase)
    _put(status, "reason", snapshot.reason)
    _put(status, "message", snapshot.message)
    _put(status, "qosClass", snapshot.qos_class)
    _put(status, "nominatedNodeName", snapshot.nominated_node_name)
    if snapshot.pod_ips:
        status["podIPs"] = [{"ip": ip} for ip in snapshot.pod_ips]
    return status


def snapshot_document(snapshot: PodSnapshot) -> dict[str, Any]:
    """The pod-shaped JSON document of a snapshot (what ``Pod.snapshot`` stores)."""
    loaded: dict[str, Any] = orjson.loads(DocumentMemo().document(snapshot))
    return loaded


_T = TypeVar("_T")


def _encoded(
    items: tuple[_T, ...],
    previous: tuple[tuple[_T, ...], list[str]] | None,
    encode: Callable[[_T], dict[str, Any]],
) -> tuple[tuple[_T, ...], list[str]]:
    """Each item's JSON, reusing the previous encoding of an equal item at the same place."""
    if previous is not None:
        before, texts = previous
        if items == before:  # element identity first: the usual case costs nothing
            return previous
        old = len(before)
        return items, [
            texts[i] if i < old and before[i] == item else _dumps(encode(item))
            for i, item in enumerate(items)
        ]
    return items, [_dumps(encode(item)) for item in items]


def _dumps(value: Any) -> str:
    # Snapshot times are UTC: "2024-05-01T12:00:00Z", microseconds only when non-zero.
    return orjson.dumps(value, option=orjson.OPT_UTC_Z).decode()


class _Fragments:
    __slots__ = ("conditions", "init_statuses", "labels", "spec", "statuses")

    def __init__(self) -> None:
        self.spec: tuple[tuple[object, ...], str] | None = None
        self.labels: tuple[tuple[tuple[str, str], ...], str] | None = None
        self.conditions: tuple[tuple[PodCondition, ...], list[str]] | None = None
        self.init_statuses: tuple[tuple[ContainerStatus, ...], list[str]] | None = None
        self.statuses: tuple[tuple[ContainerStatus, ...], list[str]] | None = None


class DocumentMemo:
    """``snapshot_document`` as JSON text, per pod reusing the encoding of unchanged parts.

    Successive snapshots of one pod share most of their parts (``SnapshotCache`` hands back
    the very same tuples for an unchanged spec, labels or container status), so only what
    changed is encoded again: the spec about once per pod, a container status when it moves.
    Parts are compared with ``==``, which tests identity first. The text is equivalent JSON to
    ``orjson.dumps(snapshot_document(snapshot))`` (key order aside; the column is jsonb).
    """

    def __init__(self) -> None:
        self._pods: dict[str, _Fragments] = {}

    def __len__(self) -> int:
        return len(self._pods)

    def forget(self, uid: str) -> None:
        self._pods.pop(uid, None)

    def clear(self) -> None:
        self._pods.clear()

    def labels(self, snapshot: PodSnapshot) -> str:
        """The labels as a JSON object text."""
        fragments = self._fragments(snapshot.uid)
        found = fragments.labels
        if found is None or found[0] != snapshot.labels:
            found = fragments.labels = (snapshot.labels, _dumps(dict(snapshot.labels)))
        return found[1]

    def document(self, snapshot: PodSnapshot) -> str:
        fragments = self._fragments(snapshot.uid)
        key = (
            snapshot.node_name,
            snapshot.termination_grace_period_seconds,
            snapshot.restart_policy,
            snapshot.readiness_gates,
            snapshot.init_containers,
            snapshot.containers,
        )
        spec = fragments.spec
        if spec is None or spec[0] != key:
            spec = fragments.spec = (key, _dumps(_spec(snapshot)))
        meta_text = _dumps(_meta(snapshot, labels=False))
        if snapshot.labels:
            meta_text = f'{meta_text[:-1]},"labels":{self.labels(snapshot)}}}'
        scalars = _dumps(_status_scalars(snapshot))
        parts = [scalars[1:-1]] if scalars != "{}" else []
        for name, attr, items, encode in (
            ("conditions", "conditions", snapshot.conditions, _condition),
            ("initContainerStatuses", "init_statuses", snapshot.init_container_statuses, _status),
            ("containerStatuses", "statuses", snapshot.container_statuses, _status),
        ):
            if not items:
                continue
            encoded = _encoded(items, getattr(fragments, attr), encode)
            setattr(fragments, attr, encoded)
            parts.append(f'"{name}":[{",".join(encoded[1])}]')
        status_text = "{" + ",".join(parts) + "}"
        return f'{{"metadata":{meta_text},"spec":{spec[1]},"status":{status_text}}}'

    def _fragments(self, uid: str) -> _Fragments:
        fragments = self._pods.get(uid)
        if fragments is None:
            fragments = self._pods[uid] = _Fragments()
        return fragments


def snapshot_from_document(document: dict[str, Any]) -> PodSnapshot:
    return snapshot_from_pod(document)
