from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
import pytest
from django.db import Error as DatabaseError
from django.db import connection

from lifecycle_dash.ingest.models import ObservationGap, Pod, Transition, WatchStream
from lifecycle_dash.ingest.processors import LeaseLostError, processor_for
from tests.ingest.conftest import at
from tests.ingest.lifecycles import graceful_lifecycle
from tests.lifecycle import podfactory as f

UID_A = "a0000000-0000-4000-8000-00000000000a"
UID_B = "b0000000-0000-4000-8000-00000000000b"


def feed(processor: Any, events: list[tuple[str, dict[str, Any]]], *, start: float = 0) -> None:
    for i, (event_type, obj) in enumerate(events):
        raw = orjson.dumps(obj)
        processor.handle(
            event_type=event_type,
            obj=orjson.loads(raw),
            raw_size=len(raw),
            received_at=at(start + i),
        )


def transition_keys() -> Counter[str]:
    return Counter(Transition.objects.values_list("key", flat=True))


@pytest.mark.django_db
def test_a_pod_lifecycle_becomes_transitions_and_a_deleted_row(stream_for, publisher) -> None:
    stream = stream_for("pods")
    processor = processor_for(stream=stream, publisher=publisher)
    events = graceful_lifecycle(uid=UID_A, name="web-1")
    feed(processor, events)
    assert processor.pending() == 6
    result = processor.flush(resource_version=None)

    assert result.events == 6
    assert result.resource_version == "105"
    kinds = list(
        Transition.objects.filter(pod_uid=UID_A)
        .order_by("observed_at", "id")
        .values_list("kind", flat=True)
    )
    assert kinds[0] == "pod_created"
    assert "node_assigned" in kinds
    assert "deletion_requested" in kinds
    assert kinds[-1] == "deleted"
    assert result.transitions == len(kinds)
    statuses = list(
        Transition.objects.filter(pod_uid=UID_A, kind="kubectl_status")
        .order_by("observed_at")
        .values_list("new", flat=True)
    )
    assert statuses == ["Pending", "ContainerCreating", "Running", "Terminating", "Completed"]
    pod = Pod.objects.get(uid=UID_A)
    assert (pod.namespace, pod.name, pod.node_name) == ("shop", "web-1", "node-a-1")
    assert pod.deleted_at == at(5)
    assert pod.deletion_source == Pod.DeletionSource.WATCH
    assert pod.deletion_requested_at == f.at(100)
    assert pod.status == "Completed"
    assert pod.owner_kind == "ReplicaSet"
    assert pod.labels == {"app": "web", "pod-template-hash": "7d9f8b6c5"}
    assert f.SECRET_ENV_VALUE not in orjson.dumps(pod.snapshot).decode()
    stream.refresh_from_db()
    assert stream.resource_version == "105"
    assert stream.events_total == 6
    assert stream.last_event_at == at(5)


@pytest.mark.django_db
def test_replaying_committed_events_to_a_reseeded_processor_writes_nothing(
    stream_for, publisher
) -> None:
    stream = stream_for("pods")
    events = graceful_lifecycle(uid=UID_A, name="web-1")[:4]
    first = processor_for(stream=stream, publisher=publisher)
    feed(first, events)
    first.flush(resource_version=None)
    before = transition_keys()

    # A new worker (fresh processor, cache loaded from the database) gets the same events.
    replay = processor_for(stream=stream_for("pods"), publisher=publisher)
    feed(replay, events, start=100)
    result = replay.flush(resource_version=None)

    assert result.transitions == 0
    assert transition_keys() == before
    assert max(before.values()) == 1


@pytest.mark.django_db
def test_a_crash_between_flushes_replays_from_the_checkpoint_without_duplicates(
    stream_for, publisher
) -> None:
    stream = stream_for("pods")
    events = graceful_lifecycle(uid=UID_A, name="web-1") + graceful_lifecycle(
        uid=UID_B, name="web-2", rv=200
    )
    # The reference: everything in one go, in another cluster's stream... compare counts instead.
    first = processor_for(stream=stream, publisher=publisher)
    feed(first, events[:3])
    first.flush(resource_version=None)
    feed(first, events[3:8])  # handled, never flushed: the worker dies here
    committed = WatchStream.objects.get(pk=stream.pk).resource_version
    assert committed == "102"

    second = processor_for(stream=stream_for("pods"), publisher=publisher)
    # The watch side resumes at the checkpoint; a relist-style replay of older events too.
    feed(second, events, start=50)
    second.flush(resource_version=None)

    keys = transition_keys()
    assert max(keys.values()) == 1
    assert sum(1 for k in keys if k.endswith("|deleted||")) == 2
    assert Pod.objects.filter(deleted_at__isnull=False).count() == 2


@pytest.mark.django_db
def test_a_relist_records_missed_deletions_with_bounds_and_a_gap(stream_for, publisher) -> None:
    stream = stream_for("pods")
    processor = processor_for(stream=stream, publisher=publisher)
    processor.begin_relist(started_at=at(0), reason="initial list")
    feed(processor, [("ADDED", f.running_pod(uid=UID_A, name="web-1", resource_version="10"))])
    feed(processor, [("ADDED", f.running_pod(uid=UID_B, name="web-2", resource_version="11"))])
    processor.end_relist(list_resource_version="20", finished_at=at(2))
    processor.flush(resource_version="20")
    assert ObservationGap.objects.count() == 0  # a first list follows no observation

    feed(
        processor,
        [("MODIFIED", f.crashloop_pod(uid=UID_B, name="web-2", resource_version="21"))],
        start=10,
    )
    processor.flush(resource_version=None)
    checkpoint_at = WatchStream.objects.get(pk=stream.pk).checkpoint_at
    assert checkpoint_at == at(10)

    # 410 Gone: web-1 was deleted while we were not looking; web-2 unchanged.
    processor.begin_relist(started_at=at(60), reason="410 Gone")
    feed(
        processor,
        [("ADDED", f.crashloop_pod(uid=UID_B, name="web-2", resource_version="21"))],
        start=61,
    )
    processor.end_relist(list_resource_version="40", finished_at=at(62))
    result = processor.flush(resource_version="40")

    assert result.gaps == 1
    gap = ObservationGap.objects.get()
    assert (gap.started_at, gap.ended_at, gap.resource) == (at(10), at(62), "pods")
    assert "410 Gone" in gap.reason
    gone = Pod.objects.get(uid=UID_A)
    assert gone.deletion_source == Pod.DeletionSource.RELIST
    assert (gone.deleted_not_before, gone.deleted_at) == (at(10), at(62))
    deleted = Transition.objects.get(pod_uid=UID_A, kind="deleted")
    assert deleted.detail["observed_by"] == "relist"
    assert deleted.detail["final_state_known"] is False
    assert Pod.objects.get(uid=UID_B).deleted_at is None
    assert result.transitions == 1  # only the deletion: web-2's relisted version is known
    assert WatchStream.objects.get(pk=stream.pk).resource_version == "40"


@pytest.mark.django_db
def test_a_relist_ending_mid_batch_sees_the_pods_as_of_its_end(stream_for, publisher) -> None:
    """Known pods are diffed as they are handled, new ones when the batch is taken: the
    reconciliation must still see exactly what came before the list's end, in order."""
    uid_c = "c0000000-0000-4000-8000-00000000000c"
    stream = stream_for("pods")
    processor = processor_for(stream=stream, publisher=publisher)
    feed(
        processor,
        [
            ("ADDED", f.running_pod(uid=UID_A, name="web-1", resource_version="10")),
            ("ADDED", f.running_pod(uid=UID_B, name="web-2", resource_version="11")),
        ],
    )
    processor.flush(resource_version=None)

    # One batch: a change of a known pod, a relist that no longer has web-1, then a pod
    # created after the list and web-2 changing again.
    feed(
        processor,
        [("MODIFIED", f.crashloop_pod(uid=UID_B, name="web-2", resource_version="21"))],
        start=10,
    )
    processor.begin_relist(started_at=at(20), reason="410 Gone")
    feed(
        processor,
        [("ADDED", f.crashloop_pod(uid=UID_B, name="web-2", resource_version="21"))],
        start=21,
    )
    processor.end_relist(list_resource_version="30", finished_at=at(22))
    feed(
        processor,
        [
            ("ADDED", f.running_pod(uid=uid_c, name="web-3", resource_version="31")),
            ("MODIFIED", f.running_pod(uid=UID_B, name="web-2", resource_version="32")),
        ],
        start=23,
    )
    processor.flush(resource_version="32")

    assert Pod.objects.get(uid=UID_A).deletion_source == Pod.DeletionSource.RELIST
    assert Pod.objects.get(uid=uid_c).deleted_at is None
    assert not Transition.objects.filter(pod_uid=uid_c, kind="deleted").exists()
    assert Pod.objects.get(uid=UID_B).deleted_at is None
    statuses = list(
        Transition.objects.filter(pod_uid=UID_B, kind="kubectl_status")
        .order_by("observed_at")
        .values_list("new", flat=True)
    )
    assert statuses[-2:] == ["CrashLoopBackOff", "Running"]
    assert max(transition_keys().values()) == 1
    assert Pod.objects.get(uid=UID_B).resource_version == "32"


@pytest.mark.django_db
def test_bad_input_is_counted_and_the_rest_of_the_batch_is_kept(stream_for, publisher) -> None:
    stream = stream_for("pods")
    processor = processor_for(stream=stream, publisher=publisher)
    good = f.running_pod(uid=UID_A, name="web-1", resource_version="10")
    wrong_types = f.running_pod(uid=UID_B, name="web-2", resource_version="11")
    wrong_types["status"]["containerStatuses"] = "not a list"
    wrong_types["status"]["unknownField"] = {"x": 1}
    no_uid = f.running_pod(name="web-3", resource_version="12")
    del no_uid["metadata"]["uid"]
    huge = f.running_pod(uid="c0000000-0000-4000-8000-00000000000c", resource_version="13")
    huge["metadata"]["annotations"]["blob"] = "x" * 1_600_000
    nul = f.running_pod(uid="d0000000-0000-4000-8000-00000000000d", resource_version="14")
    nul["status"]["message"] = "evil\x00message"
    nul["status"]["reason"] = "Odd\x00"
    feed(processor, [("ADDED", good), ("ADDED", wrong_types), ("ADDED", no_uid)])
    processor.handle(event_type="ADDED", obj=[1, 2], raw_size=5, received_at=at(3))  # type: ignore[arg-type]
    processor.handle(event_type="WEIRD", obj=good, raw_size=10, received_at=at(4))
    processor.handle(event_type="ADDED", obj=huge, raw_size=1_700_000, received_at=at(5))
    processor.handle(event_type="ADDED", obj=nul, raw_size=3000, received_at=at(6))
    processor.bad_line(error="unexpected character", raw_prefix=b'{"type": "ADD', received_at=at(7))
    processor.flush(resource_version=None)

    stream.refresh_from_db()
    assert stream.bad_input == {
        "malformed_fields": 1,
        "missing_uid": 1,
        "not_an_object": 1,
        "unknown_event_type": 1,
        "oversized": 1,
        "unparseable": 1,
    }
    uids = set(Pod.objects.values_list("uid", flat=True))
    assert uids == {
        UID_A,
        UID_B,
        "c0000000-0000-4000-8000-00000000000c",
        "d0000000-0000-4000-8000-00000000000d",
    }
    assert "\x00" not in Pod.objects.get(uid="d0000000-0000-4000-8000-00000000000d").status


@pytest.mark.django_db
def test_a_failed_flush_writes_nothing_and_the_replay_diffs_against_the_database(
    stream_for, publisher
) -> None:
    stream = stream_for("pods")
    processor = processor_for(stream=stream, publisher=publisher)
    events = graceful_lifecycle(uid=UID_A, name="web-1")
    feed(processor, events[:2])
    processor.flush(resource_version=None)
    committed = transition_keys()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # deferred FK checks block ALTER
        cursor.execute(
            "ALTER TABLE ingest_pod ADD CONSTRAINT test_poison CHECK (status <> 'Terminating')"
        )
    feed(processor, events[2:4], start=10)  # Running, then Terminating: the upsert fails
    with pytest.raises(Exception, match="test_poison"):
        processor.flush(resource_version=None)

    assert transition_keys() == committed  # the COPY before the failing upsert rolled back
    assert WatchStream.objects.get(pk=stream.pk).resource_version == "101"
    assert processor.pending() == 0
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE ingest_pod DROP CONSTRAINT test_poison")
    # The watch side replays from the checkpoint into the same processor.
    feed(processor, events[2:], start=20)
    processor.flush(resource_version=None)
    keys = transition_keys()
    assert max(keys.values()) == 1
    assert Pod.objects.get(uid=UID_A).deleted_at == at(23)
    assert WatchStream.objects.get(pk=stream.pk).resource_version == "105"


@pytest.mark.django_db
def test_a_worker_that_lost_its_lease_writes_nothing(stream_for, publisher) -> None:
    WatchStream.objects.update(lease_owner="worker-1")
    stream = stream_for("pods")
    stream.lease_owner = "worker-1"
    stream.save(update_fields=["lease_owner"])
    processor = processor_for(stream=stream_for("pods"), publisher=publisher)
    WatchStream.objects.filter(pk=stream.pk).update(lease_owner="worker-2")
    feed(processor, graceful_lifecycle(uid=UID_A, name="web-1"))
    with pytest.raises(LeaseLostError):
        processor.flush(resource_version=None)
    assert not Pod.objects.exists()
    assert not Transition.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_connection_dropped_mid_flush_loses_nothing_and_the_next_flush_reconnects(
    stream_for, publisher
) -> None:
    stream = stream_for("pods")
    processor = processor_for(stream=stream, publisher=publisher)
    events = graceful_lifecycle(uid=UID_A, name="web-1")
    feed(processor, events[:2])
    processor.flush(resource_version=None)
    committed = transition_keys()
    # The server kills the session while the pod upsert runs, after the transitions COPY.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_drop_session() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.status = 'Terminating' THEN PERFORM pg_terminate_backend(pg_backend_pid()); "
            "END IF; RETURN NEW; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER test_drop_session BEFORE INSERT ON ingest_pod "
            "FOR EACH ROW EXECUTE FUNCTION test_drop_session()"
        )
    try:
        feed(processor, events[2:4], start=10)
        # django.db.Error is what the watch side treats as "storage trouble".
        with pytest.raises(DatabaseError):
            processor.flush(resource_version=None)
        assert transition_keys() == committed
        assert WatchStream.objects.get(pk=stream.pk).resource_version == "101"
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER test_drop_session ON ingest_pod")
            cursor.execute("DROP FUNCTION test_drop_session()")
    feed(processor, events[2:], start=20)
    processor.flush(resource_version=None)
    assert max(transition_keys().values()) == 1
    assert Pod.objects.get(uid=UID_A).deleted_at is not None
    assert WatchStream.objects.get(pk=stream.pk).resource_version == "105"


@pytest.mark.django_db
def test_an_absurd_restart_count_is_a_problem_not_a_stuck_stream(stream_for, publisher) -> None:
    # restartCount is an int32 in the API; larger values once made the whole flush fail.
    stream = stream_for("pods")
    processor = processor_for(stream=stream, publisher=publisher)
    over_int32 = f.crashloop_pod(uid=UID_A, name="web-1")
    over_int32["status"]["containerStatuses"][0]["restartCount"] = 2**31
    far_over_int32 = f.crashloop_pod(uid=UID_B, name="web-2")
    far_over_int32["status"]["containerStatuses"][0]["restartCount"] = 2**40
    feed(processor, [("ADDED", over_int32), ("ADDED", far_over_int32)])
    processor.flush(resource_version=None)

    assert sorted(Pod.objects.values_list("restarts", flat=True)) == [2**31 - 1, 2**31 - 1]
    stream.refresh_from_db()
    assert stream.bad_input == {"malformed_fields": 2}
