"""Server-side printing: ``meta.k8s.io/v1 Table`` responses, as kubectl requests them.

kubectl asks for ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io`` and prints whatever
columns the server returns, so the simulator's ``kubectl get pods`` shows exactly what the
project's own kubectl-column logic (``lifecycle.kubectl_columns``) computes. Rows carry the object
as ``PartialObjectMetadata`` by default (``includeObject=Metadata``), the full object with
``includeObject=Object``, nothing with ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from lifecycle_dash.kubesim import errors
from lifecycle_dash.kubesim.clock import parse_time
from lifecycle_dash.lifecycle import format_age, kubectl_columns

Column = tuple[str, str, int, str]  # name, type, priority, description

_NAME_DESC = (
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically."
)
_AGE_DESC = (
    "CreationTimestamp is a timestamp representing the server time when this object was created."
)
COLUMNS: dict[str, list[Column]] = {
    "pods": [
        ("Name", "string", 0, _NAME_DESC),
        ("Ready", "string", 0, "The aggregate readiness state of this pod for accepting traffic."),
        ("Status", "string", 0, "The aggregate status of the containers in this pod."),
        (
            "Restarts",
            "string",
            0,
            "The number of times the containers in this pod have been restarted.",
        ),
        ("Age", "string", 0, _AGE_DESC),
        (
            "IP",
            "string",
            1,
            "IP address allocated to the pod. Empty if not yet allocated.",
        ),
        ("Node", "string", 1, "NodeName is a request to schedule this pod onto a specific node."),
        (
            "Nominated Node",
            "string",
            1,
            "nominatedNodeName is set only when this pod preempts other pods on the node.",
        ),
        (
            "Readiness Gates",
            "string",
            1,
            "If specified, all readiness gates will be evaluated for pod readiness.",
        ),
    ],
    "events": [
        ("Last Seen", "string", 0, "The last time this event was observed."),
        (
            "Type",
            "string",
            0,
            "Type of this event (Normal, Warning), new types could be added in the future.",
        ),
        (
            "Reason",
            "string",
            0,
            "A short, machine understandable reason for the transition.",
        ),
        ("Object", "string", 0, "The object that this event is about."),
        ("Subobject", "string", 1, "The subobject (for example a container) this event is about."),
        ("Source", "string", 1, "The component reporting this event."),
        ("Message", "string", 0, "A human-readable description of the status of this operation."),
        ("First Seen", "string", 1, "The time at which the event was first recorded."),
        ("Count", "string", 1, "The number of times this event has occurred."),
        ("Name", "string", 1, _NAME_DESC),
    ],
    "endpointslices": [
        ("Name", "string", 0, _NAME_DESC),
        ("AddressType", "string", 0, "The IP protocol for this slice."),
        ("Ports", "string", 0, "Any ports exposed on the endpoint."),
        ("Endpoints", "string", 0, "A list of up to 3 endpoints."),
        ("Age", "string", 0, _AGE_DESC),
    ],
    "namespaces": [
        ("Name", "string", 0, _NAME_DESC),
        ("Status", "string", 0, "The status of the namespace"),
        ("Age", "string", 0, _AGE_DESC),
    ],
}


def requested_table_version(accept: str) -> str | None:
    """The meta.k8s.io Table version the Accept header prefers, or None for plain JSON."""
    for media_range in accept.split(","):
        params = dict(
            part.strip().split("=", 1) for part in media_range.split(";")[1:] if "=" in part
        )
        media_type = media_range.split(";")[0].strip()
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io":
            if params.get("v") in ("v1", "v1beta1"):
                return params["v"]
            continue
        if media_type in ("application/json", "*/*", "application/*") and "as" not in params:
            return None
    return None


def column_definitions(kind: str) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "type": type_,
            "format": "name" if name == "Name" else "",
            "description": description,
            "priority": priority,
        }
        for name, type_, priority, description in COLUMNS[kind]
    ]


def table(
    kind: str,
    objects: Iterable[dict[str, Any]],
    *,
    now: datetime,
    include_object: str,
    version: str,
    list_meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "kind": "Table",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": list_meta or {},
        "columnDefinitions": column_definitions(kind),
        "rows": [row(kind, obj, now=now, include_object=include_object) for obj in objects],
    }


def check_include_object(value: str | None) -> str:
    value = value or "Metadata"
    if value not in ("Object", "Metadata", "None"):
        raise errors.bad_request(f"includeObject must be one of Object, Metadata, None: {value}")
    return value


def row(kind: str, obj: dict[str, Any], *, now: datetime, include_object: str) -> dict[str, Any]:
    cells = _CELLS[kind](obj, now)
    result: dict[str, Any] = {"cells": cells}
    if kind == "pods" and (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        # kubectl's printPod marks finished pods so clients can hide them.
        result["conditions"] = [
            {"type": "Completed", "status": "True", "reason": obj["status"]["phase"], "message": ""}
        ]
    if include_object == "Object":
        result["object"] = obj
    elif include_object == "Metadata":
        result["object"] = {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata", {}),
        }
    return result


def _age(timestamp: str | None, now: datetime) -> str:
    if not timestamp:
        return "<unknown>"
    return format_age(now - parse_time(timestamp))


def _pod_cells(pod: dict[str, Any], now: datetime) -> list[Any]:
    columns = kubectl_columns(pod, now=now)
    return [
        pod["metadata"]["name"],
        columns.ready,
        columns.status,
        columns.restarts,
        columns.age,
        columns.ip,
        columns.node,
        columns.nominated_node,
        columns.readiness_gates,
    ]


def _event_cells(event: dict[str, Any], now: datetime) -> list[Any]:
    involved = event.get("involvedObject") or {}
    series = event.get("series") or {}
    last = (
        series.get("lastObservedTime")
        or event.get("lastTimestamp")
        or event.get("eventTime")
        or event["metadata"].get("creationTimestamp")
    )
    first = event.get("firstTimestamp") or event.get("eventTime")
    count = int(series.get("count") or event.get("count") or 1)
    last_seen = _age(last, now)
    if count > 1 and first:
        last_seen = f"{last_seen} (x{count} over {_age(first, now)})"
    source = event.get("source") or {}
    source_text = source.get("component") or event.get("reportingComponent") or ""
    if source.get("host"):
        source_text = f"{source_text}, {source['host']}"
    kind = str(involved.get("kind", "")).lower()
    return [
        last_seen,
        event.get("type", ""),
        event.get("reason", ""),
        f"{kind}/{involved.get('name', '')}",
        involved.get("fieldPath", ""),
        source_text,
        (event.get("message") or "").strip(),
        _age(first, now) if first else "<unknown>",
        count,
        event["metadata"]["name"],
    ]


def _endpointslice_cells(slice_: dict[str, Any], now: datetime) -> list[Any]:
    ports = slice_.get("ports") or []
    port_text = ",".join(str(p.get("port", "")) for p in ports if p.get("port")) or "<unset>"
    addresses = [a for e in slice_.get("endpoints") or [] for a in e.get("addresses") or []]
    endpoint_text = ",".join(addresses[:3]) or "<unset>"
    if len(addresses) > 3:
        endpoint_text += f" + {len(addresses) - 3} more..."
    return [
        slice_["metadata"]["name"],
        slice_.get("addressType", ""),
        port_text,
        endpoint_text,
        _age(slice_["metadata"].get("creationTimestamp"), now),
    ]


def _namespace_cells(namespace: dict[str, Any], now: datetime) -> list[Any]:
    return [
        namespace["metadata"]["name"],
        (namespace.get("status") or {}).get("phase", ""),
        _age(namespace["metadata"].get("creationTimestamp"), now),
    ]


_CELLS = {
    "pods": _pod_cells,
    "events": _event_cells,
    "endpointslices": _endpointslice_cells,
    "namespaces": _namespace_cells,
}
