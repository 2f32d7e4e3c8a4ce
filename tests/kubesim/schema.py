"""Strict Kubernetes JSON-schema validation of what the simulator served.

Uses the schemas shipped by kubernetes-validate (newest version, ``-strict`` variant: no
unknown fields anywhere), with validators cached per kind because loading the definitions file
dominates the library's own ``validate()``.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import jsonschema  # type: ignore[import-untyped]
from kubernetes_validate.utils import latest_version, schema_contents
from referencing import Registry, Resource

SCHEMA_VERSION = latest_version()


@functools.cache
def _validator(kind: str, api_version: str) -> jsonschema.Draft202012Validator:
    schema_dir = f"kubernetes-json-schema/v{SCHEMA_VERSION}-local-strict"
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema = schema_contents(f"{schema_dir}/{kind.lower()}-{group_version}.json", SCHEMA_VERSION)
    definitions = schema_contents(f"{schema_dir}/_definitions.json", SCHEMA_VERSION)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def schema_errors(obj: dict[str, Any]) -> list[str]:
    validator = _validator(obj["kind"], obj["apiVersion"])
    return [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(obj)
    ]


def invalid_served(served: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Describe every served object that fails strict validation (each version checked once)."""
    problems: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    for kind, obj in served:
        meta = obj.get("metadata", {})
        key = (kind, str(meta.get("uid")), str(meta.get("resourceVersion")))
        if key in seen:
            continue
        seen.add(key)
        for error in schema_errors(obj):
            problems.append(f"{kind} {meta.get('namespace')}/{meta.get('name')}: {error}")
    return problems
