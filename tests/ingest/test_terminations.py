from __future__ import annotations

from typing import Any

import pytest

from lifecycle_dash.ingest.models import Cluster, StartupRecord, TerminationRecord, WatchStream
from lifecycle_dash.ingest.processors import processor_for
from tests.ingest.conftest import at
from tests.ingest.lifecycles import graceful_lifecycle
from tests.ingest.test_event_processor import k8s_event

UID = "a0000000-0000-4000-8000-00000000000a"


@pytest.mark.django_db
def test_a_deleted_pod_gets_a_termination_record_refined_by_later_evidence(
    stream_for, publisher
) -> None:
    pods = processor_for(stream=stream_for("pods"), publisher=publisher)
    for i, (kind, obj) in enumerate(graceful_lifecycle(uid=UID, name="web-1")):
        pods.handle(event_type=kind, obj=obj, raw_size=3000, received_at=at(i))
    assert pods.flush(resource_version=None).terminations == 1
    record = TerminationRecord.objects.get(pod_uid=UID)
    assert record.cause == "api_delete"
    assert record.analysis["deletion_requested"]["rule"].startswith("api:")
    assert record.verdicts == ["app:clean_exit"]
    container = record.analysis["containers"][0]
    assert container["kill_started"]["at"] is None

    # The kubelet's Killing event arrives on the events stream: the record is recomputed.
    events = processor_for(stream=stream_for("events"), publisher=publisher)
    killing = k8s_event(count=1, last=101, rv="50", uid="k1", reason="Killing")
    killing["involvedObject"]["uid"] = UID
    killing["message"] = "Stopping container app"
    killing["type"] = "Normal"
    events.handle(event_type="ADDED", obj=killing, raw_size=900, received_at=at(10))
    assert events.flush(resource_version=None).terminations == 1
    record.refresh_from_db()
    assert record.analysis["containers"][0]["kill_started"]["at"] == "2024-05-01T12:01:41+00:00"


@pytest.mark.django_db
def test_a_pod_that_ran_gets_a_startup_record_with_the_sli(stream_for, publisher) -> None:
    pods = processor_for(stream=stream_for("pods"), publisher=publisher)
    for i, (kind, obj) in enumerate(graceful_lifecycle(uid=UID, name="web-1")[:3]):
        pods.handle(event_type=kind, obj=obj, raw_size=3000, received_at=at(i))
    assert pods.flush(resource_version=None).startups == 1
    record = StartupRecord.objects.get(pod_uid=UID)
    assert record.pod_created_at is not None
    assert record.analysis["running_observed"]["at"] == at(2).isoformat()
    assert record.analysis["api_sli"]["variant"] == "api"


def _records(cluster_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    termination = TerminationRecord.objects.get(cluster_id=cluster_id, pod_uid=UID)
    startup = StartupRecord.objects.get(cluster_id=cluster_id, pod_uid=UID)
    return termination.analysis, startup.analysis


@pytest.mark.django_db
def test_records_are_the_same_whether_the_history_is_in_one_batch_or_read_back(
    publisher,
) -> None:
    # One batch: the processor analyses the history it holds. One batch per event: it reads
    # the earlier transitions back from the database. Both must read the same history.
    lifecycle = graceful_lifecycle(uid=UID, name="web-1")
    results = []
    for name, per_event in (("one-batch", False), ("per-event", True)):
        cluster = Cluster.objects.create(name=name, source=Cluster.Source.SIMULATOR)
        stream = WatchStream.objects.create(cluster=cluster, resource="pods")
        pods = processor_for(
            stream=WatchStream.objects.select_related("cluster").get(pk=stream.pk),
            publisher=publisher,
        )
        for i, (kind, obj) in enumerate(lifecycle):
            pods.handle(event_type=kind, obj=obj, raw_size=3000, received_at=at(i))
            if per_event:
                pods.flush(resource_version=None)
        pods.flush(resource_version=None)
        results.append(_records(cluster.pk))
    (one_termination, one_startup), (each_termination, each_startup) = results
    assert one_termination == each_termination
    # The startup record is computed from the snapshot of the batch that first saw Ready, so
    # only the parts that come from the transitions compare.
    for part in ("created", "running_observed", "ready_observed"):
        assert one_startup[part] == each_startup[part]
    assert one_startup["ready_observed"]["at"] is not None
