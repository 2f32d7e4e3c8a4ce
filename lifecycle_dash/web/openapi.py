"""The OpenAPI 3.1 document of ``/api/v1/`` (served at ``/api/v1/openapi.json``).

Written by hand next to ``serializers.py``, whose shapes it describes exactly: objects are
closed (``additionalProperties: false``) and every field is required (unknown values are
null, never missing), so a test validating real answers with ``jsonschema`` catches any drift,
and a fuzzer (schemathesis) can rely on it.
"""

from __future__ import annotations

from typing import Any

from lifecycle_dash.web.filters import MAX_LIMIT, MIN_LIMIT, PHASES

__all__ = ["openapi_document"]

JSON = dict[str, Any]

_TIME: JSON = {"type": "string", "format": "date-time"}
_TIME_OR_NULL: JSON = {"type": ["string", "null"], "format": "date-time"}
_STR_OR_NULL: JSON = {"type": ["string", "null"]}
_INT_OR_NULL: JSON = {"type": ["integer", "null"]}
_NUM_OR_NULL: JSON = {"type": ["number", "null"]}
_BOOL_OR_NULL: JSON = {"type": ["boolean", "null"]}
_SOURCES: JSON = {
    "type": "object",
    "description": "How each value was derived: a rule starting with api:, event:, "
    "observed:, estimate:, assumed: or unknown: (the rest says which field or why).",
    "additionalProperties": {"type": "string"},
}
VERDICTS = ("clean_exit", "sigterm_default", "sigkill_after_grace", "oom_killed", "unknown")


def _ref(name: str) -> JSON:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: JSON, *, description: str = "") -> JSON:
    out: JSON = {
        "type": "object",
        "properties": properties,
        "required": sorted(properties),
        "additionalProperties": False,
    }
    if description:
        out["description"] = description
    return out


_SUMMARY: JSON = {
    "uid": {"type": "string"},
    "cluster": {"type": "string"},
    "namespace": {"type": "string"},
    "name": {"type": "string"},
    "node": _STR_OR_NULL,
    "owner": {"oneOf": [_ref("Owner"), {"type": "null"}]},
    "phase": _STR_OR_NULL,
    "status": {"type": "string", "description": "kubectl STATUS"},
    "ready": {"type": "string", "description": "kubectl READY, e.g. 1/2"},
    "restarts": {"type": "integer", "minimum": 0},
    "restarts_column": {"type": "string", "description": "kubectl RESTARTS, e.g. 3 (5m ago)"},
    "last_restart_at": _TIME_OR_NULL,
    "age": {**_STR_OR_NULL, "description": "kubectl AGE"},
    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    "created_at": _TIME_OR_NULL,
    "deletion_requested_at": _TIME_OR_NULL,
    "deleted_at": _TIME_OR_NULL,
    "first_observed_at": _TIME,
}

_DETAIL: JSON = {
    **_SUMMARY,
    "pod_ip": _STR_OR_NULL,
    "qos_class": _STR_OR_NULL,
    "last_observed_at": _TIME,
    "deletion_source": {"type": ["string", "null"], "enum": ["watch", "relist", None]},
    "kubectl": _object(
        {
            k: {"type": "string"}
            for k in (
                "status",
                "ready",
                "restarts",
                "age",
                "ip",
                "node",
                "nominated_node",
                "readiness_gates",
            )
        },
        description="The columns kubectl get pods -o wide prints, from the last snapshot.",
    ),
    "explanation": {
        "oneOf": [
            _object(
                {
                    "title": {"type": "string"},
                    "sentence": {"type": "string"},
                    "next_step": {"type": "string"},
                }
            ),
            {"type": "null"},
        ]
    },
    "termination": {"oneOf": [_ref("Termination"), {"type": "null"}]},
    "startup": _ref("Startup"),
}

_CONTAINER_TERMINATION = _object(
    {
        "name": {"type": "string"},
        "role": {"type": "string", "enum": ["init", "sidecar", "regular"]},
        "pre_stop": _STR_OR_NULL,
        "pre_stop_sleep_seconds": _INT_OR_NULL,
        "pre_stop_failed": {"type": "boolean"},
        "kill_started_at": {**_TIME_OR_NULL, "description": "event Killing"},
        "kill_events": {"type": "integer", "minimum": 0},
        "sigterm_at": {**_TIME_OR_NULL, "description": "estimate (see the bounds)"},
        "sigterm_earliest": _TIME_OR_NULL,
        "sigterm_latest": _TIME_OR_NULL,
        "sigkill_expected_earliest": _TIME_OR_NULL,
        "sigkill_expected_latest": _TIME_OR_NULL,
        "finished_at": _TIME_OR_NULL,
        "exit_code": _INT_OR_NULL,
        "reason": _STR_OR_NULL,
        "verdict": {"type": "string", "enum": list(VERDICTS)},
        "verdict_text": {"type": "string"},
        "explanation": {"type": "string"},
        "grace_used_seconds": _NUM_OR_NULL,
        "headroom_seconds": _NUM_OR_NULL,
        "sources": _SOURCES,
    }
)

_TERMINATION = _object(
    {
        "cause": {"type": "string"},
        "requested_at": {**_TIME_OR_NULL, "description": "deletionTimestamp - grace"},
        "started_at": _TIME_OR_NULL,
        "deletion_observed_at": _TIME_OR_NULL,
        "grace_period_seconds": _INT_OR_NULL,
        "grace_shortened": {"type": "boolean"},
        "force_delete": {"type": "boolean"},
        "endpoint_terminating_at": _TIME_OR_NULL,
        "endpoint_removed_at": _TIME_OR_NULL,
        "endpoint_withdrawn_at": _TIME_OR_NULL,
        "deleted_at": _TIME_OR_NULL,
        "traffic_race": _BOOL_OR_NULL,
        "containers": {"type": "array", "items": _ref("ContainerTermination")},
        "notes": {"type": "array", "items": {"type": "string"}},
        "sources": _SOURCES,
    },
    description="The termination sequence (null when nothing shows the pod ending).",
)

_STEP = _object(
    {
        "step": {"type": "string"},
        "container": _STR_OR_NULL,
        "at": _TIME_OR_NULL,
        "earliest": _TIME_OR_NULL,
        "latest": _TIME_OR_NULL,
        "estimate": {"type": "boolean"},
        "source": {"type": "string"},
    }
)

_SLI = _object(
    {
        "variant": {"type": "string", "enum": ["api", "watch"]},
        "create_at": _TIME_OR_NULL,
        "schedule_at": _TIME_OR_NULL,
        "run_at": _TIME_OR_NULL,
        "watch_at": _TIME_OR_NULL,
        "pod_startup_seconds": _NUM_OR_NULL,
        "excluded_seconds": _NUM_OR_NULL,
        "pod_startup_sli_seconds": _NUM_OR_NULL,
        "within_slo": _BOOL_OR_NULL,
        "sources": _SOURCES,
    }
)

_STARTUP = _object(
    {
        "created_at": _TIME_OR_NULL,
        "scheduled_at": _TIME_OR_NULL,
        "sandbox_ready_at": _TIME_OR_NULL,
        "initialized_at": _TIME_OR_NULL,
        "all_started_at": _TIME_OR_NULL,
        "running_observed_at": _TIME_OR_NULL,
        "ready_at": _TIME_OR_NULL,
        "steps": {"type": "array", "items": _ref("StartupStep")},
        "init_containers": {
            "type": "array",
            "items": _object(
                {
                    "name": {"type": "string"},
                    "sidecar": {"type": "boolean"},
                    "started_at": _TIME_OR_NULL,
                    "finished_at": _TIME_OR_NULL,
                }
            ),
        },
        "image_pulls": {
            "type": "array",
            "items": _object(
                {
                    "container": {"type": "string"},
                    "image": {"type": "string"},
                    "pulled": {"type": "boolean"},
                    "started_at": _TIME_OR_NULL,
                    "finished_at": _TIME_OR_NULL,
                    "duration_seconds": _NUM_OR_NULL,
                    "source": {"type": "string"},
                }
            ),
        },
        "sli": _ref("StartupSli"),
        "watch_sli": {"oneOf": [_ref("StartupSli"), {"type": "null"}]},
        "slo_seconds": {"type": "number"},
        "notes": {"type": "array", "items": {"type": "string"}},
        "sources": _SOURCES,
    },
    description="Startup steps and the pod-startup SLI (clusterloader2's definition).",
)

_SCALAR: JSON = {"type": ["string", "integer", "number", "boolean", "null"]}

_TRANSITION_ITEM = _object(
    {
        "type": {"const": "transition"},
        "at": {**_TIME, "description": "api_time when authoritative, else observed_at"},
        "observed_at": _TIME,
        "api_time": _TIME_OR_NULL,
        "time_source": {"type": "string", "enum": ["api", "observed"]},
        "kind": {"type": "string"},
        "subject": _STR_OR_NULL,
        "old": _SCALAR,
        "new": _SCALAR,
        "detail": {"type": "object"},
    }
)

_EVENT_ITEM = _object(
    {
        "type": {"const": "event"},
        "at": {**_TIME, "description": "exact time, else the latest bound, else receive time"},
        "exact_at": _TIME_OR_NULL,
        "earliest": _TIME_OR_NULL,
        "latest": _TIME_OR_NULL,
        "observed_at": _TIME,
        "time_source": {"type": "string"},
        "event_type": {"type": "string"},
        "reason": {"type": "string"},
        "container": _STR_OR_NULL,
        "message": {"type": "string"},
        "event_uid": {"type": "string"},
        "ordinal": {"type": "integer"},
    }
)


def _error(description: str) -> JSON:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref("Error")}},
    }


def _ok(description: str, schema: str) -> JSON:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _query(
    name: str, description: str, schema: JSON | None = None, *, allow_empty: bool = False
) -> JSON:
    parameter: JSON = {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }
    if allow_empty:
        parameter["allowEmptyValue"] = True
    return parameter


_UID: JSON = {
    "name": "uid",
    "in": "path",
    "required": True,
    "description": "The pod's metadata.uid",
    "schema": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[^/]+$"},
}

_WINDOW = [
    _query(
        "from",
        "Start of the window: RFC 3339, 'now', or relative to now like -15m, -1h, -2d.",
    ),
    _query("to", "End of the window (same forms as from); must be later than from."),
]

_COMMON_ERRORS = {
    "401": _error("Not authenticated (no session and no valid bearer token)."),
    "405": _error("The API is read-only."),
}


def openapi_document(*, server: str = "/") -> JSON:
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "lifecycle-dash API",
            "version": "1.0.0",
            "description": "Read-only access to the pods, timelines and termination/startup "
            "analyses lifecycle-dash records. Times are RFC 3339 UTC (Z); unknown values are "
            "null; every derived value names its source.",
        },
        "servers": [{"url": server.rstrip("/") or "/"}],
        "security": [{"bearerAuth": []}, {"sessionCookie": []}],
        "paths": {
            "/api/v1/pods": {
                "get": {
                    "operationId": "listPods",
                    "summary": "Pods matching the dashboard's filters, one page at a time.",
                    "parameters": [
                        _query("cluster", "Cluster name (exact)."),
                        _query("namespace", "Namespace (exact)."),
                        _query("status", "kubectl STATUS (exact), e.g. CrashLoopBackOff."),
                        # An empty value is "any", as the dashboard's form submits it.
                        _query("phase", "Pod phase.", {"type": "string", "enum": ["", *PHASES]}),
                        _query("node", "Node name (exact)."),
                        _query("owner", "Controller owner: Kind/name or a bare name."),
                        _query("selector", "Kubernetes label selector, e.g. app=web,tier!=db."),
                        _query("q", "Name, namespace or node contains (case-insensitive)."),
                        _query(
                            "sort",
                            "Order of the pages.",
                            {"type": "string", "enum": ["", "name", "age", "restarts", "status"]},
                        ),
                        _query(
                            "deleted",
                            "1 to include pods deleted within the last hour.",
                            {"type": "string", "enum": ["", "0", "1"]},
                        ),
                        _query("after", "Opaque cursor from a previous page's next link."),
                        # Empty is the default, as the dashboard's form submits it.
                        _query(
                            "limit",
                            "Rows per page (default when empty).",
                            {"type": "integer", "minimum": MIN_LIMIT, "maximum": MAX_LIMIT},
                            allow_empty=True,
                        ),
                    ],
                    "responses": {
                        "200": _ok("One page of pods and the link to the next.", "PodList"),
                        "400": _error("An invalid parameter (named in 'parameter')."),
                        **_COMMON_ERRORS,
                    },
                }
            },
            "/api/v1/pods/{uid}": {
                "get": {
                    "operationId": "getPod",
                    "summary": "A pod's current state, kubectl columns, termination and startup.",
                    "parameters": [_UID],
                    "responses": {
                        "200": _ok("The pod.", "PodDetail"),
                        "400": _error("An unknown parameter."),
                        "404": _error(
                            "No pod with this uid is retained, or it is outside the caller's "
                            "namespaces (the same answer, so it does not reveal which)."
                        ),
                        **_COMMON_ERRORS,
                    },
                }
            },
            "/api/v1/pods/{uid}/timeline": {
                "get": {
                    "operationId": "getPodTimeline",
                    "summary": "A pod's transitions and event occurrences in time order.",
                    "parameters": [_UID, *_WINDOW],
                    "responses": {
                        "200": _ok("The timeline.", "Timeline"),
                        "400": _error("An invalid parameter (named in 'parameter')."),
                        "404": _error(
                            "No pod with this uid is retained, or it is outside the caller's "
                            "namespaces (the same answer, so it does not reveal which)."
                        ),
                        **_COMMON_ERRORS,
                    },
                }
            },
            "/api/v1/review": {
                "get": {
                    "operationId": "getReview",
                    "summary": "A window's causes per workload, gaps and affected pods "
                    "(the review page's data; format=md or csv for the exports).",
                    "parameters": [
                        *_WINDOW,
                        _query("cluster", "Cluster name (exact)."),
                        _query("namespace", "Namespace (exact)."),
                        _query("selector", "Kubernetes label selector, e.g. app=web,tier!=db."),
                        _query("owner", "Controller owner: Kind/name or a bare name."),
                        _query(
                            "format",
                            "json (default, also when empty), md or csv.",
                            {"type": "string", "enum": ["json", "md", "csv"]},
                            allow_empty=True,
                        ),
                    ],
                    "responses": {
                        "200": {
                            "description": "The review (JSON, Markdown or CSV by format).",
                            "content": {
                                "application/json": {"schema": {"type": "object"}},
                                "text/markdown": {"schema": {"type": "string"}},
                                "text/csv": {"schema": {"type": "string"}},
                            },
                        },
                        "400": _error("An invalid parameter (named in 'parameter')."),
                        **_COMMON_ERRORS,
                    },
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document.",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "The OpenAPI 3.1 document.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from `manage.py api_token create USER`.",
                },
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}, "parameter": {"type": "string"}},
                    "required": ["error"],
                    "additionalProperties": False,
                },
                "Owner": _object({"kind": {"type": "string"}, "name": {"type": "string"}}),
                "PodSummary": _object(_SUMMARY),
                "PodList": _object(
                    {
                        "items": {"type": "array", "items": _ref("PodSummary")},
                        "next": {
                            "type": ["string", "null"],
                            "format": "uri",
                            "description": "The next page (null on the last one).",
                        },
                    }
                ),
                "PodDetail": _object(_DETAIL),
                "ContainerTermination": _CONTAINER_TERMINATION,
                "Termination": _TERMINATION,
                "StartupStep": _STEP,
                "StartupSli": _SLI,
                "Startup": _STARTUP,
                "TransitionItem": _TRANSITION_ITEM,
                "EventItem": _EVENT_ITEM,
                "Timeline": _object(
                    {
                        "uid": {"type": "string"},
                        "cluster": {"type": "string"},
                        "namespace": {"type": "string"},
                        "name": {"type": "string"},
                        "from": _TIME_OR_NULL,
                        "to": _TIME_OR_NULL,
                        "items": {
                            "type": "array",
                            "items": {
                                "oneOf": [_ref("TransitionItem"), _ref("EventItem")],
                                # Without a mapping the values would have to be the
                                # schema names (TransitionItem), not transition / event.
                                "discriminator": {
                                    "propertyName": "type",
                                    "mapping": {
                                        "transition": "#/components/schemas/TransitionItem",
                                        "event": "#/components/schemas/EventItem",
                                    },
                                },
                            },
                        },
                    }
                ),
            },
        },
    }
