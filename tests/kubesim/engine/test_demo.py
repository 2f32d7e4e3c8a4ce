"""The demo scenario shows each trouble it promises, as kubectl would print it."""

from __future__ import annotations

import pytest

from tests.kubesim.engine.support import Run, kubectl_status, play


@pytest.fixture(scope="module")
def run() -> Run:
    return play("demo", 420, seed=5)


def test_the_demo_shows_every_promised_status(run):
    now = run.clock.now()
    seen = {
        (o["metadata"]["namespace"], kubectl_status(o, now)[0])
        for t, k, o in run.changes
        if k == "pods" and t != "DELETED"
    }
    for expected in [
        ("shop", "Running"),
        ("shop", "Terminating"),
        ("workers", "CrashLoopBackOff"),
        ("batch", "OOMKilled"),
        ("staging", "ImagePullBackOff"),
        ("staging", "Pending"),
    ]:
        assert expected in seen, expected


def test_the_shell_entrypoint_service_is_sigkilled_on_its_rollout(run):
    kills = [r for r in run.truth("sigkill") if r["pod"].startswith("checkout-")]
    assert len(kills) == 2
    for kill in kills:
        (start,) = run.truth("termination_start", kill["pod"])
        assert kill["offset"] - start["offset"] == pytest.approx(15)


def test_the_web_tier_rolls_out_behind_its_service_with_a_prestop_sleep(run):
    web_starts = [r for r in run.truth("termination_start") if r["pod"].startswith("web-")]
    assert len(web_starts) >= 3
    for start in web_starts:
        (prestop,) = run.truth("prestop_end", start["pod"])
        assert prestop["offset"] - start["offset"] == pytest.approx(5)
        (removed,) = run.truth("endpoint_removed", start["pod"])
        assert removed["offset"] > prestop["offset"]
    names = {s["metadata"]["name"] for s in run.store.list("endpointslices", "shop")}
    assert {n.rsplit("-", 1)[0] for n in names} == {"web", "checkout", "search"}
