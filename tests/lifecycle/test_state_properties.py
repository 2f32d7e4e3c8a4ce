"""Property tests: diff and apply agree with state_of on realistic random pod histories."""

from __future__ import annotations

import dataclasses
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifecycle_dash.lifecycle import (
    Transition,
    TransitionKind,
    apply,
    diff,
    snapshot_from_pod,
    state_of,
)
from tests.lifecycle import podfactory as f
from tests.lifecycle.strategies import pod_variants

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _history(n: int):
    return st.tuples(*[pod_variants(resource_version=str(100 + i)) for i in range(n)])


@SETTINGS
@given(_history(3))
def test_stepwise_and_direct_diffs_fold_to_the_same_state(pods):
    a, b, c = (snapshot_from_pod(p) for p in pods)
    step = diff(a, b, observed_at=f.at(5000)) + diff(b, c, observed_at=f.at(5001))
    direct = diff(a, c, observed_at=f.at(5001))
    assert apply(state_of(a), step) == state_of(c)
    assert apply(state_of(a), direct) == state_of(c)


@SETTINGS
@given(pod_variants())
def test_first_observation_folds_to_the_state(raw):
    snap = snapshot_from_pod(raw)
    transitions = diff(None, snap, observed_at=f.at(5000))
    assert transitions[0].kind is TransitionKind.POD_CREATED
    assert apply(None, transitions) == state_of(snap)


@SETTINGS
@given(_history(4))
def test_a_whole_history_folds_from_nothing(pods):
    snaps = [snapshot_from_pod(p) for p in pods]
    transitions: list[Transition] = []
    previous = None
    for i, snap in enumerate(snaps):
        transitions.extend(diff(previous, snap, observed_at=f.at(5000 + i)))
        previous = snap
    transitions.extend(diff(previous, None, observed_at=f.at(6000)))
    final = apply(None, transitions)
    assert final == dataclasses.replace(state_of(snaps[-1]), deleted=True)


@SETTINGS
@given(_history(2))
def test_diff_is_deterministic_keys_unique_and_records_json_safe(pods):
    a, b = (snapshot_from_pod(p) for p in pods)
    first = diff(a, b, observed_at=f.at(5000))
    again = diff(snapshot_from_pod(pods[0]), snapshot_from_pod(pods[1]), observed_at=f.at(5000))
    assert first == again
    assert [t.key for t in first] == [t.key for t in again]
    keys = [t.key for t in first]
    assert len(keys) == len(set(keys))
    for t in first:
        record = t.to_record()
        assert json.loads(json.dumps(record)) == record
        assert Transition.from_record(record) == t


@SETTINGS
@given(pod_variants())
def test_no_change_no_transitions(raw):
    snap = snapshot_from_pod(raw)
    assert diff(snap, snap, observed_at=f.at(1)) == ()
    assert diff(snap, snapshot_from_pod(raw), observed_at=f.at(1)) == ()


@SETTINGS
@given(_history(2))
def test_one_restart_record_per_restart(pods):
    a, b = (snapshot_from_pod(p) for p in pods)
    transitions = diff(a, b, observed_at=f.at(5000))
    before = {s.name: s.restart_count for s in a.all_container_statuses}
    for status in b.all_container_statuses:
        records = [
            t
            for t in transitions
            if t.kind is TransitionKind.CONTAINER_RESTART and t.subject == status.name
        ]
        expected = max(0, status.restart_count - before.get(status.name, 0))
        assert len(records) == expected
        assert [t.new for t in records] == list(
            range(status.restart_count - expected + 1, status.restart_count + 1)
        )
        if records:
            assert all(t.detail["in_gap"] for t in records[:-1])
            assert not records[-1].detail["in_gap"]


@SETTINGS
@given(_history(2))
def test_replayed_pair_produces_identical_keys_at_another_receive_time(pods):
    a, b = (snapshot_from_pod(p) for p in pods)
    first = diff(a, b, observed_at=f.at(5000))
    replay = diff(a, b, observed_at=f.at(9000))
    assert [t.key for t in first] == [t.key for t in replay]
