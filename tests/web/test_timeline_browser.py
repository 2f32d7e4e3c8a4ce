"""The timeline in Chromium, against data from the real pipeline.

The SIGTERM-ignoring scenario is played by the simulator (``kubesim --scenario sigkill``,
real time) and ingested by a real Celery watch worker fed by the supervisor, exactly as in
production; the page is served by daphne. The deletion-to-exit time the waterfall shows is
compared with the simulator's ground truth (``--truth-out``), and the page is opened before the
deletion (the test deletes the pod through the API, as ``kubectl delete`` does) so the waterfall
has to arrive through the timeline WebSocket.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.contrib.auth import get_user_model

from lifecycle_dash.ingest.models import Cluster, EventOccurrence, Pod
from tests.ingest.watch.conftest import make_cluster
from tests.ingest.watch.sim import Simulator
from tests.support.beat import Beat
from tests.support.browser import element_screenshot, sign_in
from tests.support.processes import celery_worker_command, running, wait_until
from tests.web import timeline_data as data

pytestmark = [pytest.mark.browser, pytest.mark.integration]


PASSWORD = "correct horse battery"


def signed_in(page: Any, live_web: str) -> None:
    get_user_model().objects.create_user(username="sre", password=PASSWORD)
    # "commit": the dashboard itself need not finish loading.
    sign_in(page, live_web, username="sre", password=PASSWORD, wait_until="commit")


@pytest.fixture
def sigkill_sim(tmp_path: Path) -> Iterator[tuple[Simulator, Path]]:
    truth = tmp_path / "truth.jsonl"
    # The scenario's own deletion is put off past the test: the test deletes the pod once the
    # page is open, however long the workers took to start.
    simulator = Simulator(
        tmp_path,
        scenario="sigkill",
        speed=1.0,
        extra=["--truth-out", str(truth), "--set", "delete_at=3600"],
    )
    yield simulator, truth
    simulator.stop()


def truth_of(path: Path, pod: str) -> dict[str, dict[str, Any]]:
    records = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    return {r["what"]: r for r in records if r["namespace"] == "sigkill" and r["pod"] == pod}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_sigterm_ignoring_pod_ingested_live_shows_sigkill_at_the_end_of_the_grace_period(
    live_web: str,
    browser: Any,
    artifacts_dir: Path,
    sigkill_sim: tuple[Simulator, Path],
    stack_env: dict[str, str],
) -> None:
    sim, truth_path = sigkill_sim
    make_cluster(sim, name="sim")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    signed_in(page, live_web)
    # One solo worker per stream (pods, events, endpointslices), as a small deployment runs.
    with (
        running(celery_worker_command("watch", "tl1@%h"), env=stack_env, name="watch-tl-1"),
        running(celery_worker_command("watch", "tl2@%h"), env=stack_env, name="watch-tl-2"),
        running(celery_worker_command("watch", "tl3@%h"), env=stack_env, name="watch-tl-3"),
        Beat(interval=2.0),
    ):
        pods = Pod.objects.filter(namespace="sigkill", name="shell-app")
        assert wait_until(pods.exists, timeout=30), "the watch worker ingested no pod"
        uid = pods.get().uid
        # Opened while the pod still runs: what follows arrives over the WebSocket.
        page.goto(f"{live_web}/pods/{uid}/")
        page.wait_for_selector("svg.swimlanes")
        assert page.locator("#waterfall-termination").count() == 0
        sim.request("DELETE", "/api/v1/namespaces/sigkill/pods/shell-app")
        verdict = page.locator("#waterfall-termination .verdict-words")
        verdict.wait_for(timeout=60_000)
        assert wait_until(lambda: pods.get().deleted_at is not None, timeout=30)
        killing = EventOccurrence.objects.filter(pod_uid=uid, reason="Killing")
        assert wait_until(killing.exists, timeout=30), "the Killing event was not ingested"
    assert verdict.inner_text() == "app: SIGKILLed at the end of the grace period"
    page.reload()
    page.wait_for_selector("#waterfall-termination")
    page.screenshot(path=str(artifacts_dir / "timeline-sigkill-pipeline.png"), full_page=True)

    truth = truth_of(truth_path, "shell-app")
    expected = truth["exit"]["offset"] - truth["termination_start"]["offset"]
    assert truth["exit"]["exit_code"] == 137
    assert "sigkill" in truth
    shown = page.locator(
        "#waterfall-termination dd[data-summary='app: deletion to exit (grace used)'] .value"
    ).inner_text()
    match = re.fullmatch(r"(\d+\.\d) s", shown)
    assert match, shown
    # API times have whole seconds: equal to the truth at that precision.
    assert abs(float(match.group(1)) - expected) < 1.0
    assert expected == pytest.approx(10.0)
    exit_row = page.locator("#waterfall-termination tr[data-step='app: exit']")
    assert "exit 137 (Error)" in exit_row.inner_text()
    sigterm_row = page.locator("#waterfall-termination tr[data-step='app: SIGTERM']")
    assert "≈" in sigterm_row.inner_text()
    kill_row = page.locator("#waterfall-termination tr[data-step='app: kill started (Killing)']")
    assert "event Killing" in kill_row.inner_text()
    assert page.locator("#pod-header .badge-deleted").is_visible()
    page.close()


@pytest.mark.django_db(transaction=True)
def test_the_timeline_draws_lanes_and_a_waterfall_for_a_processed_history(
    live_web: str, browser: Any, artifacts_dir: Path
) -> None:
    cluster = Cluster.objects.create(name="prod-eu", source=Cluster.Source.SIMULATOR)
    story = data.sigkill_story()
    data.ingest_sigkill_pod(cluster, story)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    signed_in(page, live_web)
    page.goto(f"{live_web}/pods/{story.uid}/")
    page.wait_for_selector("svg.swimlanes")
    # Styled by timeline.css (loaded through base.html's head block).
    fill = page.locator(".seg.st-running rect").first.evaluate("e => getComputedStyle(e).fill")
    assert fill == "rgb(45, 164, 78)"
    assert page.locator("#pod-lanes [data-lane='ctr-app'] .marker").count() >= 5
    page.screenshot(path=str(artifacts_dir / "timeline-sigkill-processors.png"), full_page=True)
    element_screenshot(page, "#pod-lanes", str(artifacts_dir / "timeline-sigkill-lanes.png"))
    # Dragging across the lanes zooms to that window through the URL.
    box = page.locator("svg.swimlanes").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.8, y, steps=5)
    page.mouse.up()
    page.wait_for_url(re.compile(r"\?from=.*&to="))
    page.wait_for_selector("svg.swimlanes")
    assert "Whole history" in page.content()
    crashing = data.crashloop_story()
    data.ingest_crashloop_with_gap(cluster, crashing)
    page.goto(f"{live_web}/pods/{crashing.uid}/")
    page.wait_for_selector("svg.swimlanes")
    assert page.locator("#pod-lanes .marker.restart").count() == 3
    element_screenshot(page, "#pod-lanes", str(artifacts_dir / "timeline-crashloop-gap.png"))
    page.close()
