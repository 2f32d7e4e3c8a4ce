"""Plain-language explanations of the reason strings a pod can show.

A catalogue keyed by (kind, reason): the same string means different things in different
places ("Unknown" as a phase versus the kubectl STATUS of a terminating pod on a lost node,
"Completed" as a terminated reason versus a condition reason), so every entry is registered
under the kinds where the reference shows it. Looking up without a kind tries the kinds in a
fixed order, container reasons first, because those are what an SRE most often needs decoded.

kubectl display strings are composed rather than listed: ``Init:CrashLoopBackOff`` is the
init-container prefix over the CrashLoopBackOff entry, ``Signal:9`` and ``ExitCode:137`` are
exit-code explanations. Unknown reasons return None so callers can show the raw string:
a guess is worse than no explanation.

Every ``source`` names the section of the project's pod-lifecycle reference (``ref §x``) or
kubectl-status reference (``kubectl §x``) the explanation rests on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum

__all__ = [
    "Explanation",
    "ReasonKind",
    "catalogue_keys",
    "explain",
    "explain_condition",
    "explain_exit_code",
    "explain_signal",
]


class ReasonKind(StrEnum):
    PHASE = "phase"
    POD_REASON = "pod_reason"
    CONDITION_TYPE = "condition_type"
    CONDITION_REASON = "condition_reason"
    WAITING_REASON = "waiting_reason"
    TERMINATED_REASON = "terminated_reason"
    EVENT_REASON = "event_reason"
    KUBECTL_STATUS = "kubectl_status"
    EXIT_CODE = "exit_code"


@dataclass(frozen=True, slots=True)
class Explanation:
    title: str
    sentence: str
    next_step: str
    source: str
    kind: ReasonKind


_CATALOGUE: dict[tuple[ReasonKind, str], Explanation] = {}

# Order of kinds tried when the caller does not say where the reason came from.
_LOOKUP_ORDER: tuple[ReasonKind, ...] = (
    ReasonKind.WAITING_REASON,
    ReasonKind.TERMINATED_REASON,
    ReasonKind.POD_REASON,
    ReasonKind.CONDITION_REASON,
    ReasonKind.CONDITION_TYPE,
    ReasonKind.PHASE,
    ReasonKind.KUBECTL_STATUS,
    ReasonKind.EVENT_REASON,
)

# kubectl STATUS falls back to these, because the column is built from them (kubectl §1-§3).
_KUBECTL_FALLBACK: tuple[ReasonKind, ...] = (
    ReasonKind.KUBECTL_STATUS,
    ReasonKind.WAITING_REASON,
    ReasonKind.TERMINATED_REASON,
    ReasonKind.POD_REASON,
    ReasonKind.CONDITION_REASON,
    ReasonKind.PHASE,
)

# An event that shares its reason with a pod or container reason means the same thing.
_EVENT_FALLBACK: tuple[ReasonKind, ...] = (
    ReasonKind.EVENT_REASON,
    ReasonKind.POD_REASON,
    ReasonKind.WAITING_REASON,
)


def _add(
    kinds: tuple[ReasonKind, ...],
    reasons: tuple[str, ...] | str,
    title: str,
    sentence: str,
    next_step: str,
    source: str,
) -> None:
    names = (reasons,) if isinstance(reasons, str) else reasons
    for kind in kinds:
        for name in names:
            _CATALOGUE[(kind, name)] = Explanation(title, sentence, next_step, source, kind)


_P = (ReasonKind.PHASE,)
_PR = (ReasonKind.POD_REASON,)
_PRE = (ReasonKind.POD_REASON, ReasonKind.EVENT_REASON)
_CT = (ReasonKind.CONDITION_TYPE,)
_CR = (ReasonKind.CONDITION_REASON,)
_W = (ReasonKind.WAITING_REASON,)
_WE = (ReasonKind.WAITING_REASON, ReasonKind.EVENT_REASON)
_T = (ReasonKind.TERMINATED_REASON,)
_E = (ReasonKind.EVENT_REASON,)
_K = (ReasonKind.KUBECTL_STATUS,)

# --- phases (ref §1.1) ---------------------------------------------------------------------
_add(
    _P,
    "Pending",
    "Pending",
    "The pod is accepted but not every container has started yet: it is waiting to be "
    "scheduled, pulling images or running init containers.",
    "Look at the PodScheduled condition and the container waiting reasons to see which step "
    "it is stuck in.",
    "ref §1.1",
)
_add(
    _P,
    "Running",
    "Running",
    "The pod is bound to a node, all containers were created and at least one is running, "
    "starting or restarting.",
    "Running does not mean healthy: check READY and restarts.",
    "ref §1.1",
)
_add(
    _P,
    "Succeeded",
    "Succeeded",
    "Every container exited with code 0 and none will restart.",
    "Nothing to do unless the pod was expected to keep running.",
    "ref §1.1",
)
_add(
    _P,
    "Failed",
    "Failed",
    "Every container has terminated and at least one failed, or the system failed the pod "
    "(eviction, admission rejection, deadline).",
    "Read the pod reason and each container's exit code and reason.",
    "ref §1.1",
)
_add(
    _P,
    "Unknown",
    "Unknown phase",
    "The pod's state could not be obtained, historically because the node stopped "
    "answering; current kubelets do not report this phase.",
    "Check the node's Ready condition and whether the node still exists.",
    "ref §1.1",
)

# --- pod status.reason (ref §1.2) ----------------------------------------------------------
_add(
    _PRE,
    "Evicted",
    "Evicted by the kubelet",
    "The kubelet killed the pod because its node ran low on a resource (memory, disk, "
    "inodes or PIDs); the pod stays Failed and its controller creates a replacement.",
    "Read the message for the resource, then set requests and limits so the pod is not the "
    "first choice for eviction, or give the node more headroom.",
    "ref §1.2, §3.6",
)
_add(
    _PRE,
    ("OutOfcpu", "OutOfmemory", "OutOfephemeral-storage", "OutOfpods"),
    "Rejected by the kubelet: out of resources",
    "The kubelet refused to run the pod because the node it was scheduled to does not have "
    "room for its requests.",
    "Usually a race between scheduler and node; the controller recreates the pod. If it "
    "repeats, check node allocatable versus pods that bypass the scheduler.",
    "ref §1.2",
)
_add(
    _PRE,
    "UnexpectedAdmissionError",
    "Rejected by the kubelet: admission error",
    "The kubelet refused the pod during admission, typically because a device plugin could "
    "not allocate the requested devices.",
    "Check the device plugin on the node and the pod's extended resource requests.",
    "ref §1.2",
)
_add(
    _PRE,
    (
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
    ),
    "Rejected by the kubelet at admission",
    "The kubelet on the assigned node refused to run the pod; the message says which check "
    "failed (OS, node affinity, topology, sysctls, volume limits or a feature the node lacks).",
    "Fix the pod spec or node labels the message names; the pod will not start on that node.",
    "ref §1.2",
)
_add(
    _PR,
    "Terminated",
    "Terminated by node shutdown",
    "The kubelet stopped the pod because the node was shutting down.",
    "Expected during node maintenance; make sure the workload has enough replicas and a "
    "PodDisruptionBudget.",
    "ref §1.2, §3.6",
)
_add(
    _PR,
    "NodeShutdown",
    "Rejected: node shutting down",
    "The kubelet refused to start the pod because its node is shutting down.",
    "The controller will place a replacement on another node.",
    "ref §1.2",
)
_add(
    _PR,
    "Shutdown",
    "Terminated by node shutdown (legacy)",
    "An older kubelet (v1.20-v1.21) stopped the pod because the node was shutting down.",
    "Same as Terminated: expected during node maintenance.",
    "ref §1.2",
)
_add(
    _PRE,
    "Preempting",
    "Preempted by the kubelet",
    "The kubelet killed this pod to make room for a critical pod on the same node.",
    "Give the workload a higher priority class or more room on the node.",
    "ref §1.2, §3.5",
)
_add(
    _PRE,
    "DeadlineExceeded",
    "Active deadline exceeded",
    "The pod ran longer than its activeDeadlineSeconds and the kubelet stopped it; this is "
    "a pod reason, not a container's.",
    "Raise activeDeadlineSeconds or find out why the work took longer than expected.",
    "ref §1.2",
)
_add(
    _PR,
    "NodeLost",
    "Node lost",
    "The node running the pod stopped responding; kubectl shows such terminating pods as "
    "Unknown. No current writer of this reason is known.",
    "Check the node; the pod is deleted once the node is confirmed gone.",
    "ref §1.2",
)

# --- condition types (ref §1.3) ------------------------------------------------------------
_add(
    _CT,
    "PodScheduled",
    "Scheduled",
    "Whether the scheduler has bound the pod to a node.",
    "If False, read its reason: Unschedulable, SchedulingGated or SchedulerError.",
    "ref §1.3",
)
_add(
    _CT,
    ("PodReadyToStartContainers", "PodHasNetwork"),
    "Sandbox ready",
    "Whether the pod's sandbox and network exist on the node, so containers can start.",
    "If False for long, look for FailedCreatePodSandBox or NetworkNotReady events.",
    "ref §1.3",
)
_add(
    _CT,
    "Initialized",
    "Initialized",
    "Whether every init container completed (sidecars: started).",
    "If False, look at the init container statuses for the one that is stuck.",
    "ref §1.3",
)
_add(
    _CT,
    "ContainersReady",
    "Containers ready",
    "Whether every container, sidecars included, passes its readiness check.",
    "If False, the message lists the unready containers.",
    "ref §1.3",
)
_add(
    _CT,
    "Ready",
    "Ready",
    "Whether the pod can serve traffic: all containers ready and every readiness gate True.",
    "If False, Services stop sending it traffic; check ContainersReady and readiness gates.",
    "ref §1.3",
)
_add(
    _CT,
    "DisruptionTarget",
    "Disruption target",
    "A disruption (preemption, eviction, taint, garbage collection, kubelet termination) is "
    "about to delete or terminate the pod.",
    "Read the reason to see which component disrupted it.",
    "ref §1.3",
)
_add(
    _CT,
    ("PodResizePending", "PodResizeInProgress"),
    "In-place resize",
    "An in-place change of the pod's resources is pending or being applied.",
    "Wait for the resize to finish; read the message if it stays pending.",
    "ref §1.3",
)

# --- condition reasons (ref §1.3) ----------------------------------------------------------
_add(
    _CR + _K,
    "SchedulingGated",
    "Scheduling gated",
    "The pod has scheduling gates, so the scheduler will not consider it until they are removed.",
    "Find the controller that owns the gate in spec.schedulingGates.",
    "ref §1.3; kubectl §1",
)
_add(
    _CR,
    "Unschedulable",
    "Unschedulable",
    "The scheduler found no node that fits the pod's requests, affinity, taints or volumes.",
    "Read the FailedScheduling message for the filters that rejected each node.",
    "ref §1.3",
)
_add(
    _CR,
    "SchedulerError",
    "Scheduler error",
    "The scheduler hit an internal error while placing the pod.",
    "Check the scheduler's logs; the pod will be retried.",
    "ref §1.3",
)
_add(
    _CR,
    "ContainersNotInitialized",
    "Init containers not finished",
    "At least one init container has not completed, so app containers cannot start.",
    "The message lists them; look at their status and logs.",
    "ref §1.3",
)
_add(
    _CR,
    "ContainersNotReady",
    "Containers not ready",
    "At least one container is not ready, so the pod receives no Service traffic.",
    "The message lists them; check their readiness probes and restarts.",
    "ref §1.3",
)
_add(
    _CR,
    "PodCompleted",
    "Pod completed",
    "The pod succeeded, so its containers are no longer running or ready.",
    "Nothing to do for a finished job.",
    "ref §1.3",
)
_add(
    _CR,
    "PodFailed",
    "Pod failed",
    "The pod failed, so its containers are no longer ready.",
    "Read the pod reason and the container exit codes.",
    "ref §1.3",
)
_add(
    _CR,
    "UnknownContainerStatuses",
    "Container statuses unknown",
    "The kubelet could not determine the containers' statuses.",
    "Check the node and its container runtime.",
    "ref §1.3",
)
_add(
    _CR,
    "ReadinessGatesNotReady",
    "Readiness gates not ready",
    "The containers are ready but a readiness gate set by an external controller is not.",
    "Check the controller that owns the gate (often a load-balancer controller).",
    "ref §1.3",
)
_add(
    _CR,
    "PreemptionByScheduler",
    "Preempted by the scheduler",
    "The scheduler deletes this pod to make room for a higher-priority pod.",
    "Give the workload a higher priority class or more cluster capacity.",
    "ref §1.3, §3.6",
)
_add(
    _CR,
    "DeletionByTaintManager",
    "Deleted for a NoExecute taint",
    "The taint manager deletes the pod because its node got a NoExecute taint it does not "
    "tolerate, typically because the node became unreachable.",
    "Check the node; tune tolerationSeconds if 300 s is too slow or too fast.",
    "ref §1.3, §3.6",
)
_add(
    _CR,
    "EvictionByEvictionAPI",
    "Evicted through the Eviction API",
    "Something (usually a node drain) evicted the pod through the Eviction API, which then "
    "deletes it gracefully.",
    "Expected during maintenance; a PodDisruptionBudget limits how many go at once.",
    "ref §1.3, §3.6",
)
_add(
    _CR,
    "DeletionByPodGC",
    "Deleted by pod garbage collection",
    "Pod garbage collection deletes the pod, usually because its node no longer exists.",
    "Check why the node disappeared.",
    "ref §1.3, §3.6",
)
_add(
    _CR,
    "TerminationByKubelet",
    "Terminated by the kubelet",
    "The kubelet itself terminates the pod: node-pressure eviction, node shutdown or "
    "critical-pod preemption.",
    "Read the pod reason and events to see which.",
    "ref §1.3, §3.6",
)
_add(
    _CR,
    "DeletionByDeviceTaintManager",
    "Deleted for a device taint",
    "The device taint manager deletes the pod because a device it uses is tainted.",
    "Check the device's health on the node.",
    "ref §1.3",
)

# --- waiting reasons (ref §2.2) ------------------------------------------------------------
_add(
    _W,
    "ContainerCreating",
    "Container creating",
    "The kubelet has not created the container yet: sandbox, volumes or image are still "
    "being prepared.",
    "If it lasts, look for FailedMount, FailedCreatePodSandBox or pull events.",
    "ref §2.2",
)
_add(
    _W,
    "PodInitializing",
    "Waiting for init containers",
    "The container waits because the pod's init containers have not finished yet.",
    "Look at the init container statuses.",
    "ref §2.2",
)
_add(
    _W,
    "CrashLoopBackOff",
    "Crash loop back-off",
    "The container keeps exiting and the kubelet waits (10 s, doubling to 5 min) before "
    "restarting it again.",
    "Read the previous container's logs (kubectl logs --previous) and its last exit code.",
    "ref §2.2",
)
_add(
    _WE,
    "ErrImagePull",
    "Image pull failed",
    "The kubelet could not pull the image: wrong name or tag, missing credentials or an "
    "unreachable registry.",
    "Read the Failed event for the registry's error; check the image name and pull secrets.",
    "ref §2.2",
)
_add(
    _W,
    "ImagePullBackOff",
    "Image pull back-off",
    "Pulling the image failed and the kubelet waits before trying again.",
    "Read the earlier ErrImagePull error; check the image name, tag and pull secrets.",
    "ref §2.2",
)
_add(
    _W,
    "InvalidImageName",
    "Invalid image name",
    "The image reference cannot be parsed, so the kubelet will not try to pull it.",
    "Fix the image field in the pod spec.",
    "ref §2.2",
)
_add(
    _WE,
    "ErrImageNeverPull",
    "Image absent and pulling forbidden",
    "The image is not on the node and imagePullPolicy is Never.",
    "Preload the image on the node or change imagePullPolicy.",
    "ref §2.2",
)
_add(
    _W,
    "ImageInspectError",
    "Image inspect error",
    "The container runtime could not inspect the image on the node.",
    "Check the runtime on the node; removing the corrupt image usually helps.",
    "ref §2.2",
)
_add(
    _W,
    "RegistryUnavailable",
    "Registry unavailable",
    "The image registry could not be reached.",
    "Check registry availability and the node's network path to it.",
    "ref §2.2",
)
_add(
    _W,
    "SignatureValidationFailed",
    "Image signature validation failed",
    "The image's signature did not pass the node's validation policy.",
    "Use a correctly signed image or fix the signature policy.",
    "ref §2.2",
)
_add(
    _W,
    "CreateContainerConfigError",
    "Container config error",
    "The kubelet could not build the container's configuration, typically a missing "
    "ConfigMap or Secret key or a runAsNonRoot violation.",
    "Read the Failed event message for the missing object or key.",
    "ref §2.2",
)
_add(
    _W,
    "CreateContainerError",
    "Container create error",
    "The container runtime failed to create the container.",
    "Read the Failed event message; often a name conflict or a bad mount.",
    "ref §2.2",
)
_add(
    _W,
    ("PreCreateHookError", "PreStartHookError"),
    "Internal hook error",
    "An internal kubelet hook that runs before creating or starting the container failed "
    "(not the pod's own lifecycle hooks).",
    "Check the kubelet and device plugins on the node.",
    "ref §2.2",
)
_add(
    _W,
    "RunContainerError",
    "Container start error",
    "The runtime created the container but could not start it, often because the command "
    "does not exist or is not executable.",
    "Check command/args and the image's entrypoint.",
    "ref §2.2",
)
_add(
    _W,
    "PostStartHookError",
    "postStart hook failed",
    "The container's postStart hook failed, so the kubelet killed the container.",
    "Fix the postStart hook; its output is not logged, so reproduce it with kubectl exec.",
    "ref §2.2, §5",
)
_add(
    _W,
    ("CreatePodSandboxError", "ConfigPodSandboxError", "KillPodSandboxError"),
    "Pod sandbox error",
    "The kubelet could not create, configure or remove the pod's sandbox (its network "
    "namespace and pause container).",
    "Check the CNI plugin and container runtime on the node.",
    "ref §2.2",
)
_add(
    _W,
    "KillContainerError",
    "Container kill error",
    "The kubelet could not stop the container.",
    "Check the container runtime on the node.",
    "ref §2.2",
)

# --- terminated reasons (ref §2.3) ---------------------------------------------------------
_add(
    _T + _K,
    "Completed",
    "Completed",
    "The container exited with code 0.",
    "Expected for jobs and init containers; for a long-running service find out why it stopped.",
    "ref §2.3; kubectl §3",
)
_add(
    _T + _K,
    "Error",
    "Exited with an error",
    "The container exited with a non-zero code, including being killed by a signal.",
    "Look at the exit code and the container's last logs.",
    "ref §2.3",
)
_add(
    _T + _K,
    "OOMKilled",
    "Killed for running out of memory",
    "The kernel killed the container because it exceeded its memory limit.",
    "Raise the memory limit or reduce the process's memory use.",
    "ref §2.3",
)
_add(
    _T + _K,
    "StartError",
    "Failed to start",
    "The runtime could not start the container process (exit code 128).",
    "Check the command, entrypoint and mounts; read the terminated message.",
    "ref §2.3",
)
_add(
    _T + _K,
    "ContainerCannotRun",
    "Container cannot run (legacy)",
    "A Docker-era runtime could not run the container.",
    "Check the command and image.",
    "ref §2.3",
)
_add(
    _T + _K,
    "ContainerStatusUnknown",
    "Container status unknown",
    "The kubelet could not find the container when the pod ended and recorded a synthetic "
    "exit code 137; this is not evidence that the process was killed.",
    "Treat the real exit as unknown; check the node and runtime around that time.",
    "ref §2.3",
)
_add(
    _T,
    "DeadlineExceeded",
    "Active deadline exceeded",
    "DeadlineExceeded is a pod reason: the pod ran longer than activeDeadlineSeconds.",
    "Raise activeDeadlineSeconds or find out why the work took longer than expected.",
    "ref §1.2, §2.3",
)

# --- kubectl display strings (kubectl-status) ----------------------------------------------
_add(
    _K,
    "Terminating",
    "Terminating",
    "The pod has been asked to stop (deletionTimestamp is set) and is still shutting down.",
    "If it stays for longer than its grace period, check the node and finalizers.",
    "kubectl §4; ref §3",
)
_add(
    _K,
    "NotReady",
    "Not ready",
    "Some containers finished, others are running, and the pod's Ready condition is not True.",
    "Check which container is not ready and why.",
    "kubectl §3",
)
_add(
    _K,
    "Unknown",
    "Unknown (node lost)",
    "The pod is being deleted and its node was reported lost, so its real state is unknown.",
    "Check the node; the pod disappears once the node is confirmed gone.",
    "kubectl §4",
)
_add(
    _K,
    "Running",
    "Running",
    "The pod is running; read READY for whether it serves traffic.",
    "Nothing to do unless READY or RESTARTS look wrong.",
    "kubectl §3",
)

# --- event reasons (ref §3.5, §4, §5, §6.3) ------------------------------------------------
_add(
    _E,
    "Scheduled",
    "Scheduled",
    "The scheduler bound the pod to a node.",
    "Nothing to do.",
    "ref §6.3",
)
_add(
    _E,
    "FailedScheduling",
    "Scheduling failed",
    "The scheduler found no node for the pod; the message counts the nodes each filter rejected.",
    "Fix the requests, affinity, tolerations or volumes named in the message, or add nodes.",
    "ref §6.3",
)
_add(
    _E,
    "Preempted",
    "Preempted by the scheduler",
    "The scheduler preempted this pod to make room for a higher-priority pod.",
    "Give the workload a higher priority class or more capacity.",
    "ref §3.5, §6.3",
)
_add(
    _E,
    "Pulling",
    "Pulling image",
    "The kubelet started pulling the container image.",
    "Nothing to do unless the pull takes long.",
    "ref §6.3",
)
_add(
    _E,
    "Pulled",
    "Image pulled",
    "The image was pulled (the message gives the duration) or was already on the node.",
    "For slow pulls, use a smaller image, a closer registry or pre-pulling.",
    "ref §6.3",
)
_add(
    _E,
    "Failed",
    "Container step failed",
    "A kubelet step for the container failed: pulling, configuring, creating or starting; "
    "the message says which.",
    "Read the message; it usually names the waiting reason that follows.",
    "ref §6.3",
)
_add(
    _E,
    "BackOff",
    "Back-off",
    "The kubelet is waiting before retrying an image pull or restarting a failed container.",
    "Read the message for which, then the earlier failure it backs off from.",
    "ref §6.3",
)
_add(
    _E,
    "InspectFailed",
    "Image inspect failed",
    "The runtime could not inspect the image.",
    "Check the image on the node and the runtime.",
    "ref §6.3",
)
_add(
    _E,
    "Created",
    "Container created",
    "The runtime created the container.",
    "Nothing to do.",
    "ref §6.3",
)
_add(
    _E,
    "Started",
    "Container started",
    "The runtime started the container's process.",
    "Nothing to do.",
    "ref §6.3",
)
_add(
    _E,
    "Killing",
    "Stopping container",
    "The kubelet began stopping a container: because the pod is being deleted or evicted, "
    "a liveness or startup probe failed, postStart failed, or the spec changed.",
    "Read the message for which; the preStop hook runs and SIGTERM follows.",
    "ref §3.3, §3.5",
)
_add(
    _E,
    "Unhealthy",
    "Probe failed",
    "One probe attempt failed; the message says whether liveness, readiness or startup. "
    "A single failure does not restart anything.",
    "If repeated, check the probe's endpoint, timeout and thresholds.",
    "ref §4",
)
_add(
    _E,
    "ProbeWarning",
    "Probe warning",
    "A probe succeeded with a warning, for example an HTTP redirect.",
    "Point the probe at the final URL.",
    "ref §4",
)
_add(
    _E,
    "FailedPostStartHook",
    "postStart hook failed",
    "The container's postStart hook failed and the kubelet killed the container.",
    "Fix the hook; its output is not logged.",
    "ref §5",
)
_add(
    _E,
    "FailedPreStopHook",
    "preStop hook failed",
    "The container's preStop hook failed; the kubelet went on to stop the container anyway.",
    "Fix the hook; a hook that merely times out produces no event at all.",
    "ref §3.3",
)
_add(
    _E,
    "FailedKillPod",
    "Failed to kill pod",
    "The kubelet could not stop the pod's containers.",
    "Check the container runtime on the node.",
    "ref §3.3, §3.5",
)
_add(
    _E,
    "ExceededGracePeriod",
    "Exceeded grace period",
    "A kubelet-initiated kill (eviction, preemption, shutdown) did not finish within the "
    "expected time.",
    "Check the container runtime on the node.",
    "ref §3.3",
)
_add(
    _E,
    "SandboxChanged",
    "Sandbox changed",
    "The pod's sandbox was lost (for example after a node reboot) and will be recreated, "
    "restarting every container.",
    "Check the node and runtime for a restart.",
    "ref §6.3",
)
_add(
    _E,
    ("FailedCreatePodSandBox", "FailedPodSandBoxStatus"),
    "Sandbox failure",
    "The kubelet could not create or query the pod's sandbox, usually a CNI problem.",
    "Check the CNI plugin and the runtime on the node.",
    "ref §6.3",
)
_add(
    _E,
    ("FailedMount", "FailedAttachVolume", "FailedMapVolume"),
    "Volume setup failed",
    "A volume could not be attached, mapped or mounted, so the containers cannot start.",
    "Read the message for the volume and check it exists and is not attached elsewhere.",
    "ref §6.3",
)
_add(
    _E,
    "SuccessfulAttachVolume",
    "Volume attached",
    "The attach-detach controller attached a volume for the pod.",
    "Nothing to do.",
    "ref §6.3",
)
_add(
    _E,
    "NetworkNotReady",
    "Network not ready",
    "The node's network plugin is not ready, so the kubelet cannot set up the pod's network.",
    "Check the CNI plugin pods on that node.",
    "ref §6.3",
)
_add(
    _E,
    ("FailedSync", "FailedValidation", "FailedCreatePodContainer"),
    "Kubelet sync problem",
    "The kubelet failed to sync, validate or create containers for the pod.",
    "Read the message and the kubelet logs on the node.",
    "ref §6.3",
)
_add(
    _E,
    "NodeNotReady",
    "Node not ready",
    "The node controller lost contact with the pod's node and marked the pod not ready.",
    "Check the node; after the toleration (300 s by default) the pod is deleted.",
    "ref §3.6",
)
_add(
    _E,
    "TaintManagerEviction",
    "Taint eviction",
    "The taint-eviction controller marked the pod for deletion (or cancelled that) because "
    "of a NoExecute taint on its node.",
    "Check the node's taints and the pod's tolerations.",
    "ref §3.5, §3.6",
)


# --- exit codes (ref §2.4) -----------------------------------------------------------------
_SIGNALS: dict[int, str] = {
    1: "SIGHUP",
    2: "SIGINT",
    3: "SIGQUIT",
    4: "SIGILL",
    6: "SIGABRT",
    7: "SIGBUS",
    8: "SIGFPE",
    9: "SIGKILL",
    10: "SIGUSR1",
    11: "SIGSEGV",
    12: "SIGUSR2",
    13: "SIGPIPE",
    14: "SIGALRM",
    15: "SIGTERM",
}

_EXIT_CODES: dict[int, tuple[str, str, str]] = {
    0: (
        "Exit 0",
        "The process exited successfully; during a termination this means it handled SIGTERM "
        "and shut down cleanly.",
        "Nothing to do.",
    ),
    1: (
        "Exit 1",
        "The process exited with a generic application error.",
        "Read the container's last logs.",
    ),
    126: (
        "Exit 126",
        "The shell found the command but could not execute it (permissions or format).",
        "Check the entrypoint's file mode and architecture.",
    ),
    127: (
        "Exit 127",
        "The shell could not find the command.",
        "Check command/args and that the binary is in the image.",
    ),
    128: (
        "Exit 128",
        "The runtime could not start the process (containerd StartError).",
        "Check the command, entrypoint and mounts.",
    ),
    130: (
        "Exit 130 (SIGINT)",
        "The process was killed by SIGINT.",
        "Find who sent the interrupt, or handle it.",
    ),
    131: (
        "Exit 131 (SIGQUIT)",
        "The process was killed by SIGQUIT.",
        "Find who sent SIGQUIT; some images use it as their stop signal.",
    ),
    137: (
        "Exit 137 (SIGKILL)",
        "The process was killed by SIGKILL: an out-of-memory kill, a kill when the grace "
        "period ran out, or a synthetic code for a container the kubelet lost.",
        "Check the terminated reason: OOMKilled means raise the memory limit; during a "
        "deletion it means the process did not exit on SIGTERM in time.",
    ),
    139: (
        "Exit 139 (SIGSEGV)",
        "The process crashed with a segmentation fault.",
        "Look for a native crash in the logs.",
    ),
    143: (
        "Exit 143 (SIGTERM)",
        "The process died from SIGTERM's default action, so it stopped promptly on TERM "
        "without handling it.",
        "Fine for most processes; trap TERM if it must drain work before exiting.",
    ),
}


def explain_exit_code(code: int) -> Explanation:
    """Explain an exit code; codes 129-192 are read as 128+signal (ref §2.4)."""
    known = _EXIT_CODES.get(code)
    if known is not None:
        title, sentence, next_step = known
    elif 128 < code <= 192:
        signal = code - 128
        name = _SIGNALS.get(signal, f"signal {signal}")
        title = f"Exit {code} ({name})"
        sentence = f"The process was most likely killed by {name} (exit code 128+{signal})."
        next_step = "Find who sent the signal; an application can also exit with this code."
    else:
        title = f"Exit {code}"
        sentence = f"The process exited with code {code}, chosen by the application."
        next_step = "Read the container's last logs for what the code means."
    return Explanation(title, sentence, next_step, "ref §2.4", ReasonKind.EXIT_CODE)


def explain_signal(signal: int) -> Explanation:
    name = _SIGNALS.get(signal, f"signal {signal}")
    base = explain_exit_code(128 + signal)
    return replace(
        base,
        title=f"Signal {signal} ({name})",
        sentence=f"The process was killed by {name}. " + base.sentence,
        kind=ReasonKind.KUBECTL_STATUS,
    )


_INIT_PROGRESS = re.compile(r"^Init:(\d+)/(\d+)$")
_SIGNAL = re.compile(r"^Signal:(-?\d+)$")
_EXIT = re.compile(r"^ExitCode:(-?\d+)$")
_OUT_OF = "OutOf"


def _lookup(reason: str, kinds: tuple[ReasonKind, ...]) -> Explanation | None:
    for kind in kinds:
        found = _CATALOGUE.get((kind, reason))
        if found is not None:
            return found
    return None


def _explain_kubectl(status: str) -> Explanation | None:
    progress = _INIT_PROGRESS.match(status)
    if progress is not None:
        done, total = progress.groups()
        return Explanation(
            f"Init {done}/{total}",
            f"{done} of the pod's {total} init containers have finished; the next one is "
            "running or about to start.",
            "If it stays here, look at that init container's status and logs.",
            "kubectl §2",
            ReasonKind.KUBECTL_STATUS,
        )
    if status.startswith("Init:"):
        inner = _explain_kubectl(status.removeprefix("Init:"))
        if inner is None:
            return None
        return Explanation(
            f"Init container: {inner.title}",
            "An init container is blocked, so the app containers cannot start. " + inner.sentence,
            inner.next_step,
            "kubectl §2; " + inner.source,
            ReasonKind.KUBECTL_STATUS,
        )
    signal = _SIGNAL.match(status)
    if signal is not None:
        return explain_signal(int(signal.group(1)))
    exit_code = _EXIT.match(status)
    if exit_code is not None:
        return replace(explain_exit_code(int(exit_code.group(1))), kind=ReasonKind.KUBECTL_STATUS)
    return _lookup(status, _KUBECTL_FALLBACK) or _explain_out_of(status)


def _explain_out_of(reason: str) -> Explanation | None:
    # Kubelet admission builds "OutOf<resource>" for any resource, extended ones included.
    if not reason.startswith(_OUT_OF) or len(reason) == len(_OUT_OF):
        return None
    resource = reason.removeprefix(_OUT_OF)
    return Explanation(
        "Rejected by the kubelet: out of resources",
        f"The kubelet refused to run the pod because the node does not have enough {resource} "
        "for its requests.",
        "Usually a race between scheduler and node; if it repeats, check the node's "
        f"allocatable {resource}.",
        "ref §1.2",
        ReasonKind.POD_REASON,
    )


def explain(reason: str, *, kind: ReasonKind | None = None) -> Explanation | None:
    """Explain a reason string, or return None when it is not in the catalogue.

    With ``kind`` the lookup is restricted to where the string came from (kubectl STATUS and
    event reasons also fall back to the pod and container reasons they are built from).
    """
    if not reason:
        return None
    if kind is ReasonKind.EXIT_CODE:
        try:
            return explain_exit_code(int(reason))
        except ValueError:
            return None
    if kind is ReasonKind.KUBECTL_STATUS:
        return _explain_kubectl(reason)
    if kind is ReasonKind.EVENT_REASON:
        return _lookup(reason, _EVENT_FALLBACK) or _explain_out_of(reason)
    if kind is ReasonKind.POD_REASON:
        return _lookup(reason, (kind,)) or _explain_out_of(reason)
    if kind is not None:
        return _lookup(reason, (kind,))
    return _lookup(reason, _LOOKUP_ORDER) or _explain_kubectl(reason)


def explain_condition(type_: str, reason: str = "") -> Explanation | None:
    """A condition's reason if it has one we know, else what the condition type means."""
    if reason:
        found = explain(reason, kind=ReasonKind.CONDITION_REASON)
        if found is not None:
            return found
    return explain(type_, kind=ReasonKind.CONDITION_TYPE)


def catalogue_keys() -> frozenset[tuple[ReasonKind, str]]:
    """Every (kind, reason) with a fixed entry; composed kubectl strings are not listed."""
    return frozenset(_CATALOGUE)
