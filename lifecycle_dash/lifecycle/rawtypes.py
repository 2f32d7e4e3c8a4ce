"""TypedDicts for the raw pod JSON the lifecycle reads (the API's field names, camelCase).

Only the members the lifecycle reads are declared; everything is optional (``total=False``)
because nothing guarantees a field is present, and ``snapshot_from_pod`` checks every type at
run time anyway. They document the shape for callers and type the test factory; they are not
a validation layer.
"""

from __future__ import annotations

from typing import TypedDict

__all__ = [
    "RawContainer",
    "RawContainerState",
    "RawContainerStatus",
    "RawHandler",
    "RawObjectMeta",
    "RawOwnerReference",
    "RawPod",
    "RawPodCondition",
    "RawPodIP",
    "RawPodSpec",
    "RawPodStatus",
    "RawProbe",
    "RawReadinessGate",
    "RawStateRunning",
    "RawStateTerminated",
    "RawStateWaiting",
]


class RawOwnerReference(TypedDict, total=False):
    apiVersion: str
    kind: str
    name: str
    uid: str
    controller: bool


class RawObjectMeta(TypedDict, total=False):
    uid: str
    name: str
    namespace: str
    resourceVersion: str
    creationTimestamp: str
    deletionTimestamp: str
    deletionGracePeriodSeconds: int
    labels: dict[str, str]
    ownerReferences: list[RawOwnerReference]


class RawHandler(TypedDict, total=False):
    """A lifecycle hook handler; ``exec`` is read only to recognise a literal ``sleep N``."""

    exec: dict[str, list[str]]
    httpGet: dict[str, object]
    tcpSocket: dict[str, object]
    sleep: dict[str, int]


class RawProbe(TypedDict, total=False):
    exec: dict[str, object]
    httpGet: dict[str, object]
    tcpSocket: dict[str, object]
    grpc: dict[str, object]
    initialDelaySeconds: int
    periodSeconds: int
    timeoutSeconds: int
    failureThreshold: int
    successThreshold: int
    terminationGracePeriodSeconds: int


class RawContainer(TypedDict, total=False):
    name: str
    image: str
    restartPolicy: str
    lifecycle: dict[str, RawHandler]  # postStart, preStop
    livenessProbe: RawProbe
    readinessProbe: RawProbe
    startupProbe: RawProbe


class RawReadinessGate(TypedDict, total=False):
    conditionType: str


class RawPodSpec(TypedDict, total=False):
    nodeName: str
    restartPolicy: str
    terminationGracePeriodSeconds: int
    readinessGates: list[RawReadinessGate]
    initContainers: list[RawContainer]
    containers: list[RawContainer]


class RawStateWaiting(TypedDict, total=False):
    reason: str
    message: str


class RawStateRunning(TypedDict, total=False):
    startedAt: str


class RawStateTerminated(TypedDict, total=False):
    exitCode: int
    signal: int
    reason: str
    message: str
    startedAt: str
    finishedAt: str
    containerID: str


class RawContainerState(TypedDict, total=False):
    waiting: RawStateWaiting
    running: RawStateRunning
    terminated: RawStateTerminated


class RawContainerStatus(TypedDict, total=False):
    name: str
    state: RawContainerState
    lastState: RawContainerState
    restartCount: int
    started: bool
    ready: bool
    containerID: str
    image: str
    imageID: str


class RawPodCondition(TypedDict, total=False):
    type: str
    status: str
    reason: str
    message: str
    lastTransitionTime: str


class RawPodIP(TypedDict, total=False):
    ip: str


class RawPodStatus(TypedDict, total=False):
    phase: str
    reason: str
    message: str
    nominatedNodeName: str
    qosClass: str
    podIP: str
    podIPs: list[RawPodIP]
    conditions: list[RawPodCondition]
    initContainerStatuses: list[RawContainerStatus]
    containerStatuses: list[RawContainerStatus]


class RawPod(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: RawObjectMeta
    spec: RawPodSpec
    status: RawPodStatus
