"""Realistic pod JSON, built in code, shaped like ``kubectl get pod -o json`` prints it.

Shared by all lifecycle tests (snapshot, diff, kubectl columns, termination, startup...).
Every pod carries the noise a real one has (managedFields, annotations incl. a
last-applied-configuration, env with secret references, volumes, tolerations, command lines)
so redaction and robustness are exercised on every test, not only on a dedicated one.

Building blocks (each returns a fresh plain dict / list, safe to mutate):

- ``ts(seconds)``: RFC 3339 string for ``T0 + seconds`` (``T0`` = 2024-05-01T12:00:00Z).
- ``container(name, ...)``: a spec container with env, probes, hooks, resources.
- ``running(name, ...)``, ``waiting(name, reason, ...)``, ``terminated(name, exit_code, ...)``:
  container statuses; ``last_terminated=...`` (from ``term(...)``) fills ``lastState``.
- ``condition(type, status, ...)``, ``standard_conditions(ready=..., ...)``.
- ``pod(...)``: assemble a full pod object; keyword arguments for every lifecycle knob.
- Scenario shortcuts: ``running_pod``, ``pending_unscheduled_pod``, ``crashloop_pod``,
  ``terminating_pod``, ``completed_pod``, ``sidecar_pod``.
- ``SECRETS``: every secret-looking string planted in the pods; none may leave a snapshot.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)

# Strings planted in env values, args, commands, annotations, volumes. Redaction tests assert
# none of them appears anywhere in a snapshot.
SECRET_ENV_VALUE = "s3cr3t-env-value-do-not-store"
SECRET_ARG = "--db-password=hunter2-do-not-store"
SECRET_COMMAND = "/app/bin/server-with-token-abc123"
SECRET_PROBE_COMMAND = "check-health --api-key=probe-key-do-not-store"
SECRET_HOOK_COMMAND = "curl -H 'Authorization: Bearer hook-token-do-not-store' localhost"
SECRET_NAME = "db-credentials-secret-ref"
CONFIGMAP_NAME = "app-config-configmap-ref"
SECRET_ANNOTATION = "annotation-token-do-not-store"
SECRETS = (
    SECRET_ENV_VALUE,
    "hunter2",
    SECRET_COMMAND,
    "probe-key-do-not-store",
    "hook-token-do-not-store",
    SECRET_NAME,
    CONFIGMAP_NAME,
    SECRET_ANNOTATION,
    "DATABASE_PASSWORD",  # an env var name
    "/etc/secret-volume",  # a mount path
    "last-applied-configuration",
)

Json = dict[str, Any]


def ts(seconds: float = 0) -> str:
    """RFC 3339 (whole seconds, Z) for T0 + seconds, as the API writes metav1.Time."""
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def at(seconds: float = 0) -> datetime:
    return T0 + timedelta(seconds=seconds)


# --- spec ---------------------------------------------------------------------------------


def http_probe(path: str = "/healthz", port: int = 8080, **timing: int) -> Json:
    probe: Json = {
        "httpGet": {"path": path, "port": port, "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    probe.update(timing)
    return probe


def exec_probe(**timing: int) -> Json:
    probe: Json = {"exec": {"command": ["sh", "-c", SECRET_PROBE_COMMAND]}}
    probe.update(timing)
    return probe


def tcp_probe(port: int = 5432, **timing: int) -> Json:
    probe: Json = {"tcpSocket": {"port": port}}
    probe.update(timing)
    return probe


def grpc_probe(port: int = 9090, **timing: int) -> Json:
    probe: Json = {"grpc": {"port": port}}
    probe.update(timing)
    return probe


def sleep_hook(seconds: int = 5) -> Json:
    return {"sleep": {"seconds": seconds}}


def exec_hook(*command: str) -> Json:
    return {"exec": {"command": list(command) or ["sh", "-c", SECRET_HOOK_COMMAND]}}


def http_hook(path: str = "/shutdown", port: int = 8080) -> Json:
    return {"httpGet": {"path": path, "port": port}}


def container(
    name: str = "app",
    *,
    image: str = "registry.example.com/team/app:1.4.2",
    liveness: Json | None = None,
    readiness: Json | None = None,
    startup: Json | None = None,
    pre_stop: Json | None = None,
    post_start: Json | None = None,
    restart_policy: str | None = None,
    probes: bool = True,
) -> Json:
    """A spec container with the noise a real one has (env, secrets, args, mounts, resources).

    ``probes=True`` adds default http liveness/readiness probes unless given explicitly.
    """
    c: Json = {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": [SECRET_COMMAND],
        "args": ["--port=8080", SECRET_ARG, "--log-level=info"],
        "env": [
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "API_TOKEN", "value": SECRET_ENV_VALUE},
            {
                "name": "DATABASE_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": SECRET_NAME, "key": "password"}},
            },
            {
                "name": "FEATURE_FLAGS",
                "valueFrom": {"configMapKeyRef": {"name": CONFIGMAP_NAME, "key": "flags"}},
            },
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        ],
        "envFrom": [
            {"secretRef": {"name": SECRET_NAME}},
            {"configMapRef": {"name": CONFIGMAP_NAME}},
        ],
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
        "volumeMounts": [
            {"name": "secret-volume", "mountPath": "/etc/secret-volume", "readOnly": True},
            {"name": "config", "mountPath": "/etc/app"},
            {
                "name": "kube-api-access-9xk2p",
                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                "readOnly": True,
            },
        ],
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
    }
    if probes:
        liveness = liveness if liveness is not None else http_probe(initialDelaySeconds=10)
        readiness = readiness if readiness is not None else http_probe("/ready")
    if liveness is not None:
        c["livenessProbe"] = liveness
    if readiness is not None:
        c["readinessProbe"] = readiness
    if startup is not None:
        c["startupProbe"] = startup
    lifecycle: Json = {}
    if post_start is not None:
        lifecycle["postStart"] = post_start
    if pre_stop is not None:
        lifecycle["preStop"] = pre_stop
    if lifecycle:
        c["lifecycle"] = lifecycle
    if restart_policy is not None:
        c["restartPolicy"] = restart_policy
    return c


def init_container(name: str = "init-db", *, sidecar: bool = False, **kw: Any) -> Json:
    kw.setdefault("probes", sidecar)
    kw.setdefault("image", "registry.example.com/team/migrate:2.0.0")
    if sidecar:
        kw["restart_policy"] = "Always"
    return container(name, **kw)


# --- status -------------------------------------------------------------------------------


def term(
    exit_code: int = 0,
    *,
    reason: str | None = None,
    started: float = 0,
    finished: float = 10,
    signal: int | None = None,
    message: str | None = None,
    container_id: str | None = "containerd://0f0e0d0c0b0a",
) -> Json:
    """A ``terminated`` state body."""
    t: Json = {
        "exitCode": exit_code,
        "reason": reason if reason is not None else ("Completed" if exit_code == 0 else "Error"),
        "startedAt": ts(started),
        "finishedAt": ts(finished),
    }
    if reason == "":
        del t["reason"]
    if signal is not None:
        t["signal"] = signal
    if message is not None:
        t["message"] = message
    if container_id is not None:
        t["containerID"] = container_id
    return t


def _status(
    name: str,
    state: Json,
    *,
    ready: bool,
    started: bool | None,
    restart_count: int,
    last_terminated: Json | None,
    image: str,
    container_id: str | None,
) -> Json:
    s: Json = {
        "name": name,
        "state": state,
        "lastState": {"terminated": last_terminated} if last_terminated else {},
        "ready": ready,
        "restartCount": restart_count,
        "image": image,
        "imageID": image.split(":")[0] + "@sha256:" + "ab" * 32,
    }
    if started is not None:
        s["started"] = started
    if container_id is not None:
        s["containerID"] = container_id
    return s


def running(
    name: str = "app",
    *,
    started_at: float = 5,
    ready: bool = True,
    started: bool | None = True,
    restart_count: int = 0,
    last_terminated: Json | None = None,
    image: str = "registry.example.com/team/app:1.4.2",
    container_id: str = "containerd://4f3c2b1a0099",
) -> Json:
    return _status(
        name,
        {"running": {"startedAt": ts(started_at)}},
        ready=ready,
        started=started,
        restart_count=restart_count,
        last_terminated=last_terminated,
        image=image,
        container_id=container_id,
    )


def waiting(
    name: str = "app",
    reason: str | None = "ContainerCreating",
    *,
    message: str | None = None,
    ready: bool = False,
    started: bool | None = False,
    restart_count: int = 0,
    last_terminated: Json | None = None,
    image: str = "registry.example.com/team/app:1.4.2",
    container_id: str | None = None,
) -> Json:
    body: Json = {}
    if reason is not None:
        body["reason"] = reason
    if message is not None:
        body["message"] = message
    return _status(
        name,
        {"waiting": body},
        ready=ready,
        started=started,
        restart_count=restart_count,
        last_terminated=last_terminated,
        image=image,
        container_id=container_id,
    )


def terminated(
    name: str = "app",
    exit_code: int = 0,
    *,
    reason: str | None = None,
    started_at: float = 5,
    finished_at: float = 60,
    signal: int | None = None,
    ready: bool = False,
    started: bool | None = False,
    restart_count: int = 0,
    last_terminated: Json | None = None,
    image: str = "registry.example.com/team/app:1.4.2",
    container_id: str = "containerd://4f3c2b1a0099",
) -> Json:
    return _status(
        name,
        {
            "terminated": term(
                exit_code,
                reason=reason,
                started=started_at,
                finished=finished_at,
                signal=signal,
                container_id=container_id,
            )
        },
        ready=ready,
        started=started,
        restart_count=restart_count,
        last_terminated=last_terminated,
        image=image,
        container_id=container_id,
    )


def no_state(name: str = "app", **kw: Any) -> Json:
    """A status with an empty ``state`` object (the API's "none set" = waiting)."""
    s = waiting(name, None, **kw)
    s["state"] = {}
    return s


def condition(
    type_: str,
    status: str = "True",
    *,
    reason: str | None = None,
    message: str | None = None,
    at_: float = 0,
) -> Json:
    c: Json = {
        "type": type_,
        "status": status,
        "lastProbeTime": None,
        "lastTransitionTime": ts(at_),
    }
    if reason is not None:
        c["reason"] = reason
    if message is not None:
        c["message"] = message
    return c


def standard_conditions(
    *,
    scheduled: bool = True,
    initialized: bool = True,
    ready: bool = True,
    at_: float = 0,
    ready_at: float | None = None,
) -> list[Json]:
    ready_time = at_ + 6 if ready_at is None else ready_at
    conds = [
        condition("PodReadyToStartContainers", "True" if scheduled else "False", at_=at_ + 2),
        condition(
            "Initialized",
            "True" if initialized else "False",
            reason=None if initialized else "ContainersNotInitialized",
            at_=at_ + 1,
        ),
        condition(
            "Ready",
            "True" if ready else "False",
            reason=None if ready else "ContainersNotReady",
            message=None if ready else "containers with unready status: [app]",
            at_=ready_time,
        ),
        condition(
            "ContainersReady",
            "True" if ready else "False",
            reason=None if ready else "ContainersNotReady",
            message=None if ready else "containers with unready status: [app]",
            at_=ready_time,
        ),
        condition("PodScheduled", "True", at_=at_),
    ]
    if not scheduled:
        return [condition("PodScheduled", "False", reason="Unschedulable", at_=at_)]
    return conds


# --- the pod ------------------------------------------------------------------------------


def _managed_fields() -> list[Json]:
    return [
        {
            "manager": "kube-controller-manager",
            "operation": "Update",
            "apiVersion": "v1",
            "time": ts(0),
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {
                    "f:generateName": {},
                    "f:labels": {".": {}, "f:app": {}, "f:pod-template-hash": {}},
                    "f:ownerReferences": {".": {}, 'k:{"uid":"rs-uid"}': {}},
                },
                "f:spec": {
                    "f:containers": {'k:{"name":"app"}': {".": {}, "f:env": {}, "f:image": {}}},
                    "f:terminationGracePeriodSeconds": {},
                    "f:volumes": {},
                },
            },
        },
        {
            "manager": "kubelet",
            "operation": "Update",
            "apiVersion": "v1",
            "time": ts(6),
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:status": {
                    "f:conditions": {'k:{"type":"Ready"}': {".": {}, "f:status": {}}},
                    "f:containerStatuses": {},
                    "f:phase": {},
                    "f:podIP": {},
                },
            },
            "subresource": "status",
        },
    ]


def pod(
    *,
    name: str = "web-7d9f8b6c5-x2x4q",
    namespace: str = "shop",
    uid: str = "3f1e6a52-8c1b-4d7e-9a0f-2b4c6d8e0f11",
    resource_version: str = "1000",
    created: float = 0,
    node: str | None = "node-a-1",
    pod_ips: Sequence[str] = ("10.244.1.17",),
    phase: str = "Running",
    reason: str | None = None,
    message: str | None = None,
    nominated_node: str | None = None,
    containers: Sequence[Json] | None = None,
    init_containers: Sequence[Json] = (),
    container_statuses: Sequence[Json] | None = None,
    init_container_statuses: Sequence[Json] | None = None,
    conditions: Sequence[Json] | None = None,
    readiness_gates: Sequence[str] = (),
    restart_policy: str = "Always",
    termination_grace: int | None = 30,
    deletion_timestamp: float | None = None,
    deletion_grace: int | None = None,
    qos_class: str = "Burstable",
    owner: tuple[str, str] | None = ("ReplicaSet", "web-7d9f8b6c5"),
    labels: dict[str, str] | None = None,
    scheduling_gates: Sequence[str] = (),
) -> Json:
    """A full pod object as the API returns it. Defaults: a ready, running Deployment pod."""
    containers = list(containers) if containers is not None else [container("app")]
    if container_statuses is None:
        container_statuses = [running(c["name"]) for c in containers]
    if init_container_statuses is None:
        init_container_statuses = [
            running(c["name"], image=c["image"])
            if c.get("restartPolicy") == "Always"
            else terminated(c["name"], 0, started_at=1, finished_at=3, image=c["image"])
            for c in init_containers
        ]
    if conditions is None:
        conditions = standard_conditions()
    meta: Json = {
        "name": name,
        "generateName": name.rsplit("-", 1)[0] + "-",
        "namespace": namespace,
        "uid": uid,
        "resourceVersion": resource_version,
        "generation": 1,
        "creationTimestamp": ts(created),
        "labels": labels
        if labels is not None
        else {"app": "web", "pod-template-hash": "7d9f8b6c5"},
        "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": (
                '{"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"env":[{"name":'
                f'"API_TOKEN","value":"{SECRET_ANNOTATION}"}}]}}]}}}}'
            ),
            "checksum/config": "9f86d081884c7d659a2feaa0c55ad015",
            "vault.example.com/token": SECRET_ANNOTATION,
        },
        "managedFields": _managed_fields(),
    }
    if owner is not None:
        meta["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": owner[0],
                "name": owner[1],
                "uid": "b7c9d1e3-5f7a-4b9c-8d0e-1f2a3b4c5d6e",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    if deletion_timestamp is not None:
        meta["deletionTimestamp"] = ts(deletion_timestamp)
        meta["deletionGracePeriodSeconds"] = (
            deletion_grace if deletion_grace is not None else (termination_grace or 30)
        )
        meta["generation"] = 2
    spec: Json = {
        "volumes": [
            {"name": "secret-volume", "secret": {"secretName": SECRET_NAME, "defaultMode": 420}},
            {"name": "config", "configMap": {"name": CONFIGMAP_NAME, "defaultMode": 420}},
            {
                "name": "kube-api-access-9xk2p",
                "projected": {
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt"}]}},
                    ],
                    "defaultMode": 420,
                },
            },
        ],
        "containers": containers,
        "restartPolicy": restart_policy,
        "dnsPolicy": "ClusterFirst",
        "serviceAccountName": "web",
        "serviceAccount": "web",
        "securityContext": {"fsGroup": 2000},
        "schedulerName": "default-scheduler",
        "tolerations": [
            {
                "key": "node.kubernetes.io/not-ready",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            },
            {
                "key": "node.kubernetes.io/unreachable",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            },
        ],
        "priority": 0,
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
    }
    if init_containers:
        spec["initContainers"] = list(init_containers)
    if termination_grace is not None:
        spec["terminationGracePeriodSeconds"] = termination_grace
    if node is not None:
        spec["nodeName"] = node
    if readiness_gates:
        spec["readinessGates"] = [{"conditionType": g} for g in readiness_gates]
    if scheduling_gates:
        spec["schedulingGates"] = [{"name": g} for g in scheduling_gates]
    status: Json = {"phase": phase, "conditions": list(conditions), "qosClass": qos_class}
    if node is not None:
        status["hostIP"] = "192.168.10.21"
        status["hostIPs"] = [{"ip": "192.168.10.21"}]
        status["startTime"] = ts(created + 1)
    if pod_ips:
        status["podIP"] = pod_ips[0]
        status["podIPs"] = [{"ip": ip} for ip in pod_ips]
    if reason is not None:
        status["reason"] = reason
    if message is not None:
        status["message"] = message
    if nominated_node is not None:
        status["nominatedNodeName"] = nominated_node
    if init_container_statuses:
        status["initContainerStatuses"] = list(init_container_statuses)
    if container_statuses:
        status["containerStatuses"] = list(container_statuses)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def evolve(
    raw: Json, change: Callable[[Json], None], *, resource_version: str | None = None
) -> Json:
    """A deep copy of ``raw`` with ``change`` applied and the resourceVersion bumped."""
    new = copy.deepcopy(raw)
    change(new)
    if resource_version is None:
        resource_version = str(int(raw["metadata"].get("resourceVersion", "0") or 0) + 1)
    new["metadata"]["resourceVersion"] = resource_version
    return new


# --- scenario shortcuts -------------------------------------------------------------------


def running_pod(**kw: Any) -> Json:
    return pod(**kw)


def pending_unscheduled_pod(**kw: Any) -> Json:
    kw.setdefault("node", None)
    kw.setdefault("pod_ips", ())
    kw.setdefault("phase", "Pending")
    kw.setdefault("container_statuses", [])
    kw.setdefault("conditions", standard_conditions(scheduled=False))
    kw.setdefault("qos_class", "Burstable")
    return pod(**kw)


def crashloop_pod(restarts: int = 5, **kw: Any) -> Json:
    kw.setdefault(
        "container_statuses",
        [
            waiting(
                "app",
                "CrashLoopBackOff",
                message="back-off 2m40s restarting failed container=app pod=web(uid)",
                restart_count=restarts,
                last_terminated=term(1, started=100, finished=110),
                container_id="containerd://4f3c2b1a0099",
            )
        ],
    )
    kw.setdefault("conditions", standard_conditions(ready=False))
    return pod(**kw)


def terminating_pod(*, requested: float = 100, grace: int = 30, **kw: Any) -> Json:
    kw.setdefault("deletion_timestamp", requested + grace)
    kw.setdefault("deletion_grace", grace)
    kw.setdefault("termination_grace", grace)
    return pod(**kw)


def completed_pod(**kw: Any) -> Json:
    kw.setdefault("phase", "Succeeded")
    kw.setdefault("restart_policy", "Never")
    kw.setdefault("owner", ("Job", "nightly-report"))
    kw.setdefault("container_statuses", [terminated("app", 0, reason="Completed", finished_at=120)])
    kw.setdefault(
        "conditions",
        [
            condition("PodReadyToStartContainers", "False", at_=121),
            condition("Initialized", "True", reason="PodCompleted", at_=1),
            condition("Ready", "False", reason="PodCompleted", at_=121),
            condition("ContainersReady", "False", reason="PodCompleted", at_=121),
            condition("PodScheduled", "True", at_=0),
        ],
    )
    return pod(**kw)


def sidecar_pod(**kw: Any) -> Json:
    """Init container + sidecar (restartPolicy Always) + app, all up."""
    kw.setdefault(
        "init_containers",
        [
            init_container("init-db"),
            init_container(
                "istio-proxy",
                sidecar=True,
                image="registry.example.com/mesh/proxy:1.22",
                pre_stop=exec_hook("sleep", "5"),
            ),
        ],
    )
    kw.setdefault("containers", [container("app", pre_stop=sleep_hook(10))])
    return pod(**kw)
