"""Kubernetes-style API errors, rendered as ``meta/v1 Status`` objects.

Messages follow the wording of apimachinery's ``errors.go`` because clients (kubectl, the
ingest code) show them verbatim and some match on them.
"""

from __future__ import annotations

from typing import Any

# Resource plural -> (API group, kind) for the ``details`` block of a Status.
_GROUPS = {
    "pods": "",
    "events": "",
    "namespaces": "",
    "endpointslices": "discovery.k8s.io",
}


class ApiError(Exception):
    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            status["details"] = self.details
        return status


def _details(kind: str, name: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": kind}
    group = _GROUPS.get(kind, "")
    if group:
        details["group"] = group
    return details


def _qualified(kind: str) -> str:
    group = _GROUPS.get(kind, "")
    return f"{kind}.{group}" if group else kind


def not_found(kind: str, name: str) -> ApiError:
    return ApiError(
        404, "NotFound", f'{_qualified(kind)} "{name}" not found', details=_details(kind, name)
    )


def already_exists(kind: str, name: str) -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{_qualified(kind)} "{name}" already exists',
        details=_details(kind, name),
    )


def conflict(kind: str, name: str, why: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {_qualified(kind)} "{name}": {why}',
        details=_details(kind, name),
    )


def stale_update(kind: str, name: str) -> ApiError:
    return conflict(
        kind,
        name,
        "the object has been modified; please apply your changes to the latest version "
        "and try again",
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def invalid(kind: str, name: str, causes: list[tuple[str, str]]) -> ApiError:
    """422: ``causes`` are (field path, message) pairs, as field.ErrorList renders them."""
    details = _details(kind, name)
    details["causes"] = [
        {"reason": "FieldValueInvalid", "message": message, "field": field}
        for field, message in causes
    ]
    summary = ", ".join(f"{field}: {message}" for field, message in causes)
    kind_name = {"pods": "Pod", "events": "Event", "namespaces": "Namespace"}.get(
        kind, "EndpointSlice"
    )
    return ApiError(422, "Invalid", f'{kind_name} "{name}" is invalid: {summary}', details=details)


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def forbidden(verb: str, kind: str, namespace: str | None) -> ApiError:
    where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    group = _GROUPS.get(kind, "")
    return ApiError(
        403,
        "Forbidden",
        f'{_qualified(kind)} is forbidden: User "kubesim" cannot {verb} resource "{kind}" '
        f'in API group "{group}"{where}',
        details={"kind": kind, **({"group": group} if group else {})},
    )


def method_not_allowed(
    message: str = "the server does not allow this method on the requested resource",
) -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)


def not_found_path(path: str) -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource")
