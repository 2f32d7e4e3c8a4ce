"""Defaulting applied on create, as the API server's defaulting and admission would.

Only fields a client can observe and that the lifecycle dashboard or kubectl read are filled
(pod spec defaults, DefaultTolerationSeconds admission, status.phase/qosClass). Objects created
by the scenario engine go through the same path, as controllers' writes do in a cluster.
"""

from __future__ import annotations

from typing import Any

_TYPE_META = {
    "pods": ("v1", "Pod"),
    "events": ("v1", "Event"),
    "namespaces": ("v1", "Namespace"),
    "endpointslices": ("discovery.k8s.io/v1", "EndpointSlice"),
}


def type_meta(kind: str) -> tuple[str, str]:
    """(apiVersion, Kind) for a resource plural."""
    return _TYPE_META[kind]


def apply_create_defaults(kind: str, obj: dict[str, Any]) -> None:
    api_version, kind_name = _TYPE_META[kind]
    obj["apiVersion"] = api_version
    obj["kind"] = kind_name
    if kind == "pods":
        _default_pod(obj)
    elif kind == "namespaces":
        name = obj["metadata"]["name"]
        labels = obj["metadata"].setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = name
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj["status"] = {"phase": "Active"}
    elif kind == "events":
        obj.setdefault("reportingComponent", "")
        obj.setdefault("reportingInstance", "")


def _default_pod(pod: dict[str, Any]) -> None:
    pod["metadata"]["generation"] = 1
    spec = pod.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    tolerations = spec.setdefault("tolerations", [])
    present = {t.get("key") for t in tolerations}
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if key not in present:
            tolerations.append(
                {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            )
    for container in [*spec.get("initContainers", []), *spec.get("containers", [])]:
        _default_container(container)
    status = pod.setdefault("status", {})
    status.setdefault("phase", "Pending")
    status.setdefault("qosClass", _qos_class(spec))


def _default_container(container: dict[str, Any]) -> None:
    image = str(container.get("image", ""))
    tag_part = image.rsplit("/", 1)[-1]
    untagged = ":" not in tag_part and "@" not in tag_part
    latest = untagged or tag_part.endswith(":latest")
    container.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})


def _qos_class(spec: dict[str, Any]) -> str:
    containers = [*spec.get("initContainers", []), *spec.get("containers", [])]
    requests_seen = False
    guaranteed = bool(containers)
    for container in containers:
        resources = container.get("resources") or {}
        requests = resources.get("requests") or {}
        limits = resources.get("limits") or {}
        if requests or limits:
            requests_seen = True
        for resource in ("cpu", "memory"):
            limit = limits.get(resource)
            request = requests.get(resource, limit)
            if limit is None or request != limit:
                guaranteed = False
    if guaranteed and requests_seen:
        return "Guaranteed"
    return "Burstable" if requests_seen else "BestEffort"
