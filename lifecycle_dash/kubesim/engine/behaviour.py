"""Container and pod behaviour declared by annotations on the pod.

Annotations are ``kubesim.lifecycle-dash.io/<container>.<behaviour>`` for one container and
``kubesim.lifecycle-dash.io/<behaviour>`` for the pod; ``docs/kubesim-annotations.md`` is the
user reference. Prefixed keys keep a manifest readable (one line per behaviour, plain YAML
strings) and pass the API's annotation-key validation. Anything the pod spec already says
(probe periods, a preStop ``sleep``, ``terminationGracePeriodSeconds``, restart policies) is read
from the spec, not repeated here.

A value that does not parse is ignored with a log line: a typo in an annotation must not stop
the cluster, and the pod then behaves like a well-behaved default container.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lifecycle_dash.kubesim.engine.units import parse_duration

log = logging.getLogger(__name__)

PREFIX = "kubesim.lifecycle-dash.io/"

_TRUE = frozenset({"true", "yes", "1", "on"})

# A practical subset of the distribution reference grammar: what the runtime accepts.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_RE = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]+)?/)?"
    + _COMPONENT
    + r"(?:/"
    + _COMPONENT
    + r")*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)


def valid_image_reference(image: str) -> bool:
    return bool(_IMAGE_RE.match(image))


@dataclass(frozen=True, slots=True)
class ContainerBehaviour:
    startup: float = 0.0
    ready_after: float | None = None
    flap_every: float | None = None
    flap_for: float = 10.0
    liveness_fail_after: float | None = None
    exit_after: float | None = None
    exit_code: int = 0
    oom_after: float | None = None
    image_pull_fails: bool = False
    pull_seconds: float = 1.5
    config_error: str | None = None
    poststart_seconds: float = 0.0
    poststart_fails: bool = False
    prestop_seconds: float | None = None
    prestop_fails: bool = False
    shutdown_seconds: float = 0.0
    shutdown_exit_code: int | None = None
    ignore_sigterm: bool = False

    @property
    def sigterm_exit_code(self) -> int:
        if self.shutdown_exit_code is not None:
            return self.shutdown_exit_code
        return 143 if self.shutdown_seconds == 0 else 0


@dataclass(frozen=True, slots=True)
class PodBehaviour:
    schedule_delay: float = 0.0
    unschedulable: str | None = None
    evict_after: float | None = None
    containers: Mapping[str, ContainerBehaviour] = field(default_factory=dict)

    def container(self, name: str) -> ContainerBehaviour:
        return self.containers.get(name) or _DEFAULT


_DEFAULT = ContainerBehaviour()

# annotation suffix -> (field, parser)
_DURATIONS = {
    "startup": "startup",
    "ready-after": "ready_after",
    "readiness-flap-every": "flap_every",
    "readiness-flap-for": "flap_for",
    "liveness-fail-after": "liveness_fail_after",
    "exit-after": "exit_after",
    "crash-after": "exit_after",
    "oom-after": "oom_after",
    "pull-seconds": "pull_seconds",
    "poststart-seconds": "poststart_seconds",
    "prestop-seconds": "prestop_seconds",
    "shutdown-seconds": "shutdown_seconds",
}
_INTS = {"exit-code": "exit_code", "shutdown-exit-code": "shutdown_exit_code"}
_FLAGS = {
    "poststart-fails": "poststart_fails",
    "prestop-fails": "prestop_fails",
    "ignore-sigterm": "ignore_sigterm",
}


def parse_pod_behaviour(annotations: Mapping[str, Any] | None) -> PodBehaviour:
    per_container: dict[str, dict[str, Any]] = {}
    pod: dict[str, Any] = {}
    for key, raw in (annotations or {}).items():
        if not key.startswith(PREFIX):
            continue
        name = key[len(PREFIX) :]
        value = str(raw)
        try:
            if "." in name:
                container, _, what = name.rpartition(".")
                _container_field(per_container.setdefault(container, {}), what, value)
            else:
                _pod_field(pod, name, value)
        except ValueError as error:
            log.warning("ignoring annotation %s=%r: %s", key, value, error)
    containers = {}
    for container, fields in per_container.items():
        if "crash-after" in fields.pop("_crash", ()) and "exit_code" not in fields:
            fields["exit_code"] = 1
        containers[container] = ContainerBehaviour(**fields)
    return PodBehaviour(containers=containers, **pod)


def _container_field(fields: dict[str, Any], what: str, value: str) -> None:
    if what in _DURATIONS:
        fields[_DURATIONS[what]] = parse_duration(value)
        if what == "crash-after":
            fields.setdefault("_crash", set()).add("crash-after")
    elif what in _INTS:
        fields[_INTS[what]] = int(value)
    elif what in _FLAGS:
        fields[_FLAGS[what]] = value.strip().lower() in _TRUE
    elif what == "image-pull":
        if value not in ("fail", "ok"):
            raise ValueError("image-pull is 'fail' or 'ok'")
        fields["image_pull_fails"] = value == "fail"
    elif what == "config-error":
        fields["config_error"] = value
    else:
        raise ValueError(f"unknown container behaviour {what!r}")


def _pod_field(fields: dict[str, Any], what: str, value: str) -> None:
    if what == "schedule-delay":
        fields["schedule_delay"] = parse_duration(value)
    elif what == "unschedulable":
        fields["unschedulable"] = value
    elif what == "evict-after":
        fields["evict_after"] = parse_duration(value)
    elif what in ("service", "revision"):
        return
    else:
        raise ValueError(f"unknown pod behaviour {what!r}")
