from __future__ import annotations

from typing import Any

import pytest

from lifecycle_dash.ingest.models import EndpointObservation
from lifecycle_dash.ingest.processors import processor_for
from tests.ingest.conftest import at

UID_A = "a0000000-0000-4000-8000-00000000000a"
UID_B = "b0000000-0000-4000-8000-00000000000b"


def endpoint(uid: str, *, ready: bool = True, terminating: bool = False) -> dict[str, Any]:
    return {
        "addresses": ["10.244.1.17"],
        "conditions": {"ready": ready, "serving": True, "terminating": terminating},
        "targetRef": {"kind": "Pod", "namespace": "shop", "name": uid[:5], "uid": uid},
        "nodeName": "node-a-1",
    }


def slice_(rv: str, *endpoints: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "web-abcde",
            "namespace": "shop",
            "resourceVersion": rv,
            "labels": {"kubernetes.io/service-name": "web"},
        },
        "addressType": "IPv4",
        "endpoints": list(endpoints),
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    }


def feed(processor: Any, events: list[tuple[str, dict[str, Any]]], start: float = 0) -> None:
    for i, (kind, obj) in enumerate(events):
        processor.handle(event_type=kind, obj=obj, raw_size=800, received_at=at(start + i))


def history(uid: str) -> list[tuple[Any, ...]]:
    return list(
        EndpointObservation.objects.filter(pod_uid=uid)
        .order_by("observed_at")
        .values_list("observed_at", "ready", "terminating", "removed", "by_relist")
    )


@pytest.mark.django_db
def test_endpoint_withdrawal_is_recorded_per_pod_at_receive_time(stream_for, publisher) -> None:
    processor = processor_for(stream=stream_for("endpointslices"), publisher=publisher)
    feed(
        processor,
        [
            ("ADDED", slice_("1", endpoint(UID_A), endpoint(UID_B))),
            (
                "MODIFIED",
                slice_("2", endpoint(UID_A, ready=False, terminating=True), endpoint(UID_B)),
            ),
            ("MODIFIED", slice_("3", endpoint(UID_B))),
        ],
    )
    processor.flush(resource_version=None)
    assert history(UID_A) == [
        (at(0), True, False, False, False),
        (at(1), False, True, False, False),
        (at(2), None, None, True, False),
    ]
    assert history(UID_B) == [(at(0), True, False, False, False)]

    # A new worker replays the last version: nothing new. Then a relist misses the slice.
    replay = processor_for(stream=stream_for("endpointslices"), publisher=publisher)
    feed(replay, [("MODIFIED", slice_("3", endpoint(UID_B)))], start=10)
    assert replay.flush(resource_version=None).endpoint_observations == 0
    replay.begin_relist(started_at=at(20), reason="410 Gone")
    replay.end_relist(list_resource_version="9", finished_at=at(21))
    replay.flush(resource_version="9")
    assert history(UID_B)[-1] == (at(21), None, None, True, True)
