"""The columns ``kubectl get pods [-o wide]`` prints, rule for rule.

The single source of STATUS / READY / RESTARTS / AGE in the product (simulator Table output,
dashboard, timeline). Follows shared/reference/kubectl-status.md (kubectl's ``printPod``).

``kubectl_columns(pod, *, now)`` accepts a ``PodSnapshot`` or a raw pod dict and returns
``KubectlColumns``: ``status``, ``ready``, ``restarts``, ``age`` and the wide-only ``ip``,
``node``, ``nominated_node``, ``readiness_gates``, all strings exactly as kubectl prints them.
``kubectl_status(snapshot)`` is the STATUS alone (it does not depend on ``now``).
``format_age(delta)`` is kubectl's ``HumanDuration`` / ``translateTimestampSince`` formatting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lifecycle_dash.lifecycle.snapshot import PodSnapshot

__all__ = ["KubectlColumns", "format_age", "kubectl_columns", "kubectl_status"]


@dataclass(frozen=True, slots=True)
class KubectlColumns:
    """One row of ``kubectl get pods -o wide`` (NAME and NAMESPACE are the caller's)."""

    status: str
    ready: str
    restarts: str
    age: str
    ip: str
    node: str
    nominated_node: str
    readiness_gates: str


def format_age(delta: timedelta) -> str:
    raise NotImplementedError


def kubectl_status(pod: PodSnapshot) -> str:
    raise NotImplementedError


def kubectl_columns(pod: PodSnapshot | Mapping[str, Any], *, now: datetime) -> KubectlColumns:
    raise NotImplementedError
