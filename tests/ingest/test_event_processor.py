from __future__ import annotations

from typing import Any

import pytest

from lifecycle_dash.ingest.models import EventOccurrence, PodEvent
from lifecycle_dash.ingest.processors import processor_for
from tests.ingest.conftest import at
from tests.lifecycle import podfactory as f

POD_UID = "a0000000-0000-4000-8000-00000000000a"


def k8s_event(
    *, count: int, last: float, rv: str, uid: str = "e1", reason: str = "BackOff"
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"web-1.17f{uid}",
            "namespace": "shop",
            "uid": uid,
            "resourceVersion": rv,
            "creationTimestamp": f.ts(10),
            "managedFields": [{"manager": "kubelet"}],
        },
        "involvedObject": {
            "kind": "Pod",
            "namespace": "shop",
            "name": "web-1",
            "uid": POD_UID,
            "fieldPath": "spec.containers{app}",
        },
        "reason": reason,
        "message": "Back-off restarting failed container app in pod web-1",
        "source": {"component": "kubelet", "host": "node-a-1"},
        "firstTimestamp": f.ts(10),
        "lastTimestamp": f.ts(last),
        "count": count,
        "type": "Warning",
    }


def feed(processor: Any, events: list[tuple[str, dict[str, Any]]], start: float = 0) -> None:
    for i, (kind, obj) in enumerate(events):
        processor.handle(event_type=kind, obj=obj, raw_size=1500, received_at=at(start + i))


@pytest.mark.django_db
def test_a_count_bump_becomes_new_occurrences_and_a_replay_adds_none(stream_for, publisher) -> None:
    processor = processor_for(stream=stream_for("events"), publisher=publisher)
    feed(
        processor,
        [
            ("ADDED", k8s_event(count=1, last=10, rv="5")),
            ("MODIFIED", k8s_event(count=4, last=70, rv="6")),
        ],
    )
    result = processor.flush(resource_version=None)
    assert result.occurrences == 4
    rows = list(EventOccurrence.objects.order_by("ordinal"))
    assert [r.ordinal for r in rows] == [1, 2, 3, 4]
    assert rows[0].at == f.at(10)
    assert rows[3].at == f.at(70)
    assert rows[1].at is None
    assert (rows[1].earliest, rows[1].latest) == (f.at(10), f.at(70))
    assert {r.pod_uid for r in rows} == {POD_UID}
    stored = PodEvent.objects.get()
    assert (stored.count, stored.reason, stored.pod_uid) == (4, "BackOff", POD_UID)

    # A relist (or a new worker) delivers the same version again: nothing new.
    replay = processor_for(stream=stream_for("events"), publisher=publisher)
    replay.begin_relist(started_at=at(100), reason="410 Gone")
    feed(replay, [("ADDED", k8s_event(count=4, last=70, rv="6"))], start=100)
    replay.end_relist(list_resource_version="9", finished_at=at(101))
    assert replay.flush(resource_version="9").occurrences == 0
    feed(replay, [("MODIFIED", k8s_event(count=5, last=90, rv="10"))], start=110)
    assert replay.flush(resource_version=None).occurrences == 1
    keys = list(EventOccurrence.objects.values_list("key", flat=True))
    assert len(keys) == len(set(keys)) == 5


@pytest.mark.django_db
def test_events_about_other_kinds_are_skipped_and_broken_ones_counted(
    stream_for, publisher
) -> None:
    stream = stream_for("events")
    processor = processor_for(stream=stream, publisher=publisher)
    node_event = k8s_event(count=1, last=10, rv="5", uid="n1")
    node_event["involvedObject"]["kind"] = "Node"
    no_pod = k8s_event(count=1, last=10, rv="6", uid="n2")
    del no_pod["involvedObject"]["uid"]
    feed(
        processor,
        [("ADDED", node_event), ("ADDED", no_pod), ("ADDED", k8s_event(count=1, last=10, rv="7"))],
    )
    processor.flush(resource_version=None)
    stream.refresh_from_db()
    assert stream.bad_input == {"missing_involved_uid": 1}
    assert EventOccurrence.objects.count() == 1
