from __future__ import annotations

import dataclasses
from typing import Any

import orjson
from hypothesis import given, settings

from lifecycle_dash.ingest.snapshots import (
    DocumentMemo,
    snapshot_document,
    snapshot_from_document,
)
from lifecycle_dash.lifecycle import SnapshotCache, snapshot_from_pod
from tests.ingest.lifecycles import graceful_lifecycle
from tests.lifecycle import podfactory as f
from tests.lifecycle.strategies import pod_variants


def roundtrip_equal(raw: dict[str, Any]) -> bool:
    snapshot = snapshot_from_pod(raw)
    back = snapshot_from_document(snapshot_document(snapshot))
    return dataclasses.replace(back, problems=snapshot.problems) == snapshot


@settings(max_examples=150, deadline=None)
@given(pod_variants())
def test_a_stored_snapshot_reads_back_equal_so_a_seeded_cache_diffs_like_the_original(
    raw: dict[str, Any],
) -> None:
    assert roundtrip_equal(raw)


def test_hooks_probes_and_sidecars_survive_storage() -> None:
    assert roundtrip_equal(f.sidecar_pod())
    assert roundtrip_equal(f.crashloop_pod())
    assert roundtrip_equal(f.terminating_pod())


def test_the_stored_document_holds_no_secret() -> None:
    text = str(snapshot_document(snapshot_from_pod(f.sidecar_pod())))
    for secret in f.SECRETS:
        assert secret not in text


@settings(max_examples=100, deadline=None)
@given(pod_variants(), pod_variants())
def test_the_memoised_document_text_equals_the_document_through_any_sequence(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    # The second variant is given the first's uid: one pod that changes (or not) in any way.
    second = {**second, "metadata": {**second.get("metadata", {}), "uid": "u-1"}}
    first = {**first, "metadata": {**first.get("metadata", {}), "uid": "u-1"}}
    cache, memo = SnapshotCache(), DocumentMemo()
    for raw in (first, second, second, first):
        snapshot = cache.snapshot(raw)
        assert orjson.loads(memo.document(snapshot)) == snapshot_document(snapshot)
        assert orjson.loads(memo.labels(snapshot)) == dict(snapshot.labels)


def test_the_memoised_document_follows_a_whole_lifecycle() -> None:
    cache, memo = SnapshotCache(), DocumentMemo()
    for _, raw in graceful_lifecycle(uid="u-2", name="web-2"):
        snapshot = cache.snapshot(raw)
        assert orjson.loads(memo.document(snapshot)) == snapshot_document(snapshot)
