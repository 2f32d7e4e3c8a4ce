"""Label and field selectors, parsed once per request and matched against raw object dicts.

Grammar as apimachinery's ``labels.Parse`` (=, ==, !=, in, notin, exists, !exists) and
``fields.ParseSelector`` (=, ==, != over the fields each kind registers). Unsupported field
labels are a 400, as on a real server.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from lifecycle_dash.kubesim import errors

Predicate = Callable[[dict[str, Any]], bool]

_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_KEY_RE = re.compile(rf"^{_KEY}$")
_VALUE_RE = re.compile(rf"^{_VALUE}$")
_SET_RE = re.compile(rf"^({_KEY})\s+(in|notin)\s*\((.*)\)$")


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = obj.get("metadata", {}).get("labels") or {}
    return labels


def _requirement(text: str) -> Predicate:
    text = text.strip()
    bad = errors.bad_request(f"unable to parse requirement: {text!r}")
    match = _SET_RE.match(text)
    if match:
        key, operator = match.group(1), match.group(3)
        values = frozenset(v.strip() for v in match.group(4).split(",") if v.strip())
        if not all(_VALUE_RE.match(v) for v in values):
            raise bad
        if operator == "in":
            return lambda obj: _labels(obj).get(key) in values
        return lambda obj: _labels(obj).get(key) not in values
    for operator in ("!=", "==", "="):
        if operator in text:
            key, _, value = (part.strip() for part in text.partition(operator))
            if not _KEY_RE.match(key) or not _VALUE_RE.match(value):
                raise bad
            if operator == "!=":
                return lambda obj: _labels(obj).get(key) != value
            return lambda obj: _labels(obj).get(key) == value
    if text.startswith("!"):
        key = text[1:].strip()
        if not _KEY_RE.match(key):
            raise bad
        return lambda obj: key not in _labels(obj)
    if not _KEY_RE.match(text):
        raise bad
    return lambda obj: text in _labels(obj)


def parse_label_selector(selector: str | None) -> Predicate | None:
    if not selector or not selector.strip():
        return None
    predicates = [_requirement(part) for part in _split_top_level(selector) if part.strip()]
    return lambda obj: all(predicate(obj) for predicate in predicates)


def _path(*keys: str) -> Callable[[dict[str, Any]], str]:
    def read(obj: dict[str, Any]) -> str:
        value: Any = obj
        for key in keys:
            if not isinstance(value, dict):
                return ""
            value = value.get(key)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return read


def _source(obj: dict[str, Any]) -> str:
    return str((obj.get("source") or {}).get("component", ""))


_COMMON_FIELDS = {
    "metadata.name": _path("metadata", "name"),
    "metadata.namespace": _path("metadata", "namespace"),
}
_FIELDS: dict[str, dict[str, Callable[[dict[str, Any]], str]]] = {
    "pods": {
        **_COMMON_FIELDS,
        "spec.nodeName": _path("spec", "nodeName"),
        "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"),
        "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "spec.hostNetwork": lambda obj: (
            "true" if obj.get("spec", {}).get("hostNetwork") else "false"
        ),
        "status.phase": _path("status", "phase"),
        "status.podIP": _path("status", "podIP"),
        "status.nominatedNodeName": _path("status", "nominatedNodeName"),
    },
    "events": {
        **_COMMON_FIELDS,
        **{
            f"involvedObject.{field}": _path("involvedObject", field)
            for field in (
                "kind",
                "namespace",
                "name",
                "uid",
                "apiVersion",
                "resourceVersion",
                "fieldPath",
            )
        },
        "reason": _path("reason"),
        "reportingComponent": _path("reportingComponent"),
        "source": _source,
        "type": _path("type"),
    },
    "endpointslices": dict(_COMMON_FIELDS),
    "namespaces": {
        "metadata.name": _path("metadata", "name"),
        "status.phase": _path("status", "phase"),
    },
}


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def _field_predicate(
    reader: Callable[[dict[str, Any]], str], value: str, *, negate: bool
) -> Predicate:
    if negate:
        return lambda obj: reader(obj) != value
    return lambda obj: reader(obj) == value


def parse_field_selector(kind: str, selector: str | None) -> Predicate | None:
    if not selector or not selector.strip():
        return None
    fields = _FIELDS[kind]
    predicates: list[Predicate] = []
    for part in re.split(r"(?<!\\),", selector):
        part = part.strip()
        if not part:
            continue
        match = re.match(r"^([^=!]+)(!=|==|=)(.*)$", part)
        if match is None:
            raise errors.bad_request(f"invalid selector: '{selector}'; can't understand '{part}'")
        field, operator, value = match.group(1).strip(), match.group(2), _unescape(match.group(3))
        reader = fields.get(field)
        if reader is None:
            raise errors.bad_request(f"field label not supported: {field}")
        predicates.append(_field_predicate(reader, value, negate=operator == "!="))
    if not predicates:
        return None
    return lambda obj: all(predicate(obj) for predicate in predicates)


def combine(*predicates: Predicate | None) -> Predicate | None:
    present = [p for p in predicates if p is not None]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return lambda obj: all(p(obj) for p in present)
