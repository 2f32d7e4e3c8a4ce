"""Incident review in Chromium, over the demo scenario ingested by the real pipeline.

The simulator plays ``demo`` in real time with rollouts every 30 s (``--set
rollout_every=30``), three Celery watch workers fed by the supervisor ingest it, daphne serves
the pages. Then: the review of the window lists each of the scenario's incidents under its
cause; the cluster at an instant inside the window shows the STATUS the simulator served
then (read from its API at that instant); a saved incident reopens from its permalink; the
Markdown export names every affected workload. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from lifecycle_dash.ingest.models import TerminationRecord
from lifecycle_dash.lifecycle import format_rfc3339
from lifecycle_dash.lifecycle.kubectl import kubectl_status
from lifecycle_dash.lifecycle.snapshot import snapshot_from_pod
from lifecycle_dash.web.models import Incident
from lifecycle_dash.web.review import parse_review_query
from lifecycle_dash.web.selectors_review import review_window
from tests.ingest.watch.conftest import make_cluster
from tests.ingest.watch.sim import Simulator
from tests.support.beat import Beat
from tests.support.browser import sign_in
from tests.support.processes import celery_worker_command, running, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]

PASSWORD = "correct horse battery"

# Workload -> the cause (section id on the page) it must be listed under.
EXPECTED = {
    "cause-oom_killed": "batch/CronJob/nightly-report",
    "cause-crashed-1": "workers/Deployment/queue-worker",
    "cause-sigkill_after_grace": "shop/Deployment/checkout",
    "cause-failed_scheduling": "staging/Pod/ml-trainer",
    "cause-image_pull": "staging/Pod/frontend-preview",
    "cause-replaced": "shop/Deployment/web",
}


@pytest.fixture
def demo_sim(tmp_path: Path) -> Iterator[Simulator]:
    simulator = Simulator(tmp_path, scenario="demo", speed=1.0, extra=["--set", "rollout_every=30"])
    yield simulator
    simulator.stop()


def served_statuses(sim: Simulator) -> dict[str, str]:
    body = sim.request("GET", "/api/v1/pods")
    return {
        item["metadata"]["name"]: kubectl_status(snapshot_from_pod(item)) for item in body["items"]
    }


def stable_truth(sim: Simulator) -> tuple[datetime, dict[str, str]]:
    """STATUS per pod at T, for pods whose STATUS held from T - 6 s to T + 2 s.

    History dates a STATUS change by its receipt (the watch's receive time; the API gives no
    time for it), and a watch slice handing over to its successor can deliver a change a few
    seconds late: a pod whose STATUS changed just before T may honestly not show it yet.
    """
    samples = []
    for pause in (3.0, 3.0, 2.0, 0.0):
        samples.append((datetime.now(UTC), served_statuses(sim)))
        time.sleep(pause)
    at = samples[2][0]
    stable = {
        name: status
        for name, status in samples[2][1].items()
        if all(sample.get(name) == status for _, sample in samples)
    }
    return at, stable


def all_causes_present(start: datetime) -> bool:
    query = parse_review_query({"from": format_rfc3339(start), "to": "now"}, now=datetime.now(UTC))
    data = review_window(query=query)
    found = {
        (f"cause-{g.key}", f"{w.namespace}/{w.label}") for g in data.groups for w in g.workloads
    }
    return all(item in found for item in EXPECTED.items())


def rows_on_page(page: Any) -> dict[str, str]:
    result: dict[str, str] = page.eval_on_selector_all(
        "#pod-rows tr.pod",
        "rows => Object.fromEntries(rows.map(r => [r.querySelector('.c-name a').textContent,"
        " r.querySelector('.c-status .status').textContent]))",
    )
    return result


@pytest.mark.django_db(transaction=True)
def test_reviewing_the_demo_scenario_end_to_end(
    live_web: str, browser: Any, artifacts_dir: Path, demo_sim: Simulator, stack_env: Any
) -> None:
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user(username="sre", password=PASSWORD)
    sim = demo_sim
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2)
    make_cluster(sim, name="demo")
    with (
        running(celery_worker_command("watch", "rv1@%h"), env=stack_env, name="watch-rv-1"),
        running(celery_worker_command("watch", "rv2@%h"), env=stack_env, name="watch-rv-2"),
        running(celery_worker_command("watch", "rv3@%h"), env=stack_env, name="watch-rv-3"),
        Beat(interval=2.0),
    ):
        time.sleep(35)
        at, truth = stable_truth(sim)
        sigkilled = TerminationRecord.objects.filter(verdicts__icontains="sigkill_after_grace")
        assert wait_until(sigkilled.exists, timeout=120), "no SIGKILL recorded"
        assert wait_until(lambda: all_causes_present(start), timeout=40, interval=2.0)
        time.sleep(2)
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    window = f"from={format_rfc3339(start)}&to={format_rfc3339(end)}"

    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    sign_in(page, live_web, username="sre", password=PASSWORD)

    # 1. The review lists each incident under its cause.
    page.goto(f"{live_web}/review/?{window}")
    page.wait_for_selector("#window-chart")
    for dom_id, workload in EXPECTED.items():
        assert workload in page.locator(f"#{dom_id}").inner_text(), dom_id
    page.wait_for_selector("#diagnoses .diag")
    assert "SIGKILLed" in page.locator("#diagnoses").inner_text()
    page.screenshot(path=str(artifacts_dir / "review-demo.png"), full_page=True)

    # Each pod links to its timeline zoomed to the window.
    link = page.locator("#cause-sigkill_after_grace a.pod-link").first
    href = link.get_attribute("href") or ""
    assert href.startswith("/pods/")
    assert parse_qs(urlparse(href).query)["from"] == [format_rfc3339(start)]

    # Dragging across the chart narrows the window.
    box = page.locator("#window-chart").bounding_box()
    assert box is not None
    y = box["y"] + 8
    before = page.url
    page.mouse.move(box["x"] + box["width"] * 0.25, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
    page.mouse.up()
    page.wait_for_url(lambda url: url != before)
    narrowed = parse_qs(urlparse(page.url).query)
    assert narrowed["from"][0] > format_rfc3339(start)
    assert narrowed["to"][0] < format_rfc3339(end)

    # 2. Time travel: the STATUS each pod had at T is what the simulator served then.
    assert len(truth) >= 8, truth
    page.goto(f"{live_web}/review/at/?{window}&t={format_rfc3339(at)}")
    page.wait_for_selector("#pod-rows")
    shown = rows_on_page(page)
    for name, status in truth.items():
        assert shown.get(name) == status, (name, status, shown.get(name))
    page.screenshot(path=str(artifacts_dir / "review-time-travel.png"), full_page=True)
    before = page.url
    page.click("#step-next")
    page.wait_for_url(lambda url: url != before)
    assert parse_qs(urlparse(page.url).query)["t"][0] > format_rfc3339(at)

    # 3. A saved incident reopens from its permalink with its notes.
    page.goto(f"{live_web}/review/?{window}&namespace=shop")
    page.fill(".save-form input[name=name]", "checkout SIGKILLed on rollout")
    page.fill(".save-form textarea[name=notes]", "Rollout every 30 s; checkout ignores SIGTERM.")
    page.click(".save-form button[type=submit]")
    page.wait_for_url("**/incidents/*/")
    permalink = page.url
    incident = Incident.objects.get()
    assert permalink.endswith(f"/incidents/{incident.pk}/")
    other = browser.new_page(viewport={"width": 1440, "height": 1000})
    sign_in(other, live_web, username="sre", password=PASSWORD)
    other.goto(permalink)
    assert "checkout SIGKILLed on rollout" in other.locator("h1").inner_text()
    assert "checkout ignores SIGTERM" in other.locator("#incident-notes").inner_text()
    assert "shop/Deployment/checkout" in other.locator("#cause-sigkill_after_grace").inner_text()
    assert other.locator("#cause-crashed-1").count() == 0  # namespace filter kept
    other.screenshot(path=str(artifacts_dir / "review-incident-permalink.png"), full_page=True)
    other.goto(f"{live_web}/incidents/")
    assert "checkout SIGKILLed on rollout" in other.locator("table.incidents").inner_text()
    other.close()

    # 4. The Markdown export names every affected workload.
    page.goto(f"{live_web}/review/?{window}")
    with page.expect_download() as download_info:
        page.click("text=Markdown postmortem")
    markdown = Path(download_info.value.path()).read_text()
    (artifacts_dir / "review-demo.md").write_text(markdown)
    for workload in EXPECTED.values():
        assert workload in markdown
    assert "SIGKILLed pod shop/checkout-" in markdown
    page.close()
