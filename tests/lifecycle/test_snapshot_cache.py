"""SnapshotCache: the stream fast path gives exactly what snapshot_from_pod gives."""

from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifecycle_dash.lifecycle import SnapshotCache, diff, snapshot_from_pod
from tests.lifecycle import podfactory as f
from tests.lifecycle.strategies import pod_variants

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_garbage = st.sampled_from([None, "x", 7, -1, 1.5, True, [], {}, [None], {"a": 1}])
_paths = st.sampled_from(
    [
        ("status", "phase"),
        ("status", "conditions"),
        ("status", "containerStatuses"),
        ("status", "podIPs"),
        ("status", "initContainerStatuses"),
        ("spec", "containers"),
        ("spec", "initContainers"),
        ("spec", "readinessGates"),
        ("metadata", "labels"),
        ("metadata", "creationTimestamp"),
        ("metadata", "deletionTimestamp"),
        ("metadata", "ownerReferences"),
        ("status",),
        ("spec",),
    ]
)


@st.composite
def maybe_mangled(draw: st.DrawFn, resource_version: str):
    raw = draw(pod_variants(resource_version=resource_version))
    for _ in range(draw(st.integers(0, 2))):
        path = draw(_paths)
        target: object = raw
        for step in path[:-1]:
            target = target.get(step) if isinstance(target, dict) else None
        if isinstance(target, dict):
            target[path[-1]] = copy.deepcopy(draw(_garbage))  # never one object twice
    if draw(st.booleans()):
        raw["metadata"]["managedFields"][0]["time"] = f.ts(draw(st.integers(0, 9)))
    return raw


@SETTINGS
@given(
    st.lists(st.integers(0, 10_000), min_size=2, max_size=6).flatmap(
        lambda rvs: st.tuples(*[maybe_mangled(str(rv)) for rv in rvs])
    )
)
def test_cached_snapshots_equal_pure_ones(pods):
    cache = SnapshotCache()
    previous_cached = previous_pure = None
    for raw in pods:
        # the watch hands over freshly parsed objects
        cached = cache.snapshot(json.loads(json.dumps(raw)))
        pure = snapshot_from_pod(raw)
        assert cached == pure
        assert diff(previous_cached, cached, observed_at=f.at(1)) == diff(
            previous_pure, pure, observed_at=f.at(1)
        )
        previous_cached, previous_pure = cached, pure


def test_unchanged_parts_are_shared_with_the_previous_snapshot():
    cache = SnapshotCache()
    first = cache.snapshot(f.sidecar_pod())
    raw = f.sidecar_pod(resource_version="1001")
    raw["metadata"]["managedFields"][1]["time"] = f.ts(999)
    raw["spec"]["containers"][0]["env"][0]["value"] = "debug"  # not something we read
    second = cache.snapshot(raw)
    assert second.resource_version == "1001"
    assert second.containers is first.containers
    assert second.init_containers is first.init_containers
    assert second.container_statuses is first.container_statuses
    assert second.conditions is first.conditions
    assert diff(first, second, observed_at=f.at(1)) == ()


def test_one_changed_status_reuses_the_others():
    cache = SnapshotCache()
    two = [f.container("a"), f.container("b")]
    first = cache.snapshot(
        f.pod(containers=two, container_statuses=[f.running("a"), f.running("b")])
    )
    second = cache.snapshot(
        f.pod(containers=two, container_statuses=[f.running("a"), f.running("b", ready=False)])
    )
    assert second.container_statuses[0] is first.container_statuses[0]
    assert second.container_statuses[1] != first.container_statuses[1]


def test_cache_is_bounded_and_forgets():
    cache = SnapshotCache(max_pods=3)
    for i in range(10):
        cache.snapshot(f.running_pod(uid=f"uid-{i}"))
    assert len(cache) == 3
    cache.forget("uid-9")
    assert len(cache) == 2
    cache.clear()
    assert len(cache) == 0


def test_cache_does_not_mutate_or_keep_env_values():
    cache = SnapshotCache()
    raw = f.running_pod()
    before = copy.deepcopy(raw)
    cache.snapshot(raw)
    assert raw == before
    memo = next(iter(cache._memos.values()))
    assert f.SECRET_ENV_VALUE not in repr(memo.specs)


def test_cache_tolerates_non_objects():
    cache = SnapshotCache()
    assert cache.snapshot("nope").problems  # type: ignore[arg-type]
    assert cache.snapshot({"metadata": {"uid": 5}}).problems
    assert len(cache) == 0


def test_replicas_share_their_container_spec_parts():
    cache = SnapshotCache()
    one = cache.snapshot(f.sidecar_pod(uid="uid-1"))
    two = cache.snapshot(f.sidecar_pod(uid="uid-2"))
    assert two.containers is one.containers
    assert two.init_containers is one.init_containers
    # what the probe checks is not read: same specs parsed, but not the same raw
    raw = f.sidecar_pod(uid="uid-3")
    raw["spec"]["containers"][0]["livenessProbe"]["httpGet"]["path"] = "/other"
    three = cache.snapshot(raw)
    assert three.containers == one.containers
    assert three.containers is not one.containers
    raw = f.sidecar_pod(uid="uid-4")
    raw["spec"]["containers"][0]["image"] = "registry.example.com/team/app:2"
    four = cache.snapshot(raw)
    assert four == snapshot_from_pod(raw)
    assert four.containers != one.containers
    # the next update of a pod compares against the shared part and keeps it
    again = cache.snapshot(f.sidecar_pod(uid="uid-2", resource_version="1001"))
    assert again.containers is one.containers


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), maybe_mangled("7")), max_size=8))
def test_pods_sharing_one_cache_equal_pure_ones(pods):
    cache = SnapshotCache()
    for uid, raw in pods:
        if isinstance(raw.get("metadata"), dict):
            raw["metadata"]["uid"] = uid
        cached = cache.snapshot(json.loads(json.dumps(raw)))
        assert cached == snapshot_from_pod(raw)
