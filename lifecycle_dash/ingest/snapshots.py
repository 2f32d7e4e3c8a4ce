"""Store a ``PodSnapshot`` as JSON and read it back, losslessly.

The stored form is pod-shaped (``metadata``/``spec``/``status`` with only the fields the
snapshot keeps), so reading it back is ``lifecycle.snapshot_from_pod`` itself: one parser,
and ``snapshot_from_pod(snapshot_document(s)) == s`` (``problems`` aside) is what makes a cache
seeded from the database diff exactly like the cache that wrote it (tests pin this). Nothing
redacted can reappear: the input is the already-redacted snapshot.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lifecycle_dash.lifecycle import (
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    Hook,
    HookKind,
    PodSnapshot,
    Probe,
    ProbeMechanism,
    format_rfc3339,
    snapshot_from_pod,
)

__all__ = ["SpecMemo", "snapshot_document", "snapshot_from_document"]


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value is not None and value != "":
        target[key] = format_rfc3339(value) if type(value) is datetime else value


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


class SpecMemo:
    """Encoded container specs per pod, reused while the snapshot shares the same tuples.

    ``SnapshotCache`` hands back the very same spec tuples while a pod's spec is unchanged
    (nearly always), so the spec half of the document is encoded once per pod, not per event.
    """

    def __init__(self) -> None:
        self._memo: dict[str, tuple[object, object, list[Any], list[Any]]] = {}

    def specs(self, snapshot: PodSnapshot) -> tuple[list[Any], list[Any]]:
        found = self._memo.get(snapshot.uid)
        if (
            found is not None
            and found[0] is snapshot.init_containers
            and found[1] is snapshot.containers
        ):
            return found[2], found[3]
        init = [_container(c) for c in snapshot.init_containers]
        regular = [_container(c) for c in snapshot.containers]
        self._memo[snapshot.uid] = (snapshot.init_containers, snapshot.containers, init, regular)
        return init, regular

    def forget(self, uid: str) -> None:
        self._memo.pop(uid, None)

    def clear(self) -> None:
        self._memo.clear()


def snapshot_document(snapshot: PodSnapshot, *, memo: SpecMemo | None = None) -> dict[str, Any]:
    """The pod-shaped JSON document of a snapshot (what ``Pod.snapshot`` stores)."""
    meta: dict[str, Any] = {"uid": snapshot.uid, "name": snapshot.name}
    _put(meta, "namespace", snapshot.namespace)
    _put(meta, "resourceVersion", snapshot.resource_version)
    _put(meta, "creationTimestamp", snapshot.creation_timestamp)
    _put(meta, "deletionTimestamp", snapshot.deletion_timestamp)
    _put(meta, "deletionGracePeriodSeconds", snapshot.deletion_grace_period_seconds)
    if snapshot.labels:
        meta["labels"] = dict(snapshot.labels)
    if snapshot.owner_kind or snapshot.owner_name:
        meta["ownerReferences"] = [
            {"kind": snapshot.owner_kind, "name": snapshot.owner_name, "controller": True}
        ]
    spec: dict[str, Any] = {}
    _put(spec, "nodeName", snapshot.node_name)
    _put(spec, "terminationGracePeriodSeconds", snapshot.termination_grace_period_seconds)
    _put(spec, "restartPolicy", snapshot.restart_policy)
    if snapshot.readiness_gates:
        spec["readinessGates"] = [{"conditionType": g} for g in snapshot.readiness_gates]
    if memo is not None:
        init, regular = memo.specs(snapshot)
    else:
        init = [_container(c) for c in snapshot.init_containers]
        regular = [_container(c) for c in snapshot.containers]
    if init:
        spec["initContainers"] = init
    if regular:
        spec["containers"] = regular
    status: dict[str, Any] = {}
    _put(status, "phase", snapshot.phase)
    _put(status, "reason", snapshot.reason)
    _put(status, "message", snapshot.message)
    _put(status, "qosClass", snapshot.qos_class)
    _put(status, "nominatedNodeName", snapshot.nominated_node_name)
    if snapshot.pod_ips:
        status["podIPs"] = [{"ip": ip} for ip in snapshot.pod_ips]
    if snapshot.conditions:
        conditions = []
        for cond in snapshot.conditions:
            item: dict[str, Any] = {"type": cond.type}
            _put(item, "status", cond.status)
            _put(item, "reason", cond.reason)
            _put(item, "message", cond.message)
            _put(item, "lastTransitionTime", cond.last_transition_time)
            conditions.append(item)
        status["conditions"] = conditions
    if snapshot.init_container_statuses:
        status["initContainerStatuses"] = [_status(s) for s in snapshot.init_container_statuses]
    if snapshot.container_statuses:
        status["containerStatuses"] = [_status(s) for s in snapshot.container_statuses]
    return {"metadata": meta, "spec": spec, "status": status}


def snapshot_from_document(document: dict[str, Any]) -> PodSnapshot:
    return snapshot_from_pod(document)
