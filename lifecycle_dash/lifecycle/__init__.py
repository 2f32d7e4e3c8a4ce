"""The pure pod-lifecycle domain: snapshots, transitions, state, kubectl columns.

Standard library only (enforced by import-linter): no Django, no Kubernetes client, no I/O.
"""

from lifecycle_dash.lifecycle.diff import diff
from lifecycle_dash.lifecycle.kubectl import (
    KubectlColumns,
    format_age,
    kubectl_columns,
    kubectl_status,
    translate_timestamp_since,
)
from lifecycle_dash.lifecycle.rawtypes import RawPod
from lifecycle_dash.lifecycle.snapshot import (
    ContainerRole,
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    Hook,
    HookKind,
    PodCondition,
    PodSnapshot,
    Probe,
    ProbeMechanism,
    SnapshotCache,
    StateKind,
    StateRunning,
    StateTerminated,
    StateWaiting,
    snapshot_from_pod,
)
from lifecycle_dash.lifecycle.state import (
    ConditionState,
    ContainerLifecycle,
    PodState,
    apply,
    state_of,
)
from lifecycle_dash.lifecycle.timeparse import format_rfc3339, parse_rfc3339
from lifecycle_dash.lifecycle.transitions import TimeSource, Transition, TransitionKind

__all__ = [
    "ConditionState",
    "ContainerLifecycle",
    "ContainerRole",
    "ContainerSpec",
    "ContainerState",
    "ContainerStatus",
    "Hook",
    "HookKind",
    "KubectlColumns",
    "PodCondition",
    "PodSnapshot",
    "PodState",
    "Probe",
    "ProbeMechanism",
    "RawPod",
    "SnapshotCache",
    "StateKind",
    "StateRunning",
    "StateTerminated",
    "StateWaiting",
    "TimeSource",
    "Transition",
    "TransitionKind",
    "apply",
    "diff",
    "format_age",
    "format_rfc3339",
    "kubectl_columns",
    "kubectl_status",
    "parse_rfc3339",
    "snapshot_from_pod",
    "state_of",
    "translate_timestamp_since",
]
