"""Per-pod endpoint conditions from discovery.k8s.io/v1 EndpointSlices, and their changes.

EndpointSlices carry no per-endpoint timestamps (reference §3.7), so the only time an
endpoint change has is when we received the slice version that shows it: every
``EndpointObservation`` is stamped with the caller's ``observed_at`` and never more precise.

``diff_endpoint_slices(before, after, observed_at=..., deleted=...)`` compares two versions of
one slice (``before`` None = first sight, ``deleted`` = the watch said DELETED) and reports,
per pod uid, endpoints that appeared, changed conditions or disappeared. Conditions follow the
API's nil rules (ready and serving nil = true, terminating nil = false, per the current
discovery/v1 API documentation). Malformed input never raises: bad endpoints are skipped and
listed in ``SliceEndpoints.problems``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "SERVICE_NAME_LABEL",
    "EndpointConditions",
    "EndpointObservation",
    "SliceEndpoints",
    "diff_endpoint_slices",
    "slice_endpoints",
]

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


@dataclass(frozen=True, slots=True)
class EndpointConditions:
    # Effective values with the API's nil rules applied.
    ready: bool
    serving: bool
    terminating: bool


@dataclass(frozen=True, slots=True)
class SliceEndpoints:
    namespace: str
    name: str
    service_name: str
    # pod uid -> conditions; a pod listed twice keeps its first entry (and a problem says so).
    by_pod_uid: Mapping[str, EndpointConditions]
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EndpointObservation:
    """One pod's endpoint in one slice, as seen at ``observed_at`` (our receive time).

    ``removed`` True means the endpoint is gone from the slice (or the slice was deleted);
    its conditions are then None.
    """

    pod_uid: str
    namespace: str
    slice_name: str
    service_name: str
    observed_at: datetime
    ready: bool | None
    serving: bool | None
    terminating: bool | None
    removed: bool

    @property
    def withdrawn(self) -> bool:
        """No longer receiving new traffic through this slice: removed or not ready."""
        return self.removed or self.ready is False

    @property
    def source(self) -> str:
        return "observed:endpointslice receive time"


def _flag(conditions: Mapping[str, Any], key: str, default: bool, problems: list[str]) -> bool:
    value = conditions.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        problems.append(f"conditions.{key}: expected a boolean")
        return default
    return value


def slice_endpoints(raw: Any) -> SliceEndpoints:
    """The per-pod endpoint conditions of one raw EndpointSlice. Never raises."""
    problems: list[str] = []
    if not isinstance(raw, Mapping):
        return SliceEndpoints("", "", "", {}, ("endpointslice: expected an object",))
    meta = raw.get("metadata")
    if not isinstance(meta, Mapping):
        problems.append("metadata: expected an object")
        meta = {}
    labels = meta.get("labels")
    if not isinstance(labels, Mapping):
        labels = {}
    service = labels.get(SERVICE_NAME_LABEL)
    name = meta.get("name")
    namespace = meta.get("namespace")
    endpoints = raw.get("endpoints")
    if endpoints is None:
        endpoints = []  # an empty slice serializes without the field
    if not isinstance(endpoints, list):
        problems.append("endpoints: expected a list")
        endpoints = []
    by_pod: dict[str, EndpointConditions] = {}
    for index, endpoint in enumerate(endpoints):
        where = f"endpoints[{index}]"
        if not isinstance(endpoint, Mapping):
            problems.append(f"{where}: expected an object")
            continue
        target = endpoint.get("targetRef")
        uid = target.get("uid") if isinstance(target, Mapping) else None
        if not isinstance(uid, str) or not uid:
            # Endpoints of non-pod backends (manual slices) have no pod to attach to.
            problems.append(f"{where}.targetRef.uid: missing")
            continue
        if isinstance(target, Mapping) and target.get("kind") not in (None, "Pod"):
            problems.append(f"{where}.targetRef.kind: not a Pod")
            continue
        conditions = endpoint.get("conditions")
        if conditions is None:
            conditions = {}
        if not isinstance(conditions, Mapping):
            problems.append(f"{where}.conditions: expected an object")
            conditions = {}
        local: list[str] = []
        ready = _flag(conditions, "ready", True, local)
        # Current API docs: nil serving = true (releases before about 1.33 said "defer to
        # ready"); the controller always writes it, so only hand-made slices differ.
        serving = _flag(conditions, "serving", True, local)
        terminating = _flag(conditions, "terminating", False, local)
        problems.extend(f"{where}.{p}" for p in local)
        if uid in by_pod:
            problems.append(f"{where}: pod {uid} listed twice; keeping the first")
            continue
        by_pod[uid] = EndpointConditions(ready=ready, serving=serving, terminating=terminating)
    return SliceEndpoints(
        namespace=namespace if isinstance(namespace, str) else "",
        name=name if isinstance(name, str) else "",
        service_name=service if isinstance(service, str) else "",
        by_pod_uid=by_pod,
        problems=tuple(problems),
    )


def diff_endpoint_slices(
    before: Any,
    after: Any,
    *,
    observed_at: datetime,
    deleted: bool = False,
) -> list[EndpointObservation]:
    """Endpoint changes between two versions of one slice, sorted by pod uid.

    ``before`` None: every endpoint in ``after`` is reported (we do not know what changed).
    ``deleted`` True (or ``after`` None): every endpoint in ``before`` is reported removed.
    """
    old = slice_endpoints(before) if before is not None else None
    last = slice_endpoints(after) if after is not None else None
    ident = last or old
    if ident is None:
        return []
    old_pods = old.by_pod_uid if old is not None else {}
    if deleted or last is None:
        # A DELETED event carries the slice's last state: everything in it is now gone.
        gone = set(old_pods) | set(last.by_pod_uid if last is not None else {})
        return [_removed(uid, ident, observed_at) for uid in sorted(gone)]
    result: list[EndpointObservation] = []
    for uid in sorted(set(old_pods) | set(last.by_pod_uid)):
        current = last.by_pod_uid.get(uid)
        if current is None:
            result.append(_removed(uid, ident, observed_at))
        elif old is None or old_pods.get(uid) != current:
            result.append(
                EndpointObservation(
                    uid,
                    ident.namespace,
                    ident.name,
                    ident.service_name,
                    observed_at,
                    current.ready,
                    current.serving,
                    current.terminating,
                    removed=False,
                )
            )
    return result


def _removed(uid: str, ident: SliceEndpoints, observed_at: datetime) -> EndpointObservation:
    return EndpointObservation(
        uid,
        ident.namespace,
        ident.name,
        ident.service_name,
        observed_at,
        None,
        None,
        None,
        removed=True,
    )
