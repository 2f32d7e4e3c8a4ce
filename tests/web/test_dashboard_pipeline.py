"""The live dashboard against the whole pipeline, as in production.

The simulator (``kubesim --scenario none --speed 10``: scheduler and kubelets, no scripted
workload) is registered as a cluster; real Celery watch workers, fed by the supervisor, ingest
its watch streams into PostgreSQL and publish ``pod.changed`` after each commit; daphne serves
the dashboard. A pod created through the Kubernetes API must appear on the open page without
a reload, and its graceful deletion must show Terminating and then remove the row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from tests.ingest.watch.conftest import make_cluster
from tests.ingest.watch.sim import Simulator
from tests.support.beat import Beat
from tests.support.browser import sign_in, wait_js
from tests.support.processes import celery_worker_command, running

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]

PASSWORD = "correct horse battery"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Simulator]:
    simulator = Simulator(tmp_path, scenario="none", speed=10.0)
    yield simulator
    simulator.stop()


def pod_with_prestop(name: str) -> dict[str, Any]:
    # A preStop sleep keeps the pod Terminating for a visible moment (20 s simulated = 2 s).
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "dash-e2e"}},
        "spec": {
            "terminationGracePeriodSeconds": 60,
            "containers": [
                {
                    "name": "app",
                    "image": "registry.example/web:1.0",
                    "lifecycle": {"preStop": {"sleep": {"seconds": 20}}},
                }
            ],
        },
    }


@pytest.mark.django_db(transaction=True)
def test_a_pod_created_in_the_cluster_appears_live_then_terminates_and_leaves(
    live_web: str, browser: Any, artifacts_dir: Path, sim: Simulator, stack_env: dict[str, str]
) -> None:
    cluster = make_cluster(sim, name=f"e2e-{uuid.uuid4().hex[:8]}")
    get_user_model().objects.create_user(username="sre", password=PASSWORD)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    sign_in(page, live_web, username="sre", password=PASSWORD)

    with (
        running(celery_worker_command("watch", "dash1@%h"), env=stack_env, name="watch-dash-1"),
        running(celery_worker_command("watch", "dash2@%h"), env=stack_env, name="watch-dash-2"),
        running(celery_worker_command("watch", "dash3@%h"), env=stack_env, name="watch-dash-3"),
        Beat(interval=2.0),
    ):
        page.goto(f"{live_web}/?cluster={cluster.name}")
        page.wait_for_selector("#live-indicator[data-state=connected]", timeout=15_000)
        page.evaluate("window.__sameDocument = true")
        # The pod watch must be running before the pod exists, or the row comes from the list.
        sim.wait_for_watches(1, timeout=60)

        sim.request("POST", "/api/v1/namespaces/default/pods", pod_with_prestop("e2e-web-1"))
        row = page.locator("#pod-rows tr.pod", has_text="e2e-web-1")
        row.wait_for(timeout=30_000)
        wait_js(
            page,
            "[...document.querySelectorAll('#pod-rows tr.pod')].some(r =>"
            " r.textContent.includes('e2e-web-1') &&"
            " r.querySelector('.status').textContent === 'Running')",
            timeout=30,
        )
        assert row.locator(".c-ready").inner_text() == "1/1"
        page.screenshot(path=str(artifacts_dir / "dashboard-pipeline-running.png"))

        sim.request("DELETE", "/api/v1/namespaces/default/pods/e2e-web-1?gracePeriodSeconds=60")
        wait_js(
            page,
            "[...document.querySelectorAll('#pod-rows tr.pod')].some(r =>"
            " r.textContent.includes('e2e-web-1') &&"
            " r.querySelector('.status').textContent === 'Terminating')",
            timeout=30,
        )
        page.screenshot(path=str(artifacts_dir / "dashboard-pipeline-terminating.png"))
        row.wait_for(state="detached", timeout=60_000)
    # Everything arrived over the one WebSocket: the document was never reloaded.
    assert page.evaluate("window.__sameDocument") is True
    page.close()
