from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import given, settings

from lifecycle_dash.ingest.snapshots import snapshot_document, snapshot_from_document
from lifecycle_dash.lifecycle import snapshot_from_pod
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
