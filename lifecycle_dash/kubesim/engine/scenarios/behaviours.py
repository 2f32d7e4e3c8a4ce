"""One small scenario per behaviour, each in its own namespace (named like the scenario).

Times are simulated seconds from the start; each scenario is short so tests can play it at a
high speed. The docstring of each builder is its ``--scenario`` help text.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from lifecycle_dash.kubesim.engine.scenarios.build import (
    bare_pod,
    behaviour,
    container,
    pod_spec,
    template,
)

if TYPE_CHECKING:
    from lifecycle_dash.kubesim.engine.simulation import Simulation

Params = dict[str, Any]


def sigkill(sim: Simulation, params: Params) -> None:
    """Pods that ignore SIGTERM (shell entrypoint): SIGKILL at the end of the grace period
    (``shell-app``, grace 10 s), and after the 2 s extension when preStop overruns the grace
    (``slow-prestop``); ``graceful`` exits 0 three seconds after SIGTERM. All deleted at 20 s."""
    ns = "sigkill"
    shell = ["/bin/sh", "-c", "./server"]
    sim.create_pod(
        bare_pod(
            ns,
            "shell-app",
            pod_spec([container("app", "acme/shell-app:1.4", command=shell)], grace=10),
            behaviour("app", ignore_sigterm=True),
        )
    )
    sim.create_pod(
        bare_pod(
            ns,
            "slow-prestop",
            pod_spec(
                [container("app", "acme/shell-app:1.4", command=shell, prestop_sleep=20)],
                grace=10,
            ),
            behaviour("app", ignore_sigterm=True),
        )
    )
    sim.create_pod(
        bare_pod(
            ns,
            "graceful",
            pod_spec([container("app", "acme/api:2.0")], grace=10),
            behaviour("app", shutdown_seconds=3, shutdown_exit_code=0),
        )
    )
    delete_at = float(params.get("delete_at", 20))
    for name in ("shell-app", "slow-prestop", "graceful"):
        sim.at(delete_at, partial(sim.delete_pod, ns, name))


def crashloop(sim: Simulation, params: Params) -> None:
    """A container that exits 1 five seconds after every start: CrashLoopBackOff with the
    kubelet back-off (immediate, then 10 s, 20 s, 40 s ... capped at 300 s)."""
    sim.create_pod(
        bare_pod(
            "crashloop",
            "crasher",
            pod_spec([container("worker", "acme/worker:3.1")]),
            behaviour("worker", crash_after=params.get("crash_after", 5), exit_code=1),
        )
    )


def oom(sim: Simulation, params: Params) -> None:
    """A Job whose container is OOM-killed (exit 137, OOMKilled) 8 s after start; backoffLimit
    1, so two pods fail and the Job gives up."""
    spec = pod_spec(
        [container("report", "acme/report:5.0", memory="256Mi", cpu="250m")],
        restart_policy="Never",
    )
    sim.namespace("oom")
    sim.controllers.job(
        "oom",
        "nightly-report",
        template("nightly-report", spec, behaviour("report", oom_after=8)),
        backoff_limit=1,
    )


def imagepull(sim: Simulation, params: Params) -> None:
    """An image that does not exist (ErrImagePull -> ImagePullBackOff), an invalid image
    reference (InvalidImageName) and a missing Secret key (CreateContainerConfigError)."""
    ns = "imagepull"
    sim.create_pod(
        bare_pod(
            ns,
            "typo",
            pod_spec([container("web", "ngnix:1.27")]),
            behaviour("web", image_pull="fail"),
        )
    )
    sim.create_pod(bare_pod(ns, "bad-name", pod_spec([container("web", "Nginx:1.27")])))
    sim.create_pod(
        bare_pod(
            ns,
            "missing-secret",
            pod_spec([container("api", "acme/api:2.0")]),
            behaviour("api", config_error="couldn't find key password in Secret imagepull/db"),
        )
    )


def init(sim: Simulation, params: Params) -> None:
    """Init containers: two that succeed (Init:0/2, Init:1/2, then Running), one that fails
    and is retried (Init:Error, Init:CrashLoopBackOff), one that fails with restartPolicy
    Never (pod Failed, Init:Error)."""
    ns = "init"
    main = [container("app", "acme/app:1.0")]
    sim.create_pod(
        bare_pod(
            ns,
            "init-ok",
            pod_spec(
                main,
                init=[
                    container("wait-db", "busybox:1.36"),
                    container("migrate", "acme/migrate:1.0"),
                ],
            ),
            {**behaviour("wait-db", exit_after=3), **behaviour("migrate", exit_after=2)},
        )
    )
    for name, policy in (("init-fails", "Always"), ("init-fails-never", "Never")):
        sim.create_pod(
            bare_pod(
                ns,
                name,
                pod_spec(
                    [container("app", "acme/app:1.0")],
                    init=[container("migrate", "acme/migrate:1.0")],
                    restart_policy=policy,
                ),
                behaviour("migrate", exit_after=2, exit_code=1),
            )
        )


def sidecar(sim: Simulation, params: Params) -> None:
    """A sidecar (restartable init container) started before the next init container, and
    stopped after the main container when the pod is deleted at 30 s."""
    ns = "sidecar"
    sim.create_pod(
        bare_pod(
            ns,
            "with-sidecar",
            pod_spec(
                [container("app", "acme/app:1.0")],
                init=[
                    container("log-shipper", "fluent/fluent-bit:3.1", restart_policy="Always"),
                    container("migrate", "acme/migrate:1.0"),
                ],
                grace=20,
            ),
            {
                **behaviour("log-shipper", startup=2, shutdown_seconds=1, shutdown_exit_code=0),
                **behaviour("migrate", exit_after=3),
                **behaviour("app", shutdown_seconds=2, shutdown_exit_code=0),
            },
        )
    )
    sim.at(float(params.get("delete_at", 30)), lambda: sim.delete_pod(ns, "with-sidecar"))


def poststart(sim: Simulation, params: Params) -> None:
    """A postStart hook that fails: FailedPostStartHook, Killing (FailedPostStartHook),
    PostStartHookError, then CrashLoopBackOff."""
    sim.create_pod(
        bare_pod(
            "poststart",
            "hooked",
            pod_spec([container("app", "acme/app:1.0", poststart_exec=["/bin/register"])], grace=5),
            behaviour("app", poststart_seconds=1, poststart_fails=True),
        )
    )


def prestop(sim: Simulation, params: Params) -> None:
    """A Deployment behind a Service with a preStop ``sleep 5``: one pod deleted at 25 s shows
    the endpoint going terminating, preStop, SIGTERM, a clean exit 0 and the endpoint removed;
    a second one has a failing exec preStop hook (FailedPreStopHook)."""
    ns = "prestop"
    sim.namespace(ns)
    spec = pod_spec(
        [container("web", "nginx:1.27", port=8080, prestop_sleep=5, readiness=True)], grace=30
    )
    sim.controllers.deployment(
        ns,
        "web",
        template("web", spec, behaviour("web", shutdown_seconds=2, ready_after=2), service="web"),
        replicas=2,
    )
    failing = pod_spec([container("api", "acme/api:2.0", prestop_exec=["/bin/drain"])], grace=15)
    sim.create_pod(
        bare_pod(
            ns,
            "drain-fails",
            failing,
            behaviour("api", prestop_seconds=2, prestop_fails=True),
        )
    )

    def delete_one() -> None:
        pods = sorted(
            p["metadata"]["name"]
            for p in sim.store.list("pods", ns)
            if p["metadata"]["name"].startswith("web-")
        )
        if pods:
            sim.delete_pod(ns, pods[0])
        sim.delete_pod(ns, "drain-fails")

    sim.at(float(params.get("delete_at", 25)), delete_one)


def liveness(sim: Simulation, params: Params) -> None:
    """A liveness probe (period 5 s, threshold 3) that starts failing 15 s after start:
    Unhealthy x3, Killing "failed liveness probe, will be restarted", restart."""
    sim.create_pod(
        bare_pod(
            "liveness",
            "unhealthy",
            pod_spec(
                [
                    container(
                        "app",
                        "acme/app:1.0",
                        port=8080,
                        liveness={"periodSeconds": 5, "failureThreshold": 3},
                    )
                ],
                grace=10,
            ),
            behaviour("app", liveness_fail_after=15),
        )
    )


def readiness(sim: Simulation, params: Params) -> None:
    """A container whose readiness probe fails for 10 s every 30 s (Ready flaps, Unhealthy
    events, the endpoint flips serving)."""
    ns = "readiness"
    sim.create_pod(
        bare_pod(
            ns,
            "flappy",
            pod_spec([container("web", "nginx:1.27", port=8080, readiness=True)]),
            behaviour("web", readiness_flap_every=30, readiness_flap_for=10),
            labels={"app": "flappy", "kubesim.lifecycle-dash.io/service": "flappy"},
        )
    )


def unschedulable(sim: Simulation, params: Params) -> None:
    """Pods that stay Pending: too much cpu requested, a nodeSelector no node matches; and one
    scheduled only after a 5 s scheduling delay."""
    ns = "unschedulable"
    sim.create_pod(bare_pod(ns, "too-big", pod_spec([container("app", "acme/app:1.0", cpu="64")])))
    sim.create_pod(
        bare_pod(
            ns,
            "no-ssd",
            pod_spec([container("app", "acme/app:1.0")], nodeSelector={"disktype": "ssd"}),
        )
    )
    sim.create_pod(
        bare_pod(
            ns,
            "slow-schedule",
            pod_spec([container("app", "acme/app:1.0")]),
            {"kubesim.lifecycle-dash.io/schedule-delay": "5s"},
        )
    )
    # Cluster events make the scheduler retry: the second attempt creates the event series.
    sim.create_pod(
        bare_pod(
            ns,
            "short-lived",
            pod_spec([container("app", "busybox:1.36")], restart_policy="Never"),
            behaviour("app", exit_after=3),
        )
    )
    sim.at(20, lambda: sim.delete_pod(ns, "short-lived"))


def nodeloss(sim: Simulation, params: Params) -> None:
    """node-2 stops responding at 20 s: pods Ready=False and NodeNotReady after the 40 s
    grace, deleted by the taint manager after their 30 s toleration and stuck terminating
    (STATUS Unknown); the ReplicaSet's replacements run on node-1."""
    ns = "nodeloss"
    sim.namespace(ns)
    tolerations = [
        {
            "key": key,
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 30,
        }
        for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")
    ]
    spec = pod_spec(
        [container("api", "acme/api:2.0", port=8080, readiness=True)],
        tolerations=tolerations,
    )
    sim.controllers.deployment(ns, "api", template("api", spec, service="api"), replicas=4)
    sim.at(float(params.get("lose_at", 20)), lambda: sim.lose_node("node-2"))


def eviction(sim: Simulation, params: Params) -> None:
    """The kubelet evicts one pod of a Deployment under memory pressure at 20 s (phase Failed,
    reason Evicted, DisruptionTarget TerminationByKubelet); the ReplicaSet replaces it."""
    ns = "eviction"
    sim.namespace(ns)
    spec = pod_spec([container("cache", "redis:7.4", memory="512Mi")])
    sim.controllers.deployment(ns, "cache", template("cache", spec), replicas=2)

    def evict_one() -> None:
        names = sorted(p["metadata"]["name"] for p in sim.store.list("pods", ns))
        if names:
            sim.evict(ns, names[0])

    sim.at(float(params.get("evict_at", 20)), evict_one)


def preemption(sim: Simulation, params: Params) -> None:
    """One 2-cpu node full of low-priority pods; at 20 s a priority-1000 pod needs 1.5 cpu: the
    scheduler preempts (DisruptionTarget PreemptionByScheduler, Preempted events, graceful
    delete) and binds it once the victims are gone."""
    ns = "preemption"
    sim.namespace(ns)
    spec = pod_spec([container("batch", "acme/batch:1.0", cpu="900m")], grace=5)
    sim.controllers.deployment(ns, "low", template("low", spec), replicas=2)
    critical = pod_spec(
        [container("app", "acme/critical:1.0", cpu="1500m")],
        priority=1000,
        priorityClassName="high-priority",
    )
    sim.at(20, lambda: sim.create_pod(bare_pod(ns, "critical", critical)))


def rollout(sim: Simulation, params: Params) -> None:
    """A 4-replica Deployment (maxSurge 1, maxUnavailable 0, readiness after 3 s, preStop sleep
    3) behind a Service, rolled out at 20 s."""
    ns = "rollout"
    sim.namespace(ns)
    spec = pod_spec(
        [container("web", "nginx:1.27", port=8080, prestop_sleep=3, readiness=True)], grace=20
    )
    deployment = sim.controllers.deployment(
        ns,
        "web",
        template("web", spec, behaviour("web", ready_after=3), service="web"),
        replicas=4,
        max_surge=1,
        max_unavailable=0,
    )
    sim.at(float(params.get("rollout_at", 20)), deployment.rollout)


def job(sim: Simulation, params: Params) -> None:
    """A Job with 3 completions, 2 in parallel, each pod exits 0 after 5 s (Completed); and a
    Job with restartPolicy OnFailure whose container fails until the backoffLimit of 2."""
    ns = "job"
    sim.namespace(ns)
    spec = pod_spec([container("migrate", "acme/migrate:1.0")], restart_policy="Never")
    sim.controllers.job(
        ns,
        "migrate",
        template("migrate", spec, behaviour("migrate", exit_after=5)),
        completions=3,
        parallelism=2,
    )
    flaky = pod_spec([container("sync", "acme/sync:0.9")], restart_policy="OnFailure")
    sim.controllers.job(
        ns,
        "flaky",
        template("flaky", flaky, behaviour("sync", crash_after=3, exit_code=2)),
        backoff_limit=2,
    )


def none(sim: Simulation, params: Params) -> None:
    """No scenario pods: only plays the pods clients create through the API."""
