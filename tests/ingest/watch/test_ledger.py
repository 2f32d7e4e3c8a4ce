"""The no-loss test's accounting can fail: a lost change, a change stored twice under another
key, a lost restart, and the one excuse it accepts (a change collapsed inside a recorded gap)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.ingest.watch.ledger import (
    StoredTransition,
    TruthTransition,
    Version,
    Window,
    compare,
    truth_transitions,
)

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
LAG = timedelta(seconds=0.1)  # from a write to its receipt
UID = "0b9a3c1e-6a52-4a0e-9d0e-1c4f2b7e9a11"


def pod(rv: int, *, ready: bool, restarts: int = 0) -> dict[str, Any]:
    status = "True" if ready else "False"
    return {
        "metadata": {
            "name": "web-1",
            "namespace": "shop",
            "uid": UID,
            "resourceVersion": str(rv),
            "creationTimestamp": "2026-11-21T08:00:00Z",
        },
        "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "web:1"}]},
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": "Ready", "status": status, "lastTransitionTime": "2026-11-21T08:00:00Z"}
            ],
            "containerStatuses": [
                {
                    "name": "app",
                    "ready": ready,
                    "started": True,
                    "restartCount": restarts,
                    "state": {"running": {"startedAt": "2026-11-21T08:00:00Z"}},
                    "image": "web:1",
                    "imageID": "",
                }
            ],
        },
    }


def history() -> dict[str, list[Version]]:
    objects = [
        ("ADDED", pod(10, ready=False)),
        ("MODIFIED", pod(11, ready=True)),
        ("MODIFIED", pod(12, ready=False, restarts=1)),
        ("MODIFIED", pod(13, ready=True, restarts=1)),
        ("DELETED", pod(14, ready=True, restarts=1)),
    ]
    return {
        UID: [
            Version(T0 + timedelta(seconds=i), kind, int(obj["metadata"]["resourceVersion"]), obj)
            for i, (kind, obj) in enumerate(objects)
        ]
    }


def stored_as(truth: list[TruthTransition]) -> list[StoredTransition]:
    """What an ingest that saw every version stores."""
    detail: dict[str, Any]
    rows = []
    for i, t in enumerate(truth):
        detail = {"restart": t.restarts[-1], "in_gap": False} if t.restarts else {}
        rows.append(
            StoredTransition(i, t.uid, t.kind, t.subject, t.key, t.old, t.new, t.wall + LAG, detail)
        )
    return rows


def run(stored: list[StoredTransition], gaps: list[Window] | None = None) -> Any:
    pods = history()
    return compare(
        truth=truth_transitions(pods),
        stored=stored,
        gaps=gaps or [],
        first_observation=T0 - timedelta(seconds=1),
        pods=pods,
    )


def test_everything_seen_is_everything_matched() -> None:
    truth = list(truth_transitions(history()))
    result = run(stored_as(truth))
    assert result.total("missing") == 0
    assert result.total("matched") == result.total("truth") > 10
    assert result.restarts_truth == result.restarts_stored == 1
    assert result.total("chain_breaks") == result.total("duplicated") == 0


def test_a_lost_change_is_missing_unless_a_recorded_gap_covers_it() -> None:
    truth = list(truth_transitions(history()))
    lost = [t for t in truth if t.rv == 11]
    kept = stored_as([t for t in truth if t.rv != 11])
    result = run(kept)
    assert result.total("missing") == len(lost) > 0
    covered = run(kept, gaps=[Window(lost[0].wall, lost[0].wall + timedelta(seconds=0.5))])
    assert covered.total("missing") == 0
    assert covered.total("in_gap") == len(lost)


def test_a_change_stored_twice_under_another_key_breaks_its_chain() -> None:
    rows = stored_as(list(truth_transitions(history())))
    ready = next(r for r in rows if r.kind == "pod_ready" and r.new is True)
    again = replace(ready, id=len(rows) + 1, key=ready.key + "-again")
    result = run(sorted([*rows, again], key=lambda r: r.id))
    assert result.total("chain_breaks") >= 1
    assert result.total("unexplained") == 1


def test_a_lost_restart_is_missing_even_though_later_versions_were_seen() -> None:
    rows = [
        r for r in stored_as(list(truth_transitions(history()))) if r.kind != "container_restart"
    ]
    result = run(rows)
    assert result.restarts_missing == [(UID, "app", 1)]
