from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lifecycle_dash.kubesim.clock import SimClock, parse_time
from lifecycle_dash.kubesim.deletion import request_pod_deletion
from lifecycle_dash.kubesim.errors import ApiError
from lifecycle_dash.kubesim.store import Store
from tests.kubesim.simulator import make_pod

START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def store() -> Store:
    return Store(SimClock(start=START))


@pytest.fixture
def events(store):
    seen: list[str] = []
    store.subscribe(lambda t, k, o: seen.append(t) if k == "pods" else None)
    return seen


def _requested_at(pod):
    meta = pod["metadata"]
    return parse_time(meta["deletionTimestamp"]) - timedelta(
        seconds=meta["deletionGracePeriodSeconds"]
    )


def test_first_graceful_delete_marks_the_pod_and_keeps_it(store, events):
    store.create("pods", make_pod("web", node="node-1"))
    events.clear()
    pod = request_pod_deletion(store, "default", "web", 5)
    meta = pod["metadata"]
    assert meta["deletionGracePeriodSeconds"] == 5
    assert _requested_at(pod) - START < timedelta(seconds=2)
    assert meta["generation"] == 2
    assert events == ["MODIFIED"]
    assert store.get("pods", "default", "web") is not None


def test_without_options_the_spec_grace_period_applies(store):
    store.create("pods", make_pod("web", node="node-1", grace=45))
    pod = request_pod_deletion(store, "default", "web", None)
    assert pod["metadata"]["deletionGracePeriodSeconds"] == 45


def test_unscheduled_pods_are_deleted_at_once(store, events):
    store.create("pods", make_pod("web"))
    events.clear()
    request_pod_deletion(store, "default", "web", 30)
    assert events == ["MODIFIED", "DELETED"]
    assert store.get("pods", "default", "web") is None


@pytest.mark.parametrize("phase", ["Succeeded", "Failed"])
def test_finished_pods_are_deleted_at_once(store, phase):
    store.create("pods", make_pod("web", node="node-1", phase=phase))
    request_pod_deletion(store, "default", "web", 30)
    assert store.get("pods", "default", "web") is None


def test_negative_grace_becomes_one_second(store):
    store.create("pods", make_pod("web", node="node-1"))
    pod = request_pod_deletion(store, "default", "web", -5)
    assert pod["metadata"]["deletionGracePeriodSeconds"] == 1


def test_a_later_delete_only_shortens_and_keeps_the_request_time(store, events):
    store.create("pods", make_pod("web", node="node-1"))
    first = request_pod_deletion(store, "default", "web", 30)
    generation = first["metadata"]["generation"]
    longer = request_pod_deletion(store, "default", "web", 60)
    assert longer["metadata"]["deletionGracePeriodSeconds"] == 30
    store.clock.advance(10)
    shorter = request_pod_deletion(store, "default", "web", 10)
    assert shorter["metadata"]["deletionGracePeriodSeconds"] == 10
    assert _requested_at(shorter) == _requested_at(first)
    assert shorter["metadata"]["generation"] == generation


def test_grace_zero_on_a_terminating_pod_removes_it(store, events):
    store.create("pods", make_pod("web", node="node-1"))
    request_pod_deletion(store, "default", "web", 30)
    events.clear()
    last = request_pod_deletion(store, "default", "web", 0)
    assert events == ["MODIFIED", "DELETED"]
    assert last["metadata"]["deletionGracePeriodSeconds"] == 0


def test_uid_precondition_mismatch_conflicts(store):
    store.create("pods", make_pod("web", node="node-1"))
    with pytest.raises(ApiError) as caught:
        request_pod_deletion(store, "default", "web", 5, uid="not-the-uid")
    assert caught.value.code == 409


def test_missing_pod_is_not_found(store):
    with pytest.raises(ApiError) as caught:
        request_pod_deletion(store, "default", "nope", 5)
    assert caught.value.code == 404
