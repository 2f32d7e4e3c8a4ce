"""The few create/update validations a client can run into (422 Invalid, 400 BadRequest).

Not the API server's full validation: only what protects the simulator's invariants (names,
required pod fields) and what tests of client error handling need.

``fieldValidation=Strict`` (what kubectl apply/create send by default) rejects unknown fields
in a pod's top level, metadata, spec and containers: the levels where a manifest typo usually
sits. The field lists match the Kubernetes schema (a test compares them with the newest schema
kubernetes-validate ships); deeper levels are not checked.
"""

from __future__ import annotations

import re
from typing import Any

from lifecycle_dash.kubesim import errors
from lifecycle_dash.kubesim.defaults import type_meta

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


def check_type_meta(kind: str, obj: dict[str, Any]) -> None:
    api_version, kind_name = type_meta(kind)
    given_version = obj.get("apiVersion")
    if given_version and given_version != api_version:
        raise errors.bad_request(
            f"the API version in the data ({given_version}) does not match the expected API "
            f"version ({api_version})"
        )
    given_kind = obj.get("kind")
    if given_kind and given_kind != kind_name:
        raise errors.bad_request(
            f"the kind in the data ({given_kind}) does not match the expected kind ({kind_name})"
        )


def validate(kind: str, obj: dict[str, Any]) -> None:
    meta = obj.get("metadata") or {}
    name = str(meta.get("name") or "")
    causes: list[tuple[str, str]] = []
    if name:
        pattern = _DNS_LABEL if kind == "namespaces" else _DNS_SUBDOMAIN
        if len(name) > 253 or not pattern.match(name):
            causes.append(("metadata.name", f'Invalid value: "{name}": {_SUBDOMAIN_MESSAGE}'))
    elif not meta.get("generateName"):
        causes.append(("metadata.name", "Required value: name or generateName is required"))
    for field in ("labels", "annotations"):
        values = meta.get(field)
        if values is not None and (
            not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values())
        ):
            causes.append((f"metadata.{field}", "Invalid value: values must be strings"))
    if kind == "pods":
        causes.extend(_pod_causes(obj))
    elif kind == "events" and not isinstance(obj.get("involvedObject"), dict):
        causes.append(("involvedObject", "Required value"))
    elif kind == "endpointslices" and obj.get("addressType") not in ("IPv4", "IPv6", "FQDN"):
        causes.append(
            ("addressType", 'Unsupported value: supported values: "IPv4", "IPv6", "FQDN"')
        )
    if causes:
        raise errors.invalid(kind, name, causes)


def _pod_causes(pod: dict[str, Any]) -> list[tuple[str, str]]:
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return [("spec.containers", "Required value")]
    causes: list[tuple[str, str]] = []
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        return [("spec.containers", "Required value")]
    names: set[str] = set()
    for group in ("initContainers", "containers"):
        for index, container in enumerate(spec.get(group) or []):
            where = f"spec.{group}[{index}]"
            if not isinstance(container, dict):
                causes.append((where, "Invalid value: must be an object"))
                continue
            container_name = container.get("name")
            if not container_name:
                causes.append((f"{where}.name", "Required value"))
            elif container_name in names:
                causes.append((f"{where}.name", f'Duplicate value: "{container_name}"'))
            else:
                names.add(container_name)
            if not container.get("image"):
                causes.append((f"{where}.image", "Required value"))
    grace = spec.get("terminationGracePeriodSeconds")
    if grace is not None and (not isinstance(grace, int) or grace < 0):
        causes.append(
            (
                "spec.terminationGracePeriodSeconds",
                "Invalid value: must be greater than or equal to 0",
            )
        )
    return causes


POD_FIELDS = frozenset({"apiVersion", "kind", "metadata", "spec", "status"})
OBJECT_META_FIELDS = frozenset(
    {
        "annotations",
        "creationTimestamp",
        "deletionGracePeriodSeconds",
        "deletionTimestamp",
        "finalizers",
        "generateName",
        "generation",
        "labels",
        "managedFields",
        "name",
        "namespace",
        "ownerReferences",
        "resourceVersion",
        "selfLink",
        "uid",
    }
)
POD_SPEC_FIELDS = frozenset(
    {
        "activeDeadlineSeconds",
        "affinity",
        "automountServiceAccountToken",
        "containers",
        "dnsConfig",
        "dnsPolicy",
        "enableServiceLinks",
        "ephemeralContainers",
        "evictionResponders",
        "hostAliases",
        "hostIPC",
        "hostNetwork",
        "hostPID",
        "hostUsers",
        "hostname",
        "hostnameOverride",
        "imagePullSecrets",
        "initContainers",
        "nodeName",
        "nodeSelector",
        "os",
        "overhead",
        "preemptionPolicy",
        "priority",
        "priorityClassName",
        "readinessGates",
        "resourceClaims",
        "resources",
        "restartPolicy",
        "runtimeClassName",
        "schedulerName",
        "schedulingGates",
        "schedulingGroup",
        "securityContext",
        "serviceAccount",
        "serviceAccountName",
        "setHostnameAsFQDN",
        "shareProcessNamespace",
        "subdomain",
        "terminationGracePeriodSeconds",
        "tolerations",
        "topologySpreadConstraints",
        "volumes",
    }
)
CONTAINER_FIELDS = frozenset(
    {
        "args",
        "command",
        "env",
        "envFrom",
        "image",
        "imagePullPolicy",
        "lifecycle",
        "livenessProbe",
        "name",
        "ports",
        "readinessProbe",
        "resizePolicy",
        "resources",
        "restartPolicy",
        "restartPolicyRules",
        "securityContext",
        "startupProbe",
        "stdin",
        "stdinOnce",
        "terminationMessagePath",
        "terminationMessagePolicy",
        "tty",
        "volumeDevices",
        "volumeMounts",
        "workingDir",
    }
)


def unknown_pod_fields(pod: dict[str, Any]) -> list[str]:
    """Paths of fields the pod schema does not declare, in kubectl's notation."""
    unknown = [key for key in pod if key not in POD_FIELDS]
    meta = pod.get("metadata")
    if isinstance(meta, dict):
        unknown += [f"metadata.{key}" for key in meta if key not in OBJECT_META_FIELDS]
    spec = pod.get("spec")
    if isinstance(spec, dict):
        unknown += [f"spec.{key}" for key in spec if key not in POD_SPEC_FIELDS]
        for group in ("initContainers", "containers"):
            for index, container in enumerate(spec.get(group) or []):
                if isinstance(container, dict):
                    unknown += [
                        f"spec.{group}[{index}].{key}"
                        for key in container
                        if key not in CONTAINER_FIELDS
                    ]
    return unknown


def check_strict_fields(kind: str, obj: dict[str, Any]) -> None:
    if kind != "pods":
        return
    unknown = unknown_pod_fields(obj)
    if unknown:
        listed = ", ".join(f'unknown field "{path}"' for path in unknown)
        raise errors.bad_request(
            f'Pod in version "v1" cannot be handled as a Pod: strict decoding error: {listed}'
        )
