"""Watch slices with the real processor and PostgreSQL: lease, checkpoint, hand-over, 401."""

from __future__ import annotations

import time
from typing import Any

import pytest

from lifecycle_dash.ingest import leases, slices, supervisor
from lifecycle_dash.ingest.health import stream_health
from lifecycle_dash.ingest.models import Cluster, Pod, WatchStream
from tests.ingest.watch.conftest import make_cluster
from tests.ingest.watch.sim import Simulator

pytestmark = pytest.mark.django_db(transaction=True)

SHORT = slices.SliceOptions(slice_seconds=1.5, read_timeout=5.0, heartbeat_interval=0.5)


class Enqueued:
    def __init__(self) -> None:
        self.calls: list[tuple[int, str, dict[str, Any]]] = []

    def __call__(self, stream_id: int, reservation: str, options: dict[str, Any]) -> None:
        self.calls.append((stream_id, reservation, options))


def pods_stream(cluster: Cluster) -> WatchStream:
    supervisor.streams_ensure()
    return WatchStream.objects.get(cluster=cluster, resource="pods")


def test_a_slice_ingests_pods_commits_the_checkpoint_and_hands_over(sim: Simulator) -> None:
    for i in range(5):
        sim.create_pod(f"web-{i}")
    cluster = make_cluster(sim)
    stream = pods_stream(cluster)
    enqueue = Enqueued()

    outcome = slices.slice_run(stream_id=stream.pk, options=SHORT, enqueue=enqueue)

    assert outcome == "deadline"
    stream.refresh_from_db()
    assert (
        stream.resource_version == sim.request("GET", "/api/v1/pods")["metadata"]["resourceVersion"]
    )
    assert set(Pod.objects.filter(cluster=cluster).values_list("uid", flat=True)) == set(sim.pods())
    # The lease became a reservation for exactly the successor that was enqueued.
    assert len(enqueue.calls) == 1
    stream_id, reservation, options = enqueue.calls[0]
    assert stream_id == stream.pk
    assert stream.lease_owner == reservation
    assert reservation.startswith(leases.RESERVATION_PREFIX)
    assert options["slice_seconds"] == 1.5
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.OK
    # A slice without the reservation cannot start; the successor with it can, and resumes.
    assert slices.slice_run(stream_id=stream.pk, options=SHORT, enqueue=enqueue) == "busy"
    sim.create_pod("later")
    assert slices.slice_run(stream_id=stream.pk, reservation=reservation, options=SHORT) == (
        "deadline"
    )
    stream.refresh_from_db()
    assert stream.relists_total == 1
    assert Pod.objects.filter(cluster=cluster).count() == 6


def test_a_401_stops_the_stream_sets_the_cluster_status_and_is_not_retried(
    sim: Simulator,
) -> None:
    cluster = make_cluster(sim, token="revoked")
    stream = pods_stream(cluster)
    enqueue = Enqueued()

    started = time.monotonic()
    outcome = slices.slice_run(stream_id=stream.pk, options=SHORT, enqueue=enqueue)

    assert outcome == "unauthorized"
    assert time.monotonic() - started < 1.0
    assert enqueue.calls == []
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.UNAUTHORIZED
    assert cluster.status_message == "Unauthorized"
    stream.refresh_from_db()
    assert stream.lease_owner == ""
    assert "unauthorized" in stream.last_error
    # The supervisor leaves every stream of the cluster alone ...
    assert supervisor.streams_supervise(enqueue=enqueue) == []
    health = {h["resource"]: h for h in stream_health()}
    assert health["pods"]["status"] == "unauthorized"
    # ... until the cluster is edited (its status reset), then it restarts them.
    Cluster.objects.filter(pk=cluster.pk).update(status=Cluster.Status.PENDING)
    assert len(supervisor.streams_supervise(enqueue=enqueue)) == 3


def test_a_403_records_forbidden_with_the_servers_message(sim: Simulator) -> None:
    sim.fault("forbid", rule="list:pods")
    cluster = make_cluster(sim)
    stream = pods_stream(cluster)

    assert slices.slice_run(stream_id=stream.pk, options=SHORT) == "forbidden"

    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.FORBIDDEN
    assert 'cannot list resource "pods"' in cluster.status_message


def test_the_supervisor_enqueues_each_free_stream_once(sim: Simulator) -> None:
    cluster = make_cluster(sim)
    make_cluster(sim, name="off", enabled=False)
    enqueue = Enqueued()

    first = supervisor.streams_supervise(enqueue=enqueue, options={"slice_seconds": 2})
    second = supervisor.streams_supervise(enqueue=enqueue)

    streams = WatchStream.objects.filter(cluster=cluster)
    assert sorted(first) == sorted(streams.values_list("pk", flat=True))
    assert second == []
    assert len(enqueue.calls) == 3
    assert all(options == {"slice_seconds": 2} for _, _, options in enqueue.calls)
    assert {h["status"] for h in stream_health()} == {"queued"}
    # An expired reservation (the message was lost) is re-enqueued on the next beat.
    WatchStream.objects.filter(cluster=cluster, resource="pods").update(
        lease_expires_at="2000-01-01T00:00:00Z"
    )
    assert len(supervisor.streams_supervise(enqueue=enqueue)) == 1


def test_a_broker_failure_when_enqueueing_frees_the_reservation(sim: Simulator) -> None:
    make_cluster(sim)

    def broken(stream_id: int, reservation: str, options: dict[str, Any]) -> None:
        raise ConnectionError("redis is down")

    assert supervisor.streams_supervise(enqueue=broken) == []
    assert set(WatchStream.objects.values_list("lease_owner", flat=True)) == {""}


def test_an_in_cluster_source_outside_a_pod_is_reported_not_retried(sim: Simulator) -> None:
    cluster = Cluster.objects.create(name="incluster", source=Cluster.Source.IN_CLUSTER)
    stream = pods_stream(cluster)

    assert slices.slice_run(stream_id=stream.pk, options=SHORT) == "misconfigured"

    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.ERROR
    assert "Service host/port is not set" in cluster.status_message
    assert supervisor.streams_supervise(enqueue=Enqueued()) == []
