"""The pure pod-lifecycle domain: snapshots, transitions, state, kubectl columns, and the
analyses built on them (termination, startup, explanations, workload diagnoses).

Standard library only (enforced by import-linter): no Django, no Kubernetes client, no I/O.
"""

from lifecycle_dash.lifecycle.derivation import PRECISION, Seconds, TimePoint
from lifecycle_dash.lifecycle.diagnose import (
    Diagnosis,
    DiagnosisId,
    PodEvidence,
    Severity,
    diagnose_workload,
)
from lifecycle_dash.lifecycle.diff import diff
from lifecycle_dash.lifecycle.endpoints import (
    SERVICE_NAME_LABEL,
    EndpointConditions,
    EndpointObservation,
    SliceEndpoints,
    diff_endpoint_slices,
    slice_endpoints,
)
from lifecycle_dash.lifecycle.events import (
    Occurrence,
    PodEvent,
    event_from_raw,
    latest_event_versions,
    occurrences_between,
)
from lifecycle_dash.lifecycle.explain import (
    Explanation,
    ReasonKind,
    explain,
    explain_condition,
    explain_exit_code,
    explain_signal,
)
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
from lifecycle_dash.lifecycle.startup import SLO_SECONDS, StartupAnalysis, analyze_startup
from lifecycle_dash.lifecycle.state import (
    ConditionState,
    ContainerLifecycle,
    PodState,
    apply,
    state_of,
)
from lifecycle_dash.lifecycle.termination import (
    ContainerTermination,
    TerminationAnalysis,
    TerminationCause,
    Verdict,
    analyze_termination,
)
from lifecycle_dash.lifecycle.timeparse import format_rfc3339, parse_rfc3339
from lifecycle_dash.lifecycle.transitions import TimeSource, Transition, TransitionKind

__all__ = [
    "PRECISION",
    "SERVICE_NAME_LABEL",
    "SLO_SECONDS",
    "ConditionState",
    "ContainerLifecycle",
    "ContainerRole",
    "ContainerSpec",
    "ContainerState",
    "ContainerStatus",
    "ContainerTermination",
    "Diagnosis",
    "DiagnosisId",
    "EndpointConditions",
    "EndpointObservation",
    "Explanation",
    "Hook",
    "HookKind",
    "KubectlColumns",
    "Occurrence",
    "PodCondition",
    "PodEvent",
    "PodEvidence",
    "PodSnapshot",
    "PodState",
    "Probe",
    "ProbeMechanism",
    "RawPod",
    "ReasonKind",
    "Seconds",
    "Severity",
    "SliceEndpoints",
    "SnapshotCache",
    "StartupAnalysis",
    "StateKind",
    "StateRunning",
    "StateTerminated",
    "StateWaiting",
    "TerminationAnalysis",
    "TerminationCause",
    "TimePoint",
    "TimeSource",
    "Transition",
    "TransitionKind",
    "Verdict",
    "analyze_startup",
    "analyze_termination",
    "apply",
    "diagnose_workload",
    "diff",
    "diff_endpoint_slices",
    "event_from_raw",
    "explain",
    "explain_condition",
    "explain_exit_code",
    "explain_signal",
    "format_age",
    "format_rfc3339",
    "kubectl_columns",
    "kubectl_status",
    "latest_event_versions",
    "occurrences_between",
    "parse_rfc3339",
    "slice_endpoints",
    "snapshot_from_pod",
    "state_of",
    "translate_timestamp_since",
]
