"""The simulated kubelet: plays each bound pod on its node (reference §1-§5).

One ``PodWorker`` per pod, driven entirely by timeline entries (no task per pod):

* start-up: first status (startTime, hostIP, conditions), sandbox (podIP,
  PodReadyToStartContainers), init containers one at a time (sidecars only until started),
  then every regular container at once: pull (or back-off), Created, Started, postStart,
  startup, readiness;
* behaviour from annotations: crashes, OOM kills, liveness failures with Unhealthy events and
  a Killing, readiness flaps, restarts with the kubelet's crash back-off (10 s doubling to
  300 s, reset after 10 min, restart immediately the first time);
* termination (§3.3): Killing, preStop (capped at the remaining grace), SIGTERM, SIGKILL at the
  deadline with the 2 s floor, sidecars after regular containers in reverse order, terminal
  status write (Failed/Succeeded), then the final DELETE with grace 0 (MODIFIED with
  deletionGracePeriodSeconds=0, then DELETED);
* node-pressure eviction (phase Failed, reason Evicted, DisruptionTarget, no deletion);
* force deletion: the object is gone at once, the node still stops the containers (1 s
  pod-worker floor, 2 s kill floor), visible only in the ground truth.

Status writes within one simulated instant are coalesced into one write, as the status
manager's batching does. Conditions get a new lastTransitionTime only when their status
changes (§1.4).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from lifecycle_dash.kubesim.clock import format_time
from lifecycle_dash.kubesim.deletion import request_pod_deletion
from lifecycle_dash.kubesim.engine.behaviour import parse_pod_behaviour, valid_image_reference
from lifecycle_dash.kubesim.engine.containers import (
    BACKOFF_INITIAL,
    BACKOFF_MAX,
    INIT,
    MAIN,
    SIDECAR,
    Ctr,
)
from lifecycle_dash.kubesim.engine.context import Context
from lifecycle_dash.kubesim.engine.ids import image_size, normalize_image
from lifecycle_dash.kubesim.engine.nodes import Node, pod_requests
from lifecycle_dash.kubesim.engine.timeline import Timer
from lifecycle_dash.kubesim.engine.units import go_duration

log = logging.getLogger(__name__)

KUBELET = "kubelet"
MIN_GRACE = 2.0  # kuberuntime minimumGracePeriodInSeconds
BACKOFF_RESET = 2 * BACKOFF_MAX  # flowcontrol.Backoff hasExpired: 2 x maxDuration
SYNC = 1.0  # PLEG relist / pod sync latency after a container dies
CONFIG_RETRY = 10.0
TERMINAL = ("Succeeded", "Failed")
_KUBELET_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")


def _go_list(names: list[str]) -> str:
    return "[" + " ".join(names) + "]"


class PodWorker:
    def __init__(self, kubelet: Kubelet, pod: dict[str, Any], node: Node) -> None:
        self.kubelet = kubelet
        self.ctx = kubelet.ctx
        meta = pod["metadata"]
        self.uid: str = meta["uid"]
        self.namespace: str = meta["namespace"]
        self.name: str = meta["name"]
        self.node = node
        spec = pod["spec"]
        self.restart_policy: str = spec.get("restartPolicy", "Always")
        self.spec_grace = float(spec.get("terminationGracePeriodSeconds", 30))
        self.behaviour = parse_pod_behaviour(meta.get("annotations"))
        self.init: list[Ctr] = [
            Ctr(
                c["name"],
                c,
                SIDECAR if c.get("restartPolicy") == "Always" else INIT,
                self.behaviour.container(c["name"]),
            )
            for c in spec.get("initContainers") or []
        ]
        self.mains: list[Ctr] = [
            Ctr(c["name"], c, MAIN, self.behaviour.container(c["name"]))
            for c in spec.get("containers") or []
        ]
        default_wait = "PodInitializing" if self.init else "ContainerCreating"
        for ctr in [*self.init, *self.mains]:
            ctr.wait(default_wait)
        self.conditions: dict[str, dict[str, Any]] = {}
        self.own_conditions: dict[str, dict[str, Any]] = {}
        self.phase = "Pending"
        self.reason: str | None = None
        self.message: str | None = None
        self.start_time: datetime | None = None
        self.pod_ip: str | None = None
        self.sandbox = False
        self.begun = False
        self.terminating = False
        self.deleting = False
        self.finished = False
        self.frozen = False
        self.deadline: datetime | None = None
        self.timers: list[Timer] = []
        self._dirty = False
        self._stop_queue: list[Ctr] = []

    # ---- plumbing ----------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self.ctx.timeline.now()

    @property
    def containers(self) -> list[Ctr]:
        return [*self.init, *self.mains]

    def pod(self) -> dict[str, Any] | None:
        return self.ctx.pod(self.namespace, self.name, self.uid)

    def later(self, seconds: float, callback: Callable[[], None], ctr: Ctr | None = None) -> None:
        def guarded() -> None:
            if not self.frozen:
                callback()

        timer = self.ctx.timeline.after(seconds, guarded)
        (ctr.timers if ctr is not None else self.timers).append(timer)

    def for_gen(self, ctr: Ctr, callback: Callable[[], None]) -> Callable[[], None]:
        gen = ctr.gen

        def guarded() -> None:
            if ctr.gen == gen:
                callback()

        return guarded

    def event(self, type_: str, reason: str, message: str, ctr: Ctr | None = None) -> None:
        pod = self.pod()
        if pod is None or self.frozen:
            return
        self.ctx.recorder.legacy(
            pod,
            type_=type_,
            reason=reason,
            message=message,
            component=KUBELET,
            host=self.node.name,
            field_path=ctr.field_path if ctr else None,
        )

    def truth(self, what: str, ctr: Ctr | None = None, **extra: Any) -> None:
        pod = self.pod()
        ref = pod or {"metadata": {"uid": self.uid, "namespace": self.namespace, "name": self.name}}
        self.ctx.truth.record(what, ref, ctr.name if ctr else None, **extra)

    def touch(self) -> None:
        if not self._dirty:
            self._dirty = True
            self.ctx.timeline.after(0, self.flush, late=True)

    def flush(self) -> None:
        self._dirty = False
        pod = self.pod()
        if pod is None or self.frozen:
            return
        new = dict(pod)
        new["metadata"] = dict(pod["metadata"])
        new["status"] = self._status(pod)
        self.ctx.store.update("pods", new)

    def cancel_all(self) -> None:
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()
        for ctr in self.containers:
            ctr.cancel_timers()

    # ---- status ------------------------------------------------------------------------------

    def _condition(self, type_: str, status: bool, reason: str = "", message: str = "") -> None:
        value = "True" if status else "False"
        old = self.conditions.get(type_)
        changed = old is None or old["status"] != value
        cond: dict[str, Any] = {
            "type": type_,
            "status": value,
            "lastProbeTime": None,
            "lastTransitionTime": format_time(self.now) if changed else old["lastTransitionTime"],  # type: ignore[index]
        }
        if reason:
            cond["reason"] = reason
        if message:
            cond["message"] = message
        self.conditions[type_] = cond

    def _refresh_conditions(self) -> None:
        self._condition("PodReadyToStartContainers", self.sandbox)
        if self.phase == "Succeeded":
            self._condition("Initialized", True, "PodCompleted")
        else:
            incomplete = [
                c.name for c in self.init if not (c.done or (c.role == SIDECAR and c.started))
            ]
            if incomplete and not self._init_complete():
                self._condition(
                    "Initialized",
                    False,
                    "ContainersNotInitialized",
                    f"containers with incomplete status: {_go_list(incomplete)}",
                )
            else:
                self._condition("Initialized", True)
        if self.phase in TERMINAL:
            reason = "PodCompleted" if self.phase == "Succeeded" else "PodFailed"
            self._condition("ContainersReady", False, reason)
            self._condition("Ready", False, reason)
            return
        unready = [c.name for c in [*self.init, *self.mains] if c.role != INIT and not c.ready]
        if unready:
            message = f"containers with unready status: {_go_list(unready)}"
            self._condition("ContainersReady", False, "ContainersNotReady", message)
            self._condition("Ready", False, "ContainersNotReady", message)
        else:
            self._condition("ContainersReady", True)
            self._condition("Ready", True)

    def _status(self, pod: dict[str, Any]) -> dict[str, Any]:
        if not self.terminating and not self.finished:
            self.phase = self._phase()
        self._refresh_conditions()
        old = pod.get("status") or {}
        others = [
            c
            for c in old.get("conditions") or []
            if c.get("type") not in _KUBELET_CONDITIONS and c.get("type") not in self.own_conditions
        ]
        conditions = [
            *self.own_conditions.values(),
            *(self.conditions[t] for t in _KUBELET_CONDITIONS),
            *others,
        ]
        status: dict[str, Any] = {"phase": self.phase, "conditions": conditions}
        if self.reason:
            status["reason"] = self.reason
        if self.message:
            status["message"] = self.message
        status["hostIP"] = self.node.host_ip
        status["hostIPs"] = [{"ip": self.node.host_ip}]
        if self.pod_ip:
            status["podIP"] = self.pod_ip
            status["podIPs"] = [{"ip": self.pod_ip}]
        if self.start_time:
            status["startTime"] = format_time(self.start_time)
        if self.init:
            status["initContainerStatuses"] = [c.status() for c in self.init]
        status["containerStatuses"] = [c.status() for c in sorted(self.mains, key=_by_name)]
        status["qosClass"] = old.get("qosClass", "BestEffort")
        if old.get("nominatedNodeName"):
            status["nominatedNodeName"] = old["nominatedNodeName"]
        return status

    def _init_complete(self) -> bool:
        return all(c.done or (c.role == SIDECAR and c.started) for c in self.init)

    def _phase(self) -> str:
        """kubelet getPhase for a pod that is not being torn down."""
        if not self._init_complete():
            failed_init = any(
                c.role == INIT and c.terminated and c.exit_code not in (0, None) for c in self.init
            )
            if failed_init and self.restart_policy == "Never":
                return "Failed"
            return "Pending"
        waiting = running = stopped = succeeded = 0
        for c in self.mains:
            if c.running:
                running += 1
            elif c.terminated:
                stopped += 1
                succeeded += c.exit_code == 0
            elif c.last_state.get("terminated"):
                stopped += 1
            else:
                waiting += 1
        if waiting:
            return "Pending"
        if running:
            return "Running"
        if stopped:
            if self.restart_policy == "Always":
                return "Running"
            if stopped == succeeded:
                return "Succeeded"
            if self.restart_policy == "Never":
                return "Failed"
            return "Running"
        return "Pending"

    # ---- start-up ----------------------------------------------------------------------------

    def begin(self) -> None:
        if self.begun or self.frozen:
            return
        self.begun = True
        self.start_time = self.now
        self.touch()
        if self.behaviour.evict_after is not None:
            self.later(
                self.behaviour.evict_after,
                lambda: self.evict(
                    "The node was low on resource: memory. Threshold quantity: 100Mi, "
                    "available: 52100Ki. "
                ),
            )
        if self.terminating:
            return
        self.later(self.ctx.options.sandbox_seconds, self._sandbox_ready)

    def _sandbox_ready(self) -> None:
        if self.terminating:
            return
        self.sandbox = True
        self.pod_ip = self.node.pod_ip(self.uid) if self.uid in self.node.pods else None
        self.touch()
        self._next_init()

    def _next_init(self) -> None:
        if self.terminating:
            return
        for ctr in self.init:
            if ctr.done or (ctr.role == SIDECAR and (ctr.started or ctr.running)):
                if ctr.role == SIDECAR and not ctr.started:
                    return  # wait for the sidecar's startup before the next init container
                continue
            if not ctr.launched:
                self._launch(ctr)
            return
        self.touch()
        for ctr in self.mains:
            if not ctr.launched:
                self._launch(ctr)

    def _launch(self, ctr: Ctr) -> None:
        """Pull (or fail to), then create and start ``ctr``."""
        if self.terminating:
            return
        ctr.launched = True
        behaviour = ctr.behaviour
        image = ctr.image
        if not valid_image_reference(image):
            ctr.wait("InvalidImageName", f'failed to parse image reference "{image}"')
            self.event(
                "Warning",
                "InspectFailed",
                f'Failed to apply default image tag "{image}": couldn\'t parse image name '
                f'"{image}": invalid reference format',
                ctr,
            )
            self.event("Warning", "Failed", "Error: InvalidImageName", ctr)
            self.touch()
            self.later(CONFIG_RETRY, lambda: self._launch(ctr), ctr)
            return
        policy = ctr.spec.get("imagePullPolicy", "IfNotPresent")
        present = image in self.node.images
        if present and policy != "Always":
            self.event(
                "Normal", "Pulled", f'Container image "{image}" already present on machine', ctr
            )
            self._create(ctr)
            return
        self.event("Normal", "Pulling", f'Pulling image "{image}"', ctr)
        seconds = 0.3 if present else behaviour.pull_seconds
        self.later(seconds, lambda: self._pulled(ctr, seconds), ctr)

    def _pulled(self, ctr: Ctr, seconds: float) -> None:
        image = ctr.image
        if ctr.behaviour.image_pull_fails:
            ref = normalize_image(image)
            repo = ref.rsplit(":", 1)[0]
            self.event(
                "Warning",
                "Failed",
                f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to '
                f'pull and unpack image "{ref}": failed to resolve reference "{ref}": '
                f"{repo}: not found",
                ctr,
            )
            self.event("Warning", "Failed", "Error: ErrImagePull", ctr)
            ctr.wait("ErrImagePull", f'rpc error: code = NotFound desc = failed to pull "{ref}"')
            self.touch()
            ctr.pull_backoff = (
                BACKOFF_INITIAL if not ctr.pull_backoff else min(2 * ctr.pull_backoff, BACKOFF_MAX)
            )
            self.later(SYNC, lambda: self._pull_backoff(ctr), ctr)
            self.later(ctr.pull_backoff, lambda: self._launch(ctr), ctr)
            return
        self.node.images.add(image)
        took = f"{seconds:.3g}s" if seconds >= 1 else f"{int(seconds * 1000)}ms"
        self.event(
            "Normal",
            "Pulled",
            f'Successfully pulled image "{image}" in {took} ({took} including waiting). '
            f"Image size: {image_size(image)} bytes.",
            ctr,
        )
        self._create(ctr)

    def _pull_backoff(self, ctr: Ctr) -> None:
        ctr.wait("ImagePullBackOff", f'Back-off pulling image "{ctr.image}"')
        self.event("Normal", "BackOff", f'Back-off pulling image "{ctr.image}"', ctr)
        self.event("Warning", "Failed", "Error: ImagePullBackOff", ctr)
        self.touch()

    def _create(self, ctr: Ctr) -> None:
        if self.terminating:
            return
        behaviour = ctr.behaviour
        if behaviour.config_error:
            ctr.wait("CreateContainerConfigError", behaviour.config_error)
            self.event("Warning", "Failed", f"Error: {behaviour.config_error}", ctr)
            self.touch()
            self.later(CONFIG_RETRY, lambda: self._launch(ctr), ctr)
            return
        restarted = ctr.ever_ran
        if restarted:
            ctr.restart_count += 1
        ctr.run(self.now, self.ctx.ids.container_id())
        self.event("Normal", "Created", f"Created container: {ctr.name}", ctr)
        self.event("Normal", "Started", f"Started container {ctr.name}", ctr)
        self.truth("restart" if restarted else "start", ctr, restart_count=ctr.restart_count)
        self.touch()
        guard = self.for_gen
        if ctr.role == INIT:
            run_for = behaviour.exit_after if behaviour.exit_after is not None else 1.0
            self.later(run_for, guard(ctr, lambda: self._exited(ctr, behaviour.exit_code)), ctr)
            return
        if behaviour.exit_after is not None:
            self.later(
                behaviour.exit_after,
                guard(ctr, lambda: self._exited(ctr, behaviour.exit_code)),
                ctr,
            )
        if behaviour.oom_after is not None:
            self.later(behaviour.oom_after, guard(ctr, lambda: self._oom(ctr)), ctr)
        if behaviour.liveness_fail_after is not None:
            self._schedule_liveness(ctr)
        if ctr.spec.get("lifecycle", {}).get("postStart") is not None or behaviour.poststart_fails:
            self.later(behaviour.poststart_seconds, guard(ctr, lambda: self._post_start(ctr)), ctr)
        else:
            self._post_start(ctr)

    def _post_start(self, ctr: Ctr) -> None:
        if ctr.behaviour.poststart_fails:
            self.event("Warning", "FailedPostStartHook", "PostStartHook failed", ctr)
            self.truth("poststart_failed", ctr)
            self._kill(ctr, "FailedPostStartHook", self.spec_grace, waiting="PostStartHookError")
            return
        self.later(ctr.behaviour.startup, self.for_gen(ctr, lambda: self._started(ctr)), ctr)

    def _started(self, ctr: Ctr) -> None:
        ctr.started = True
        self.touch()
        if ctr.role == SIDECAR:
            self._next_init()
        probe = ctr.spec.get("readinessProbe") or {}
        delay = ctr.behaviour.ready_after
        if delay is None:
            delay = float(probe.get("initialDelaySeconds", 0)) if probe else 0.0
        self.later(delay, self.for_gen(ctr, lambda: self._ready(ctr, True)), ctr)

    def _ready(self, ctr: Ctr, ready: bool) -> None:
        if ctr.ready == ready or not ctr.running:
            return
        ctr.ready = ready
        self.touch()
        every = ctr.behaviour.flap_every
        if ready and every:
            self.later(every, self.for_gen(ctr, lambda: self._flap(ctr)), ctr)

    def _flap(self, ctr: Ctr) -> None:
        """The readiness probe fails for ``readiness-flap-for`` seconds."""
        probe = ctr.spec.get("readinessProbe") or {}
        period = float(probe.get("periodSeconds", 10))
        down = ctr.behaviour.flap_for
        ticks = max(1, int(down // period))
        message = "Readiness probe failed: " + _probe_output(probe, self.pod_ip, 503)
        for i in range(ticks):
            self.later(
                i * period,
                self.for_gen(ctr, lambda: self.event("Warning", "Unhealthy", message, ctr)),
                ctr,
            )
        self._ready(ctr, False)
        self.later(down, self.for_gen(ctr, lambda: self._ready(ctr, True)), ctr)

    def _schedule_liveness(self, ctr: Ctr) -> None:
        probe = ctr.spec.get("livenessProbe") or {}
        period = float(probe.get("periodSeconds", 10))
        threshold = int(probe.get("failureThreshold", 3))
        initial = float(probe.get("initialDelaySeconds", 0))
        fail_from = ctr.behaviour.liveness_fail_after or 0.0
        first = (
            initial
            if fail_from <= initial
            else initial + -(-(fail_from - initial) // period) * period
        )
        message = "Liveness probe failed: " + _probe_output(probe, self.pod_ip, 500)
        grace = probe.get("terminationGracePeriodSeconds")
        grace_s = float(grace) if grace is not None else self.spec_grace
        suffix = ", will be restarted" if self.restart_policy != "Never" else ""
        for i in range(threshold):
            self.later(
                first + i * period,
                self.for_gen(ctr, lambda: self.event("Warning", "Unhealthy", message, ctr)),
                ctr,
            )

        def kill() -> None:
            self.truth("liveness_kill", ctr)
            self._kill(ctr, f"Container {ctr.name} failed liveness probe{suffix}", grace_s)

        self.later(first + (threshold - 1) * period, self.for_gen(ctr, kill), ctr)

    # ---- container exits and restarts --------------------------------------------------------

    def _exited(self, ctr: Ctr, code: int, reason: str | None = None) -> None:
        if not ctr.running:
            return
        reason = reason or ("Completed" if code == 0 else "Error")
        ctr.terminate(self.now, code, reason)
        self.truth("exit", ctr, exit_code=code, reason=reason)
        if code != 0 and reason == "Error" and not self.terminating:
            self.truth("crash", ctr, exit_code=code)
        self.touch()
        self._after_exit(ctr)

    def _oom(self, ctr: Ctr) -> None:
        if not ctr.running:
            return
        self.truth("oom", ctr)
        self._exited(ctr, 137, "OOMKilled")

    def _after_exit(self, ctr: Ctr, waiting: str | None = None) -> None:
        if self.terminating:
            self._termination_progress()
            return
        if ctr.role == INIT:
            if ctr.exit_code == 0:
                ctr.done = True
                self.touch()
                self._next_init()
                return
            if self.restart_policy == "Never":
                self._finish_without_deletion()
                return
            self._restart(ctr, waiting)
            return
        if ctr.role == SIDECAR:
            self._restart(ctr, waiting)
            return
        if self.restart_policy == "Always" or (
            self.restart_policy == "OnFailure" and ctr.exit_code != 0
        ):
            self._restart(ctr, waiting)
            return
        if all(c.terminated for c in self.mains):
            self._finish_without_deletion()

    def _restart(self, ctr: Ctr, waiting: str | None) -> None:
        """kuberuntime doBackOff over client-go flowcontrol.Backoff."""
        finished = self.now
        dead = ctr.state
        if waiting:
            ctr.last_state = dead
            ctr.wait(waiting, "PostStartHook failed" if waiting == "PostStartHookError" else None)
            self.touch()
        entry = ctr.backoff_update
        in_backoff = (
            entry is not None
            and ctr.backoff > 0
            and (finished - entry).total_seconds() <= BACKOFF_RESET
        )

        def next_backoff() -> None:
            expired = entry is None or (finished - entry).total_seconds() > BACKOFF_RESET
            ctr.backoff = BACKOFF_INITIAL if expired else min(2 * ctr.backoff, BACKOFF_MAX)
            ctr.backoff_update = self.now

        def restart() -> None:
            ctr.last_state = dead
            next_backoff()
            self._launch(ctr)

        if not in_backoff:
            self.later(SYNC, restart, ctr)
            return
        delay = ctr.backoff

        def crash_loop() -> None:
            ctr.last_state = dead
            ctr.wait(
                "CrashLoopBackOff",
                f"back-off {go_duration(delay)} restarting failed container={ctr.name} "
                f"pod={self.name}_{self.namespace}({self.uid})",
            )
            self.event(
                "Warning",
                "BackOff",
                f"Back-off restarting failed container {ctr.name} in pod "
                f"{self.name}_{self.namespace}({self.uid})",
                ctr,
            )
            self.touch()

        self.later(min(SYNC, delay), crash_loop, ctr)
        self.later(delay, restart, ctr)

    def _finish_without_deletion(self) -> None:
        """All regular containers are done for good (Job pods, restartPolicy Never)."""
        running_sidecars = [c for c in self.init if c.role == SIDECAR and c.running]
        if running_sidecars:
            self.terminating = True
            self.deadline = self.now + timedelta(seconds=self.spec_grace)
            self._stop_queue = list(reversed(running_sidecars))
            self._stop_next_sidecar()
            return
        self._terminal()

    # ---- killing -----------------------------------------------------------------------------

    def _kill(
        self,
        ctr: Ctr,
        message: str,
        grace: float,
        *,
        waiting: str | None = None,
        deadline: datetime | None = None,
    ) -> None:
        """killContainer: Killing event, preStop, SIGTERM, SIGKILL at the deadline."""
        if not ctr.running or ctr.stopping:
            return
        ctr.stopping = True
        ctr.cancel_timers()
        self.event("Normal", "Killing", message, ctr)
        end = deadline or (self.now + timedelta(seconds=grace))
        remaining = (end - self.now).total_seconds()
        hook = _prestop_seconds(ctr)
        gen = ctr.gen
        if hook is not None and remaining > 0:
            self.truth("prestop_start", ctr)
            if hook < remaining:

                def hook_done() -> None:
                    if ctr.gen != gen:
                        return
                    if ctr.behaviour.prestop_fails:
                        self.truth("prestop_failed", ctr)
                        self.event("Warning", "FailedPreStopHook", "PreStopHook failed", ctr)
                    else:
                        self.truth("prestop_end", ctr)
                    left = (end - self.now).total_seconds()
                    self._sigterm(ctr, max(left, MIN_GRACE), waiting)

                self.later(hook, hook_done, ctr)
            else:

                def abandoned() -> None:
                    if ctr.gen != gen:
                        return
                    self.truth("prestop_abandoned", ctr)
                    self._sigterm(ctr, MIN_GRACE, waiting)

                self.later(remaining, abandoned, ctr)
            return
        self._sigterm(ctr, max(remaining, MIN_GRACE), waiting)

    def _sigterm(self, ctr: Ctr, grace: float, waiting: str | None) -> None:
        self.truth("sigterm", ctr, grace=round(grace, 6))
        behaviour = ctr.behaviour
        gen = ctr.gen

        def sigkill() -> None:
            if ctr.gen != gen or not ctr.running:
                return
            self.truth("sigkill", ctr)
            self._stopped(ctr, 137, waiting)

        if behaviour.ignore_sigterm or behaviour.shutdown_seconds >= grace:
            self.later(grace, sigkill, ctr)
            return
        code = behaviour.sigterm_exit_code

        def exit_on_term() -> None:
            if ctr.gen == gen and ctr.running:
                self._stopped(ctr, code, waiting)

        if behaviour.shutdown_seconds <= 0:
            exit_on_term()
        else:
            self.later(behaviour.shutdown_seconds, exit_on_term, ctr)

    def _stopped(self, ctr: Ctr, code: int, waiting: str | None) -> None:
        reason = "Completed" if code == 0 else "Error"
        ctr.terminate(self.now, code, reason)
        self.truth("exit", ctr, exit_code=code, reason=reason)
        self.touch()
        self._after_exit(ctr, waiting)

    # ---- graceful deletion -------------------------------------------------------------------

    def on_deletion(self, grace: float) -> None:
        if self.frozen or self.deleting:
            return
        self.deleting = True
        # Pod workers floor the grace at 1 s (a force delete still gets a moment).
        grace = max(grace, 1.0)
        self.truth("termination_start", grace=grace)
        if self.finished:
            self.later(self.ctx.options.cleanup_seconds, self._final_delete)
            return
        self._begin_termination(self.now + timedelta(seconds=grace))

    def _begin_termination(self, deadline: datetime) -> None:
        self.terminating = True
        self.deadline = deadline
        for ctr in self.containers:
            if not ctr.running:
                ctr.cancel_timers()
        # Liveness and startup probes stop; crash and OOM timers with them (the app is going).
        for ctr in self.containers:
            if ctr.running and not ctr.stopping:
                ctr.cancel_timers()
        self._termination_progress()

    def _termination_progress(self) -> None:
        if self.finished:
            return
        regular = [c for c in self.mains if c.running] + [
            c for c in self.init if c.role == INIT and c.running
        ]
        if regular:
            for ctr in regular:
                if not ctr.stopping:
                    self._kill(ctr, f"Stopping container {ctr.name}", 0.0, deadline=self.deadline)
            return
        sidecars = [c for c in self.init if c.role == SIDECAR and c.running]
        if sidecars:
            if not any(c.stopping for c in sidecars):
                self._stop_queue = list(reversed(sidecars))
                self._stop_next_sidecar()
            return
        self._terminal()

    def _stop_next_sidecar(self) -> None:
        while self._stop_queue and not self._stop_queue[0].running:
            self._stop_queue.pop(0)
        if not self._stop_queue:
            self._termination_progress()
            return
        ctr = self._stop_queue.pop(0)
        assert self.deadline is not None
        self._kill(ctr, f"Stopping container {ctr.name}", 0.0, deadline=self.deadline)

    def _terminal(self) -> None:
        """Step 7: every container stopped; write the terminal phase."""
        if self.finished:
            return
        evicted = self.reason == "Evicted"
        for ctr in self.containers:
            if ctr.terminated or not (self.deleting or evicted):
                continue
            if ctr.last_state.get("terminated"):
                ctr.state, ctr.last_state = ctr.last_state, {}
                continue
            ctr.state = {
                "terminated": {
                    "exitCode": 137,
                    "reason": "ContainerStatusUnknown",
                    "message": "The container could not be located when the pod was terminated",
                    "startedAt": None,
                    "finishedAt": None,
                }
            }
            ctr.exit_code = 137
            ctr.ready = ctr.started = False
        mains_ok = all(c.exit_code == 0 for c in self.mains)
        init_failed = any(c.role == INIT and c.exit_code not in (0, None) for c in self.init)
        ok = mains_ok and not init_failed and not evicted
        self.phase = "Succeeded" if ok else "Failed"
        self.finished = True
        self.sandbox = False
        self.cancel_all()
        self.node.release(self.uid)
        self.flush()
        self.kubelet.pod_finished(self)
        if self.deleting:
            self.later(self.ctx.options.cleanup_seconds, self._final_delete)

    def _final_delete(self) -> None:
        """Step 9: the status manager's DELETE with grace 0 and a UID precondition."""
        pod = self.pod()
        if pod is None:
            return
        request_pod_deletion(self.ctx.store, self.namespace, self.name, 0, uid=self.uid)
        self.truth("deleted")

    # ---- kubelet-initiated kills -------------------------------------------------------------

    def evict(self, message: str, grace: float = 0.0) -> None:
        """Node-pressure eviction: TerminationByKubelet, kill, phase Failed reason Evicted."""
        if self.terminating or self.finished or self.frozen:
            return
        self.own_conditions["DisruptionTarget"] = {
            "type": "DisruptionTarget",
            "status": "True",
            "lastProbeTime": None,
            "lastTransitionTime": format_time(self.now),
            "reason": "TerminationByKubelet",
            "message": message,
        }
        self.reason = "Evicted"
        self.message = message
        self.phase = "Failed"
        self.terminating = True
        self.event("Warning", "Evicted", message)
        self.truth("evicted")
        self.flush()
        self._begin_termination(self.now + timedelta(seconds=grace))

    def removed(self) -> None:
        """The object is gone from the API (a force delete, or our own final delete).

        After a force delete the node still stops the containers, with the small floor grace
        (pod workers floor the grace at 1 s, killContainer at 2 s); nothing reaches the API any
        more, but the instants go to the ground truth.
        """
        if self.finished or self.frozen:
            self.cancel_all()
            self.frozen = True
            self.node.release(self.uid)
            return
        self.truth("force_deleted")
        if not self.deleting:
            self.deleting = True
            self._begin_termination(self.now + timedelta(seconds=1))

    def freeze(self) -> None:
        """The node is gone: nothing more is written by this kubelet."""
        self.cancel_all()
        self.frozen = True


def _by_name(ctr: Ctr) -> str:
    return ctr.name


def _prestop_seconds(ctr: Ctr) -> float | None:
    hook = (ctr.spec.get("lifecycle") or {}).get("preStop")
    if hook is None:
        return ctr.behaviour.prestop_seconds
    if ctr.behaviour.prestop_seconds is not None:
        return ctr.behaviour.prestop_seconds
    sleep = hook.get("sleep")
    if sleep is not None:
        return float(sleep.get("seconds", 0))
    return 0.0


def _probe_output(probe: dict[str, Any], ip: str | None, code: int) -> str:
    if "httpGet" in probe:
        return f"HTTP probe failed with statuscode: {code}"
    if "tcpSocket" in probe:
        port = probe["tcpSocket"].get("port", 80)
        return f"dial tcp {ip or '10.64.0.1'}:{port}: connect: connection refused"
    if "grpc" in probe:
        return 'service unhealthy (responded with "NOT_SERVING")'
    return ""


class Kubelet:
    """All nodes' kubelets: one store subscription, one worker per bound pod."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.workers: dict[str, PodWorker] = {}
        self.finished_listeners: list[Callable[[PodWorker], None]] = []

    def on_change(self, type_: str, kind: str, pod: dict[str, Any]) -> None:
        if kind != "pods" or self.ctx.bulk:
            return
        meta = pod["metadata"]
        uid = meta["uid"]
        if uid in self.ctx.ignored:
            return
        if type_ == "DELETED":
            worker = self.workers.pop(uid, None)
            if worker is not None:
                worker.removed()
            return
        spec = pod.get("spec") or {}
        node = self.ctx.nodes.get(spec.get("nodeName") or "")
        if node is None:
            return
        worker = self.workers.get(uid)
        if worker is None:
            if (pod.get("status") or {}).get("phase") in TERMINAL or node.lost:
                return
            if uid not in node.pods:
                cpu, memory = pod_requests(pod)
                node.bind(uid, cpu, memory)
            worker = PodWorker(self, pod, node)
            self.workers[uid] = worker
            worker.later(self.ctx.options.kubelet_delay, worker.begin)
        if meta.get("deletionTimestamp") and not worker.deleting:
            grace = float(meta.get("deletionGracePeriodSeconds") or 0)
            if worker.begun:
                worker.on_deletion(grace)
            else:
                worker.later(self.ctx.options.kubelet_delay, lambda: worker.on_deletion(grace))

    def pod_finished(self, worker: PodWorker) -> None:
        for listener in self.finished_listeners:
            listener(worker)

    def evict(self, uid: str, message: str) -> bool:
        worker = self.workers.get(uid)
        if worker is None:
            return False
        worker.evict(message)
        return True

    def node_lost(self, node: Node) -> None:
        for worker in self.workers.values():
            if worker.node is node:
                worker.freeze()
