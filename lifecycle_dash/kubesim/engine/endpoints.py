"""The simulated EndpointSlice controller (reference §3.2).

A pod joins a Service by the label ``kubesim.lifecycle-dash.io/service: <name>`` (Service
objects are not served; the label is the selector). One slice per Service, named
``<service>-<5 chars>``, labelled ``kubernetes.io/service-name``. Per endpoint: ``serving`` =
pod Ready, ``terminating`` = deletionTimestamp set, ``ready`` = serving and not terminating.
An endpoint is removed when the pod is terminal, has no IP, or is gone.

The controller reacts ``endpoint_delay`` simulated seconds after a pod change (changes within
that window are coalesced into one write), so the race between endpoint withdrawal and SIGTERM
is visible and tunable. Every withdrawal step goes to the ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lifecycle_dash.kubesim.engine.behaviour import PREFIX
from lifecycle_dash.kubesim.engine.context import Context
from lifecycle_dash.kubesim.engine.timeline import Timer

SERVICE_LABEL = PREFIX + "service"
MANAGED_BY = "endpointslice-controller.k8s.io"


@dataclass(slots=True)
class _Service:
    namespace: str
    name: str
    uid: str
    slice_name: str
    ports: list[dict[str, Any]]
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: Timer | None = None
    # uid -> (ready, serving, terminating) as last written
    written: dict[str, tuple[bool, bool, bool]] = field(default_factory=dict)


class EndpointController:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.services: dict[tuple[str, str], _Service] = {}

    def on_change(self, type_: str, kind: str, pod: dict[str, Any]) -> None:
        if kind != "pods" or self.ctx.bulk:
            return
        meta = pod["metadata"]
        name = (meta.get("labels") or {}).get(SERVICE_LABEL)
        if not name:
            return
        service = self._service(meta["namespace"], name, pod)
        # Deleted pods stay members until the next sync has withdrawn them.
        service.members[meta["uid"]] = pod
        if service.pending is None:
            service.pending = self.ctx.timeline.after(
                self.ctx.options.endpoint_delay, lambda: self._sync(service)
            )

    def _service(self, namespace: str, name: str, pod: dict[str, Any]) -> _Service:
        key = (namespace, name)
        service = self.services.get(key)
        if service is None:
            ports = []
            for container in pod["spec"].get("containers") or []:
                for port in container.get("ports") or []:
                    entry: dict[str, Any] = {
                        "port": int(port["containerPort"]),
                        "protocol": port.get("protocol", "TCP"),
                    }
                    entry["name"] = port.get("name", "")
                    ports.append(entry)
            service = _Service(
                namespace, name, self.ctx.ids.uid(), f"{name}-{self.ctx.ids.suffix()}", ports
            )
            self.services[key] = service
        return service

    def _sync(self, service: _Service) -> None:
        service.pending = None
        endpoints = []
        seen: dict[str, tuple[bool, bool, bool]] = {}
        for uid, pod in sorted(service.members.items(), key=lambda kv: kv[1]["metadata"]["name"]):
            current = self.ctx.store.get_by_uid(uid)
            if current is None:
                continue
            pod = current[1]
            status = pod.get("status") or {}
            ip = status.get("podIP")
            if not ip or status.get("phase") in ("Succeeded", "Failed"):
                continue
            serving = any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in status.get("conditions") or []
            )
            terminating = bool(pod["metadata"].get("deletionTimestamp"))
            ready = serving and not terminating
            seen[uid] = (ready, serving, terminating)
            endpoints.append(
                {
                    "addresses": [ip],
                    "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
                    "nodeName": pod["spec"].get("nodeName", ""),
                    "targetRef": {
                        "kind": "Pod",
                        "namespace": service.namespace,
                        "name": pod["metadata"]["name"],
                        "uid": uid,
                    },
                }
            )
        self._write(service, endpoints)
        self._record_truth(service, seen)
        service.written = seen
        for uid in [u for u in service.members if self.ctx.store.get_by_uid(u) is None]:
            del service.members[uid]

    def _record_truth(self, service: _Service, seen: dict[str, tuple[bool, bool, bool]]) -> None:
        truth = self.ctx.truth
        for uid, (_, serving, terminating) in seen.items():
            before = service.written.get(uid)
            ref = self._ref(uid, service)
            if terminating and (before is None or not before[2]):
                truth.record("endpoint_terminating", ref, None, service=service.name)
            if before is not None and before[1] and not serving:
                truth.record("endpoint_not_serving", ref, None, service=service.name)
        for uid in service.written.keys() - seen.keys():
            truth.record("endpoint_removed", self._ref(uid, service), None, service=service.name)

    def _ref(self, uid: str, service: _Service) -> dict[str, Any]:
        current = self.ctx.store.get_by_uid(uid)
        if current is not None:
            return current[1]
        last = service.members.get(uid)
        if last is not None:
            return last
        return {"metadata": {"uid": uid, "namespace": service.namespace, "name": ""}}

    def _write(self, service: _Service, endpoints: list[dict[str, Any]]) -> None:
        store = self.ctx.store
        existing = store.get("endpointslices", service.namespace, service.slice_name)
        body: dict[str, Any] = {
            "metadata": {
                "name": service.slice_name,
                "namespace": service.namespace,
                "generateName": f"{service.name}-",
                "labels": {
                    "kubernetes.io/service-name": service.name,
                    "endpointslice.kubernetes.io/managed-by": MANAGED_BY,
                },
                "ownerReferences": [
                    {
                        "apiVersion": "v1",
                        "kind": "Service",
                        "name": service.name,
                        "uid": service.uid,
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "addressType": "IPv4",
            "endpoints": endpoints,
            "ports": service.ports,
        }
        if existing is None:
            store.create("endpointslices", body)
            return
        updated = dict(existing)
        updated["metadata"] = dict(existing["metadata"])
        updated["endpoints"] = endpoints
        store.update("endpointslices", updated)
