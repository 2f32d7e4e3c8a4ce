"""Static discovery and OpenAPI documents.

Only the legacy (unaggregated) discovery form is served: client-go asks for aggregated
discovery in its Accept header and falls back when the response is plain ``application/json``.

The OpenAPI v3 documents are deliberately minimal: ``kubectl apply``/``create`` with the default
``--validate=strict`` looks for a PATCH operation tagged with the object's
group-version-kind that declares the ``fieldValidation`` query parameter. Finding it, kubectl
leaves validation to the server (``?fieldValidation=Strict``) instead of downloading the
full schema for client-side validation.
"""

from __future__ import annotations

from typing import Any

SERVER_VERSION = {
    "major": "1",
    "minor": "33",
    "gitVersion": "v1.33.0-kubesim",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.24.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}

_ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

CORE_RESOURCES: dict[str, Any] = {
    "kind": "APIResourceList",
    "groupVersion": "v1",
    "resources": [
        {
            "name": "events",
            "singularName": "event",
            "namespaced": True,
            "kind": "Event",
            "verbs": _ALL_VERBS,
            "shortNames": ["ev"],
        },
        {
            "name": "namespaces",
            "singularName": "namespace",
            "namespaced": False,
            "kind": "Namespace",
            "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            "shortNames": ["ns"],
        },
        {
            "name": "pods",
            "singularName": "pod",
            "namespaced": True,
            "kind": "Pod",
            "verbs": _ALL_VERBS,
            "shortNames": ["po"],
            "categories": ["all"],
        },
        {
            "name": "pods/eviction",
            "singularName": "",
            "namespaced": True,
            "group": "policy",
            "version": "v1",
            "kind": "Eviction",
            "verbs": ["create"],
        },
        {
            "name": "pods/status",
            "singularName": "",
            "namespaced": True,
            "kind": "Pod",
            "verbs": ["get", "patch", "update"],
        },
    ],
}

DISCOVERY_GROUP_VERSION = {"groupVersion": "discovery.k8s.io/v1", "version": "v1"}

DISCOVERY_RESOURCES: dict[str, Any] = {
    "kind": "APIResourceList",
    "apiVersion": "v1",
    "groupVersion": "discovery.k8s.io/v1",
    "resources": [
        {
            "name": "endpointslices",
            "singularName": "endpointslice",
            "namespaced": True,
            "kind": "EndpointSlice",
            "verbs": _ALL_VERBS,
        }
    ],
}

DISCOVERY_GROUP: dict[str, Any] = {
    "kind": "APIGroup",
    "apiVersion": "v1",
    "name": "discovery.k8s.io",
    "versions": [DISCOVERY_GROUP_VERSION],
    "preferredVersion": DISCOVERY_GROUP_VERSION,
}

GROUP_LIST: dict[str, Any] = {
    "kind": "APIGroupList",
    "apiVersion": "v1",
    "groups": [{k: v for k, v in DISCOVERY_GROUP.items() if k not in ("kind", "apiVersion")}],
}


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


# group-version path -> (group, version, [(Kind, namespaced item path)])
_OPENAPI_PATHS = {
    "api/v1": (
        "",
        "v1",
        [
            ("Pod", "/api/v1/namespaces/{namespace}/pods/{name}"),
            ("Event", "/api/v1/namespaces/{namespace}/events/{name}"),
            ("Namespace", "/api/v1/namespaces/{name}"),
        ],
    ),
    "apis/discovery.k8s.io/v1": (
        "discovery.k8s.io",
        "v1",
        [
            (
                "EndpointSlice",
                "/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices/{name}",
            )
        ],
    ),
}


def openapi_v3_root() -> dict[str, Any]:
    return {
        "paths": {
            path: {"serverRelativeURL": f"/openapi/v3/{path}?hash=kubesim1"}
            for path in _OPENAPI_PATHS
        }
    }


def openapi_v3_document(group_version_path: str) -> dict[str, Any] | None:
    entry = _OPENAPI_PATHS.get(group_version_path)
    if entry is None:
        return None
    group, version, kinds = entry
    paths: dict[str, Any] = {}
    for kind, path in kinds:
        paths[path] = {
            "patch": {
                "operationId": f"patch{kind}",
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": {
                    "group": group,
                    "version": version,
                    "kind": kind,
                },
                "parameters": [
                    {
                        "name": name,
                        "in": "query",
                        "schema": {"type": "string", "uniqueItems": True},
                    }
                    for name in ("dryRun", "fieldManager", "fieldValidation", "force")
                ],
                "responses": {"200": {"description": "OK"}},
            }
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": SERVER_VERSION["gitVersion"]},
        "paths": paths,
        "components": {"schemas": {}},
    }
