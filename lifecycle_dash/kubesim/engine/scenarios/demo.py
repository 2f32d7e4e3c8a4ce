"""The ``demo`` scenario: a small cluster with the usual troubles, playing forever."""

from __future__ import annotations

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


def demo(sim: Simulation, params: dict[str, Any]) -> None:
    """A healthy web tier behind a Service (preStop sleep, rollout every 3 min), a shell-
    entrypoint checkout service SIGKILLed on every rollout (4 min), a search tier whose
    readiness flaps, a crash-looping worker, a batch Job OOM-killed every 5 min, an image typo
    and a pod too big to schedule."""
    every = float(params.get("rollout_every", 180))
    for ns in ("shop", "workers", "batch", "staging"):
        sim.namespace(ns)
    controllers = sim.controllers

    web = pod_spec(
        [
            container(
                "web",
                "nginx:1.27",
                port=8080,
                prestop_sleep=5,
                readiness=True,
                cpu="100m",
                memory="128Mi",
            )
        ],
        grace=30,
    )
    controllers.deployment(
        "shop",
        "web",
        template("web", web, behaviour("web", ready_after=3, shutdown_seconds=1), service="web"),
        replicas=3,
        max_surge=1,
        max_unavailable=0,
        rollout_every=every,
    )

    checkout = pod_spec(
        [
            container(
                "checkout",
                "acme/checkout:4.2",
                port=9000,
                command=["/bin/sh", "-c", "java -jar /app/checkout.jar"],
                readiness=True,
                cpu="250m",
                memory="512Mi",
            )
        ],
        grace=15,
    )
    controllers.deployment(
        "shop",
        "checkout",
        template(
            "checkout",
            checkout,
            behaviour("checkout", ignore_sigterm=True, ready_after=8, startup=4),
            service="checkout",
        ),
        replicas=2,
        rollout_every=every * 4 / 3,
    )

    search = pod_spec(
        [container("search", "acme/search:7.1", port=9200, readiness=True, cpu="200m")]
    )
    controllers.deployment(
        "shop",
        "search",
        template(
            "search",
            search,
            behaviour("search", readiness_flap_every=120, readiness_flap_for=15, ready_after=5),
            service="search",
        ),
        replicas=2,
    )

    worker = pod_spec([container("worker", "acme/queue-worker:2.3", cpu="100m")])
    controllers.deployment(
        "workers",
        "queue-worker",
        template("queue-worker", worker, behaviour("worker", crash_after=20, exit_code=1)),
        replicas=1,
    )

    report = pod_spec(
        [container("report", "acme/report:5.0", cpu="500m", memory="256Mi")],
        restart_policy="Never",
    )
    controllers.cronjob(
        "batch",
        "nightly-report",
        template("nightly-report", report, behaviour("report", oom_after=30)),
        every=300,
        backoff_limit=1,
    )

    sim.create_pod(
        bare_pod(
            "staging",
            "frontend-preview",
            pod_spec([container("frontend", "ngnix:1.27", port=80)]),
            behaviour("frontend", image_pull="fail"),
        )
    )
    sim.create_pod(
        bare_pod(
            "staging",
            "ml-trainer",
            pod_spec([container("trainer", "acme/trainer:0.3", cpu="32", memory="64Gi")]),
        )
    )
