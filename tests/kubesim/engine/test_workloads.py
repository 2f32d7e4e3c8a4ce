"""Deployments, ReplicaSets and Jobs: naming, ownership, rolling updates, completions."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.kubesim.engine.support import Run, kubectl_status, maybe_condition, play

SUFFIX = "[bcdfghjklmnpqrstvwxz2456789]{5}"


@pytest.fixture(scope="module")
def rollout() -> Run:
    return play("rollout", 60)


def _ready_count(pods: dict[str, dict[str, Any]]) -> int:
    return sum(
        1
        for p in pods.values()
        if not p["metadata"].get("deletionTimestamp")
        and (maybe_condition(p, "Ready") or {}).get("status") == "True"
    )


def test_replica_set_pods_are_named_labelled_and_owned_like_a_cluster(rollout):
    pods = rollout.pods("rollout", "web-")
    assert len(pods) == 4
    for pod in pods:
        meta = pod["metadata"]
        pod_hash = meta["labels"]["pod-template-hash"]
        (owner,) = meta["ownerReferences"]
        assert owner["kind"] == "ReplicaSet"
        assert owner["apiVersion"] == "apps/v1"
        assert owner["controller"] is True
        assert owner["name"] == f"web-{pod_hash}"
        assert re.fullmatch(f"web-{pod_hash}-{SUFFIX}", meta["name"])


def test_a_rolling_update_never_drops_below_the_replicas_nor_surges_past_one(rollout):
    hashes = {
        o["metadata"]["labels"]["pod-template-hash"]
        for _, k, o in rollout.changes
        if k == "pods" and o["metadata"]["namespace"] == "rollout"
    }
    assert len(hashes) == 2
    pods: dict[str, dict[str, Any]] = {}
    rollout_started = False
    for type_, kind, obj in rollout.changes:
        if kind != "pods":
            continue
        uid = obj["metadata"]["uid"]
        if type_ == "DELETED":
            pods.pop(uid, None)
        else:
            pods[uid] = obj
        active = [p for p in pods.values() if not p["metadata"].get("deletionTimestamp")]
        if len(pods) > 4:
            rollout_started = True
        if rollout_started:
            assert _ready_count(pods) >= 4 or len(active) <= 5
        assert len(active) <= 5
    assert rollout_started
    final = rollout.pods("rollout", "web-")
    assert len({p["metadata"]["labels"]["pod-template-hash"] for p in final}) == 1
    assert all(p["metadata"]["annotations"].get("kubectl.kubernetes.io/restartedAt") for p in final)


def test_old_pods_go_through_the_termination_sequence(rollout):
    starts = rollout.truth("termination_start")
    assert len(starts) == 4
    for start in starts:
        (prestop,) = rollout.truth("prestop_end", start["pod"])
        assert prestop["offset"] - start["offset"] == pytest.approx(3)


def test_a_job_runs_its_completions_with_the_parallelism():
    run = play("job", 60)
    migrate = run.pods("job", "migrate-")
    assert len(migrate) == 3
    assert all(p["status"]["phase"] == "Succeeded" for p in migrate)
    assert all(kubectl_status(p, run.clock.now())[0] == "Completed" for p in migrate)
    starts = sorted(r["offset"] for r in run.truth("start") if r["pod"].startswith("migrate-"))
    assert starts[1] - starts[0] < 1
    assert starts[2] - starts[0] >= 5
    for pod in migrate:
        meta = pod["metadata"]
        assert re.fullmatch(f"migrate-{SUFFIX}", meta["name"])
        assert meta["labels"]["batch.kubernetes.io/job-name"] == "migrate"
        assert meta["ownerReferences"][0]["kind"] == "Job"
        assert meta["ownerReferences"][0]["apiVersion"] == "batch/v1"
        assert pod["spec"]["restartPolicy"] == "Never"
    # restartPolicy OnFailure: restarted in place until the backoffLimit, then deleted.
    flaky = [
        o for _, k, o in run.changes if k == "pods" and o["metadata"]["name"].startswith("flaky-")
    ]
    assert flaky[-1]["metadata"]["deletionTimestamp"]
    assert (
        max(cs["restartCount"] for o in flaky for cs in o["status"].get("containerStatuses") or [])
        == 3
    )
