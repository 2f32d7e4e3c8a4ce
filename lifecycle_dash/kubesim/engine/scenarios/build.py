"""Small builders for scenario manifests: containers, probes, annotations, pod templates."""

from __future__ import annotations

from typing import Any

from lifecycle_dash.kubesim.engine.behaviour import PREFIX
from lifecycle_dash.kubesim.engine.controllers import PodTemplate
from lifecycle_dash.kubesim.engine.endpoints import SERVICE_LABEL


def container(
    name: str,
    image: str,
    *,
    port: int | None = None,
    port_name: str = "http",
    prestop_sleep: int | None = None,
    prestop_exec: list[str] | None = None,
    poststart_exec: list[str] | None = None,
    readiness: bool = False,
    liveness: dict[str, Any] | None = None,
    cpu: str | None = None,
    memory: str | None = None,
    command: list[str] | None = None,
    restart_policy: str | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "image": image}
    if command:
        spec["command"] = command
    if port is not None:
        spec["ports"] = [{"name": port_name, "containerPort": port, "protocol": "TCP"}]
    lifecycle: dict[str, Any] = {}
    if prestop_sleep is not None:
        lifecycle["preStop"] = {"sleep": {"seconds": prestop_sleep}}
    if prestop_exec is not None:
        lifecycle["preStop"] = {"exec": {"command": prestop_exec}}
    if poststart_exec is not None:
        lifecycle["postStart"] = {"exec": {"command": poststart_exec}}
    if lifecycle:
        spec["lifecycle"] = lifecycle
    if readiness:
        spec["readinessProbe"] = {
            "httpGet": {"path": "/ready", "port": port or 8080},
            "periodSeconds": 5,
            "failureThreshold": 3,
        }
    if liveness is not None:
        spec["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": port or 8080}, **liveness}
    if cpu or memory:
        requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
        spec["resources"] = {"requests": requests, "limits": {"memory": memory} if memory else {}}
        if not spec["resources"]["limits"]:
            del spec["resources"]["limits"]
    if restart_policy:
        spec["restartPolicy"] = restart_policy
    return spec


def behaviour(container_name: str, **values: Any) -> dict[str, str]:
    """``behaviour("app", crash_after="5s")`` -> the pod annotations declaring it."""
    result = {}
    for key, value in values.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        result[f"{PREFIX}{container_name}.{key.replace('_', '-')}"] = str(value)
    return result


def pod_spec(
    containers: list[dict[str, Any]],
    *,
    init: list[dict[str, Any]] | None = None,
    grace: int | None = None,
    restart_policy: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": containers}
    if init:
        spec["initContainers"] = init
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    if restart_policy:
        spec["restartPolicy"] = restart_policy
    spec.update(extra)
    return spec


def bare_pod(
    namespace: str,
    name: str,
    spec: dict[str, Any],
    annotations: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels or {"app": name}}
    if annotations:
        meta["annotations"] = annotations
    return {"metadata": meta, "spec": spec}


def template(
    app: str,
    spec: dict[str, Any],
    annotations: dict[str, str] | None = None,
    *,
    service: str | None = None,
    labels: dict[str, str] | None = None,
) -> PodTemplate:
    all_labels = {"app": app, **(labels or {})}
    if service:
        all_labels[SERVICE_LABEL] = service
    return PodTemplate(labels=all_labels, spec=spec, annotations=dict(annotations or {}))
