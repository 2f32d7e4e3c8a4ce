from __future__ import annotations

import pytest

from lifecycle_dash.lifecycle.explain import (
    Explanation,
    ReasonKind,
    catalogue_keys,
    explain,
    explain_condition,
    explain_exit_code,
)

# Every reason string the reference tables name, listed by the kind the table gives it.
REFERENCE_REASONS: dict[ReasonKind, tuple[str, ...]] = {
    # ref §1.1
    ReasonKind.PHASE: ("Pending", "Running", "Succeeded", "Failed", "Unknown"),
    # ref §1.2
    ReasonKind.POD_REASON: (
        "Evicted",
        "OutOfcpu",
        "OutOfmemory",
        "OutOfephemeral-storage",
        "OutOfpods",
        "OutOfnvidia.com/gpu",
        "UnexpectedAdmissionError",
        "UnknownReason",
        "UnexpectedPredicateFailureType",
        "InvalidNodeInfo",
        "PodOSNotSupported",
        "PodOSSelectorNodeLabelDoesNotMatch",
        "InitContainerRestartPolicyForbidden",
        "SupplementalGroupsPolicyNotSupported",
        "NodeAffinity",
        "TopologyAffinityError",
        "SysctlForbidden",
        "VolumeAttachmentLimitExceeded",
        "Terminated",
        "NodeShutdown",
        "Shutdown",
        "Preempting",
        "DeadlineExceeded",
        "NodeLost",
    ),
    # ref §1.3
    ReasonKind.CONDITION_TYPE: (
        "PodScheduled",
        "PodReadyToStartContainers",
        "PodHasNetwork",
        "Initialized",
        "ContainersReady",
        "Ready",
        "DisruptionTarget",
        "PodResizePending",
        "PodResizeInProgress",
    ),
    ReasonKind.CONDITION_REASON: (
        "SchedulingGated",
        "Unschedulable",
        "SchedulerError",
        "ContainersNotInitialized",
        "PodCompleted",
        "ContainersNotReady",
        "PodFailed",
        "UnknownContainerStatuses",
        "ReadinessGatesNotReady",
        "PreemptionByScheduler",
        "DeletionByTaintManager",
        "EvictionByEvictionAPI",
        "DeletionByPodGC",
        "TerminationByKubelet",
        "DeletionByDeviceTaintManager",
    ),
    # ref §2.2
    ReasonKind.WAITING_REASON: (
        "ContainerCreating",
        "PodInitializing",
        "CrashLoopBackOff",
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "ImageInspectError",
        "RegistryUnavailable",
        "SignatureValidationFailed",
        "CreateContainerConfigError",
        "CreateContainerError",
        "PreCreateHookError",
        "PreStartHookError",
        "RunContainerError",
        "PostStartHookError",
        "CreatePodSandboxError",
        "ConfigPodSandboxError",
        "KillPodSandboxError",
        "KillContainerError",
    ),
    # ref §2.3
    ReasonKind.TERMINATED_REASON: (
        "Completed",
        "Error",
        "OOMKilled",
        "StartError",
        "ContainerCannotRun",
        "ContainerStatusUnknown",
        "DeadlineExceeded",
    ),
    # ref §3.5, §4, §5, §6.3
    ReasonKind.EVENT_REASON: (
        "Scheduled",
        "FailedScheduling",
        "Preempted",
        "Preempting",
        "Pulling",
        "Pulled",
        "Failed",
        "BackOff",
        "InspectFailed",
        "ErrImageNeverPull",
        "Created",
        "Started",
        "Killing",
        "Unhealthy",
        "ProbeWarning",
        "FailedPostStartHook",
        "FailedPreStopHook",
        "FailedKillPod",
        "ExceededGracePeriod",
        "Evicted",
        "OutOfmemory",
        "UnexpectedAdmissionError",
        "NodeAffinity",
        "DeadlineExceeded",
        "SandboxChanged",
        "FailedCreatePodSandBox",
        "FailedPodSandBoxStatus",
        "FailedMount",
        "FailedAttachVolume",
        "SuccessfulAttachVolume",
        "FailedMapVolume",
        "NetworkNotReady",
        "FailedSync",
        "FailedValidation",
        "FailedCreatePodContainer",
        "NodeNotReady",
        "TaintManagerEviction",
    ),
    # kubectl-status §1-§4
    ReasonKind.KUBECTL_STATUS: (
        "Terminating",
        "Completed",
        "NotReady",
        "Unknown",
        "Running",
        "SchedulingGated",
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "OOMKilled",
        "Error",
        "Evicted",
        "Pending",
        "Init:0/2",
        "Init:CrashLoopBackOff",
        "Init:Error",
        "Init:Signal:9",
        "Init:ExitCode:1",
        "Signal:15",
        "ExitCode:137",
    ),
}

CASES = [(kind, reason) for kind, reasons in REFERENCE_REASONS.items() for reason in reasons]


@pytest.mark.parametrize(("kind", "reason"), CASES)
def test_every_reason_in_the_reference_has_an_explanation(kind, reason):
    found = explain(reason, kind=kind)

    assert isinstance(found, Explanation)
    assert found.sentence.endswith(".")
    assert found.next_step
    assert found.source


@pytest.mark.parametrize(
    "reason",
    [
        "CrashLoopBackOff",
        "InvalidImageName",
        "ImageInspectError",
        "ErrImageNeverPull",
        "ImagePullBackOff",
        "RegistryUnavailable",
        "ErrImagePull",
        "CreateContainerConfigError",
        "CreateContainerError",
        "PreStartHookError",
        "RunContainerError",
        "PostStartHookError",
        "ContainersNotInitialized",
        "ContainersNotReady",
        "ContainerCreating",
        "PodInitializing",
        "NetworkNotReady",
        "OOMKilled",
        "Evicted",
        "DeadlineExceeded",
        "ContainerStatusUnknown",
        "Terminating",
        "NotReady",
    ],
)
def test_the_issues_named_reasons_are_explained_without_a_kind(reason):
    assert explain(reason) is not None


def test_unknown_reasons_return_none_so_callers_show_the_raw_string():
    assert explain("SomethingNew") is None
    assert explain("") is None
    assert explain("Init:SomethingNew", kind=ReasonKind.KUBECTL_STATUS) is None
    assert explain("OutOf", kind=ReasonKind.POD_REASON) is None
    assert explain("abc", kind=ReasonKind.EXIT_CODE) is None


def test_a_kind_restricts_the_lookup():
    assert explain("Unschedulable", kind=ReasonKind.WAITING_REASON) is None
    assert explain("CrashLoopBackOff", kind=ReasonKind.PHASE) is None


def test_the_same_string_means_different_things_by_kind():
    phase = explain("Unknown", kind=ReasonKind.PHASE)
    display = explain("Unknown", kind=ReasonKind.KUBECTL_STATUS)

    assert phase is not None
    assert display is not None
    assert phase.sentence != display.sentence
    assert "deleted" in display.sentence


def test_without_a_kind_container_reasons_win():
    found = explain("DeadlineExceeded")

    assert found is not None
    assert found.kind is ReasonKind.TERMINATED_REASON
    assert "pod reason" in found.sentence


def test_init_prefixed_status_wraps_the_inner_explanation():
    found = explain("Init:CrashLoopBackOff", kind=ReasonKind.KUBECTL_STATUS)
    inner = explain("CrashLoopBackOff")

    assert found is not None
    assert inner is not None
    assert found.title == "Init container: Crash loop back-off"
    assert inner.sentence in found.sentence
    assert found.next_step == inner.next_step


def test_init_progress_states_how_many_init_containers_finished():
    found = explain("Init:1/3", kind=ReasonKind.KUBECTL_STATUS)

    assert found is not None
    assert found.sentence.startswith("1 of the pod's 3 init containers have finished")


def test_kubectl_signal_and_exit_code_strings_decode_the_signal():
    signal = explain("Signal:9", kind=ReasonKind.KUBECTL_STATUS)
    exit_code = explain("ExitCode:143", kind=ReasonKind.KUBECTL_STATUS)

    assert signal is not None
    assert "SIGKILL" in signal.sentence
    assert exit_code is not None
    assert exit_code.title == "Exit 143 (SIGTERM)"
    assert exit_code.kind is ReasonKind.KUBECTL_STATUS


@pytest.mark.parametrize(
    ("code", "title", "phrase"),
    [
        (0, "Exit 0", "handled SIGTERM"),
        (1, "Exit 1", "generic application error"),
        (128, "Exit 128", "could not start"),
        (130, "Exit 130 (SIGINT)", "SIGINT"),
        (137, "Exit 137 (SIGKILL)", "grace period ran out"),
        (143, "Exit 143 (SIGTERM)", "default action"),
        (134, "Exit 134 (SIGABRT)", "128+6"),
        (158, "Exit 158 (signal 30)", "128+30"),
        (2, "Exit 2", "chosen by the application"),
        (255, "Exit 255", "chosen by the application"),
    ],
)
def test_exit_codes_are_read_as_128_plus_signal(code, title, phrase):
    found = explain_exit_code(code)

    assert found.title == title
    assert phrase in found.sentence
    assert explain(str(code), kind=ReasonKind.EXIT_CODE) == found


def test_event_reasons_fall_back_to_the_pod_reason_they_repeat():
    found = explain("OutOfnvidia.com/gpu", kind=ReasonKind.EVENT_REASON)

    assert found is not None
    assert "nvidia.com/gpu" in found.sentence


def test_catalogue_lists_fixed_entries_only():
    keys = catalogue_keys()

    assert (ReasonKind.WAITING_REASON, "CrashLoopBackOff") in keys
    assert all(not reason.startswith("Init:") for _, reason in keys)


def test_a_condition_is_explained_by_its_reason_then_its_type():
    by_reason = explain_condition("DisruptionTarget", "TerminationByKubelet")
    by_type = explain_condition("Ready")
    unknown_reason = explain_condition("Ready", "SomeGateController")

    assert by_reason is not None
    assert by_reason.title == "Terminated by the kubelet"
    assert by_type is not None
    assert by_type.kind is ReasonKind.CONDITION_TYPE
    assert unknown_reason == by_type
    assert explain_condition("example.com/custom-gate") is None
