"""Broken objects from a broken (or hostile) API server never make the domain raise.

The other property tests feed either realistic objects (``strategies.pod_variants``) or random
JSON trees. Real breakage sits in between: a realistic object with one or a few fields of the
wrong type, out of range, unparseable or missing, at any depth. So each strategy here starts
from a realistic pod / Event / EndpointSlice and mangles it at random paths, and every entry
point the ingest calls on raw objects is driven with the result: ``snapshot_from_pod``,
``diff`` (random pairs, None included), ``state_of``/``apply``, ``kubectl_columns``,
``event_from_raw``/``occurrences_between``, ``slice_endpoints``/``diff_endpoint_slices`` and
the termination / startup analyses. Derandomized, so a CI run is the same run every time.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifecycle_dash.lifecycle import (
    Transition,
    apply,
    diff,
    kubectl_columns,
    snapshot_from_pod,
    state_of,
)
from lifecycle_dash.lifecycle.endpoints import diff_endpoint_slices, slice_endpoints
from lifecycle_dash.lifecycle.events import event_from_raw, occurrences_between
from lifecycle_dash.lifecycle.startup import analyze_startup
from lifecycle_dash.lifecycle.termination import analyze_termination
from tests.lifecycle import podfactory as f
from tests.lifecycle.strategies import UID, pod_variants

Json = dict[str, Any]
Path = tuple[str | int, ...]

BUDGET = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
NOW = f.at(4000)

# --- junk ------------------------------------------------------------------------------------

_BAD_TIMES = [
    "",
    "yesterday",
    "2026-13-45T99:99:99Z",
    "2026-11-21T05:00:00",  # no offset
    "0000-00-00T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2026-11-21T05:00:00+25:00",
    "2026-11-21T05:00:00.123456789123Z",
    "2026-11-21 05:00:00Z",
    "-1",
    "1e309",
    "\x00",
]
_BAD_NUMBERS = [-1, -(2**31) - 1, 2**31, 2**63, 2**70, -(2**70), 0.5, 1e308, -0.0]
_BAD_STRINGS = ["3", "", " ", "x" * 70_000, "\x00\x01", "\ud800", "💥" * 500, "a=b,c!=d", "null"]

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(_BAD_NUMBERS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(_BAD_STRINGS),
    st.sampled_from(_BAD_TIMES),
)
_json = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["name", "type", "status", "uid", "state", "x", ""]),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


def _deep(depth: int) -> Any:
    """Nesting far beyond anything a pod has (but below Python's recursion limit)."""
    value: Any = "bottom"
    for i in range(depth):
        value = [value] if i % 2 else {"x": value}
    return value


junk = st.one_of(_json, st.builds(_deep, st.integers(50, 400)))

# --- mangling realistic objects --------------------------------------------------------------


def _paths(obj: Any, prefix: Path = ()) -> list[Path]:
    out: list[Path] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            out.append((*prefix, key))
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            out.append((*prefix, index))
            out.extend(_paths(value, (*prefix, index)))
    return out


def _set(obj: Any, path: Path, value: Any, *, delete: bool) -> None:
    parent = obj
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value


@st.composite
def mangled(draw: st.DrawFn, base: Any, *, max_edits: int = 3) -> Any:
    """``base`` (deep-copied) with 1..max_edits values replaced by junk or removed."""
    obj = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, max_edits))):
        paths = _paths(obj)
        if not paths:
            return draw(junk)
        path = draw(st.sampled_from(paths))
        _set(obj, path, draw(junk), delete=draw(st.integers(0, 4)) == 0)
    return obj


@st.composite
def broken_pods(draw: st.DrawFn, uid: str = UID) -> Any:
    base = draw(
        st.one_of(
            pod_variants(uid=uid),
            st.sampled_from(
                [
                    f.running_pod(uid=uid),
                    f.crashloop_pod(uid=uid),
                    f.terminating_pod(uid=uid),
                    f.completed_pod(uid=uid),
                    f.sidecar_pod(uid=uid),
                    f.pending_unscheduled_pod(uid=uid),
                ]
            ),
        )
    )
    # Now and then not a pod at all, or a pod whose top level is gone.
    return draw(
        st.one_of(
            mangled(base),
            mangled(base),
            mangled(base),
            junk,
            st.builds(dict),
            st.just({k: v for k, v in base.items() if k != "metadata"}),
        )
    )


def _event(
    reason: str, message: str, *, count: int = 1, first: float = 10, last: float = 10
) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"web.{reason.lower()}",
            "namespace": "shop",
            "uid": f"ev-{reason.lower()}",
            "resourceVersion": str(5000 + count),
            "creationTimestamp": f.ts(first),
        },
        "involvedObject": {
            "kind": "Pod",
            "namespace": "shop",
            "name": "web-7d9f8b6c5-x2x4q",
            "uid": UID,
            "apiVersion": "v1",
            "fieldPath": "spec.containers{app}",
        },
        "reason": reason,
        "message": message,
        "source": {"component": "kubelet", "host": "node-a-1"},
        "firstTimestamp": f.ts(first),
        "lastTimestamp": f.ts(last),
        "count": count,
        "type": "Normal",
        "eventTime": None,
        "series": {"count": count, "lastObservedTime": f.ts(last)},
        "reportingComponent": "kubelet",
        "reportingInstance": "node-a-1",
    }


_EVENTS = [
    _event("Scheduled", "Successfully assigned shop/web to node-a-1", first=1, last=1),
    _event("Pulling", 'Pulling image "registry.example.com/team/app:1.4.2"', first=2, last=2),
    _event(
        "Pulled",
        'Successfully pulled image "app:1.4.2" in 1.2s (1.2s including waiting)',
        first=4,
        last=4,
    ),
    _event("Killing", "Stopping container app", first=100, last=100),
    _event("Unhealthy", "Liveness probe failed: HTTP probe failed", count=7, first=20, last=80),
    _event("BackOff", "Back-off restarting failed container", count=30, first=30, last=900),
]

broken_events = st.one_of(
    st.sampled_from(_EVENTS).flatmap(mangled),
    junk,
)


def _endpoint(uid: str, *, ready: Any = True, terminating: Any = False) -> Json:
    return {
        "addresses": ["10.244.1.17"],
        "conditions": {"ready": ready, "serving": ready, "terminating": terminating},
        "targetRef": {"kind": "Pod", "namespace": "shop", "name": "web", "uid": uid},
        "nodeName": "node-a-1",
    }


def _slice(*endpoints: Json, rv: str = "5001") -> Json:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "web-8xk2p",
            "namespace": "shop",
            "uid": "3c0a1e2b-aaaa-4bbb-8ccc-0d0e0f101112",
            "resourceVersion": rv,
            "labels": {"kubernetes.io/service-name": "web"},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": list(endpoints),
    }


_SLICES = [
    _slice(_endpoint(UID), _endpoint("other-pod")),
    _slice(_endpoint(UID, ready=False, terminating=True), rv="5002"),
    _slice(rv="5003"),
]
broken_slices = st.one_of(
    st.sampled_from(_SLICES).flatmap(mangled),
    st.sampled_from(_SLICES),
    st.none(),
    junk,
)
observed = st.integers(0, 5000).map(lambda s: f.at(s))

# --- properties ------------------------------------------------------------------------------


@BUDGET
@given(raw=broken_pods())
def test_a_broken_pod_becomes_a_snapshot_and_kubectl_columns(raw: Any) -> None:
    snapshot = snapshot_from_pod(raw)

    state_of(snapshot)
    columns = kubectl_columns(snapshot, now=NOW)
    assert isinstance(columns.status, str)
    assert isinstance(columns.restarts, str)
    # The ingest also hands raw mappings to kubectl_columns.
    if isinstance(raw, dict):
        kubectl_columns(raw, now=NOW)
    assert all(isinstance(p, str) for p in snapshot.problems)


# Fields the snapshot reads, each with a value of a JSON type it can never accept there.
_READ_FIELDS: list[tuple[Path, Any]] = [
    (("metadata",), "a string"),
    (("metadata", "uid"), 42),
    (("metadata", "name"), ["web"]),
    (("metadata", "namespace"), {"x": 1}),
    (("metadata", "creationTimestamp"), "yesterday"),
    (("metadata", "creationTimestamp"), 1732165200),
    (("metadata", "labels"), "app=web"),
    (("metadata", "ownerReferences"), {"kind": "ReplicaSet"}),
    (("metadata", "deletionTimestamp"), "2026-13-45T99:99:99Z"),
    (("metadata", "deletionGracePeriodSeconds"), "30"),
    (("spec",), []),
    (("spec", "containers"), "app"),
    (("spec", "nodeName"), 7),
    (("status",), 3),
    (("status", "phase"), ["Running"]),
    (("status", "conditions"), "Ready"),
    (("status", "containerStatuses"), "app"),
    (("status", "containerStatuses", 0, "restartCount"), "3"),
    (("status", "containerStatuses", 0, "ready"), "true"),
    (("status", "containerStatuses", 0, "state"), "running"),
    (("status", "containerStatuses", 0, "lastState"), ["terminated"]),
    (("status", "containerStatuses", 0, "name"), None),
    (("status", "containerStatuses", 0), "app"),
    (("status", "conditions", 0, "type"), None),
    (("status", "conditions", 0, "status"), True),
    (("status", "conditions", 0, "lastTransitionTime"), "noon"),
    (("status", "podIPs"), "10.0.0.1"),
]


@BUDGET
@given(
    base=st.sampled_from(
        [f.running_pod(), f.crashloop_pod(), f.terminating_pod(), f.sidecar_pod()]
    ),
    field=st.sampled_from(_READ_FIELDS),
    noise=st.integers(0, 2),
    data=st.data(),
)
def test_a_field_the_snapshot_cannot_read_is_reported_as_a_problem(
    base: Json, field: tuple[Path, Any], noise: int, data: st.DataObject
) -> None:
    path, value = field
    raw = copy.deepcopy(base)
    # Unrelated junk elsewhere must not hide the problem.
    if noise:
        raw = data.draw(mangled(raw, max_edits=noise))
    try:
        _set(raw, path, value, delete=False)
    except (KeyError, IndexError, TypeError):
        return  # the noise removed the parent: nothing to place the value in

    snapshot = snapshot_from_pod(raw)

    named = ".".join(str(p) for p in path if not isinstance(p, int))
    last = str(path[-1]) if not isinstance(path[-1], int) else str(path[-2])
    assert snapshot.problems, f"{named}={value!r} read without a problem"
    assert any(last in p for p in snapshot.problems), (named, snapshot.problems)


@BUDGET
@given(
    before=st.one_of(st.none(), broken_pods()),
    after=st.one_of(st.none(), broken_pods()),
    deleted=st.booleans(),
)
def test_diff_of_any_two_broken_versions_never_raises_and_replays_onto_the_state(
    before: Any, after: Any, deleted: bool
) -> None:
    old = None if before is None else snapshot_from_pod(before)
    new = None if after is None else snapshot_from_pod(after)
    if old is not None and new is not None and old.uid != new.uid:
        # Two different pods are a caller bug that diff reports loudly, by contract.
        try:
            diff(old, new, observed_at=NOW)
        except ValueError:
            return
        raise AssertionError("diff across pods did not raise")

    transitions = diff(old, new, observed_at=NOW, deleted=deleted)

    state = apply(None if old is None else state_of(old), transitions)
    if new is not None:
        expected = state_of(new)
        assert state.conditions == expected.conditions
        assert state.containers == expected.containers


@BUDGET
@given(previous=st.one_of(st.none(), broken_events), current=broken_events)
def test_broken_event_versions_never_raise(previous: Any, current: Any) -> None:
    event = event_from_raw(current)
    earlier = None if previous is None else event_from_raw(previous)

    occurrences = occurrences_between(earlier, event)
    # A count of 2**70 must not become 2**70 occurrences.
    assert len(occurrences) <= 10_000


@BUDGET
@given(before=broken_slices, after=broken_slices, deleted=st.booleans(), at=observed)
def test_broken_endpoint_slice_versions_never_raise(
    before: Any, after: Any, deleted: bool, at: datetime
) -> None:
    read = slice_endpoints(after)
    assert isinstance(read.problems, tuple)
    for observation in diff_endpoint_slices(before, after, observed_at=at, deleted=deleted):
        assert observation.observed_at == at


def _observations(slices: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    previous: Any = None
    for i, body in enumerate(slices):
        out.extend(diff_endpoint_slices(previous, body, observed_at=f.at(90 + 5 * i)))
        previous = body
    return out


@BUDGET
@given(
    versions=st.lists(broken_pods(), min_size=1, max_size=3),
    events=st.lists(broken_events, max_size=5),
    slices=st.lists(broken_slices, max_size=3),
    now=st.one_of(st.just(NOW), st.just(datetime(1970, 1, 1, tzinfo=UTC)), observed),
)
def test_termination_and_startup_of_a_broken_history_never_raise(
    versions: list[Any], events: list[Any], slices: list[Any], now: datetime
) -> None:
    snapshots = [snapshot_from_pod(raw) for raw in versions]
    uid = snapshots[-1].uid
    transitions: list[Transition] = []
    previous = None
    for i, snapshot in enumerate(s for s in snapshots if s.uid == uid):
        transitions.extend(diff(previous, snapshot, observed_at=f.at(10 * i)))
        previous = snapshot
    parsed = [event_from_raw(raw) for raw in events]
    endpoints = _observations(slices)

    analyze_termination(
        pod=snapshots[-1],
        transitions=transitions,
        events=parsed,
        endpoints=endpoints,
        now=now,
    )
    startup = analyze_startup(pod=snapshots[-1], transitions=transitions, events=parsed)
    assert isinstance(startup.notes, Sequence)


@pytest.mark.parametrize(
    "value",
    [{"x": 1}, ["2026-11-21T05:00:00Z"], "9999-12-31T23:59:60Z", "0001-01-01T00:00:00+01:00"],
)
def test_a_timestamp_that_is_an_object_or_out_of_range_is_a_problem(value: Any) -> None:
    # Found by the properties above: an unhashable value raised TypeError in the parse cache,
    # and a timestamp past datetime's range raised OverflowError.
    raw = f.running_pod()
    raw["status"]["conditions"][0]["lastTransitionTime"] = value
    raw["metadata"]["creationTimestamp"] = value

    snapshot = snapshot_from_pod(raw)

    assert any("creationTimestamp" in p for p in snapshot.problems)
    assert snapshot.creation_timestamp is None
