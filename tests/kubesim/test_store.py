from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from lifecycle_dash.kubesim.clock import SimClock
from lifecycle_dash.kubesim.errors import ApiError
from lifecycle_dash.kubesim.store import Change, Store, clone
from tests.kubesim.simulator import make_pod

START = datetime(2026, 3, 1, 12, 0, 0, 750_000, tzinfo=UTC)


class Recorder:
    def __init__(self) -> None:
        self.changes: list[Change] = []
        self.lines: list[bytes] = []

    def deliver(self, change: Change) -> None:
        self.changes.append(change)
        self.lines.append(change.line)


@pytest.fixture
def store() -> Store:
    return Store(SimClock(start=START, speed=1.0), history=5)


def test_create_assigns_identity_and_defaults(store):
    pod = store.create("pods", make_pod("web-1"))
    meta = pod["metadata"]
    assert meta["namespace"] == "default"
    assert len(meta["uid"]) == 36
    assert meta["creationTimestamp"] == "2026-03-01T12:00:00Z"
    assert meta["generation"] == 1
    assert int(meta["resourceVersion"]) == store.resource_version
    assert pod["status"]["phase"] == "Pending"
    assert pod["spec"]["terminationGracePeriodSeconds"] == 30


def test_resource_version_is_global_and_monotonic_across_kinds(store):
    a = store.create("pods", make_pod("a"))
    ns = store.create("namespaces", {"metadata": {"name": "team"}})
    b = store.create("pods", make_pod("b", "team"))
    versions = [int(o["metadata"]["resourceVersion"]) for o in (a, ns, b)]
    assert versions == sorted(versions)
    assert len(set(versions)) == 3


def test_duplicate_create_is_already_exists(store):
    store.create("pods", make_pod("web-1"))
    with pytest.raises(ApiError) as caught:
        store.create("pods", make_pod("web-1"))
    assert caught.value.code == 409
    assert caught.value.reason == "AlreadyExists"
    assert caught.value.message == 'pods "web-1" already exists'


def test_generate_name_appends_five_characters(store):
    pod = make_pod("ignored")
    pod["metadata"] = {"generateName": "web-"}
    created = store.create("pods", pod)
    assert created["metadata"]["name"].startswith("web-")
    assert len(created["metadata"]["name"]) == len("web-") + 5


def test_update_with_stale_resource_version_conflicts(store):
    pod = store.create("pods", make_pod("web-1"))
    first = clone(pod)
    first["metadata"]["labels"] = {"app": "v2"}
    store.update("pods", first)
    stale = clone(pod)
    stale["metadata"]["labels"] = {"app": "v3"}
    with pytest.raises(ApiError) as caught:
        store.update("pods", stale)
    assert caught.value.code == 409
    assert caught.value.reason == "Conflict"


def test_update_that_changes_nothing_writes_nothing(store):
    pod = store.create("pods", make_pod("web-1"))
    before = store.resource_version
    store.update("pods", clone(pod))
    assert store.resource_version == before


def test_delete_emits_last_state_with_a_new_resource_version(store):
    store.create("pods", make_pod("web-1"))
    seen: list[tuple[str, str, str]] = []
    store.subscribe(lambda t, k, o: seen.append((t, k, o["metadata"]["resourceVersion"])))
    removed = store.delete("pods", "default", "web-1")
    assert removed is not None
    assert seen == [("DELETED", "pods", str(store.resource_version))]
    assert store.get("pods", "default", "web-1") is None
    assert store.delete("pods", "default", "web-1") is None


def test_get_by_uid_and_namespace_listing(store):
    store.create("namespaces", {"metadata": {"name": "team"}})
    pod = store.create("pods", make_pod("a", "team"))
    store.create("pods", make_pod("b"))
    found = store.get_by_uid(pod["metadata"]["uid"])
    assert found is not None
    assert found[1] is pod
    assert [p["metadata"]["name"] for p in store.list("pods", "team")] == ["a"]
    assert store.count("pods") == 2


def test_watch_replays_changes_after_the_given_version_in_order(store):
    a = store.create("pods", make_pod("a"))
    start = int(a["metadata"]["resourceVersion"])
    store.create("pods", make_pod("b"))
    store.delete("pods", "default", "a")
    recorder = Recorder()
    backlog = store.watch("pods", start, recorder)
    assert [(c.type, c.obj["metadata"]["name"]) for c in backlog] == [
        ("ADDED", "b"),
        ("DELETED", "a"),
    ]
    store.create("pods", make_pod("c"))
    assert [c.obj["metadata"]["name"] for c in recorder.changes] == ["c"]
    store.unwatch("pods", recorder)
    store.create("pods", make_pod("d"))
    assert len(recorder.changes) == 1


def test_watch_line_is_serialized_once_and_shared(store):
    first, second = Recorder(), Recorder()
    store.watch("pods", store.resource_version, first)
    store.watch("pods", store.resource_version, second)
    store.create("pods", make_pod("a"))
    assert first.lines[0] is second.lines[0]
    assert first.lines[0].startswith(b'{"type":"ADDED","object":{')


def test_history_keeps_bytes_and_replays_parse_them_back(store):
    pod = store.create("pods", make_pod("a"))
    start = store.resource_version
    changed = clone(pod)
    changed["metadata"]["labels"] = {"app": "v2"}
    store.update("pods", changed)
    (replayed,) = store.watch("pods", start, Recorder())
    assert replayed.obj["metadata"]["labels"] == {"app": "v2"}
    assert replayed.prev is not None
    assert replayed.prev["metadata"]["labels"] == {"app": "web"}
    assert replayed.line.startswith(b'{"type":"MODIFIED","object":{')


def test_watch_from_before_the_retained_history_is_expired(store):
    first = store.create("pods", make_pod("p0"))
    for i in range(1, 8):
        store.create("pods", make_pod(f"p{i}"))
    with pytest.raises(ApiError) as caught:
        store.watch("pods", int(first["metadata"]["resourceVersion"]), Recorder())
    assert caught.value.code == 410
    assert caught.value.message.startswith("too old resource version: ")


def test_compaction_expires_every_older_version(store):
    pod = store.create("pods", make_pod("a"))
    store.create("pods", make_pod("b"))
    store.compact()
    with pytest.raises(ApiError) as caught:
        store.watch("pods", int(pod["metadata"]["resourceVersion"]), Recorder())
    assert caught.value.code == 410
    assert store.watch("pods", store.resource_version, Recorder()) == []


def test_subscriber_errors_do_not_break_the_store(store):
    def broken(event_type, kind, obj):
        raise RuntimeError("boom")

    store.subscribe(broken)
    assert store.create("pods", make_pod("a"))["metadata"]["name"] == "a"


def test_subscriber_may_write_back_while_notified(store):
    def label_new_pods(event_type, kind, obj):
        if kind == "pods" and event_type == "ADDED":
            pod = clone(obj)
            pod["metadata"]["labels"]["seen"] = "yes"
            store.update("pods", pod)

    store.subscribe(label_new_pods)
    store.create("pods", make_pod("a"))
    assert store.get("pods", "default", "a")["metadata"]["labels"]["seen"] == "yes"


def test_an_in_place_change_to_a_nested_part_is_still_written(store):
    pod = store.create("pods", make_pod("a"))
    before = store.resource_version
    changed = dict(pod)
    changed["metadata"] = dict(pod["metadata"])
    # Deliberately shares and mutates the stored status dict.
    changed["status"]["phase"] = "Running"
    store.update("pods", changed)
    assert store.resource_version == before + 1
    stored = store.get_stored("pods", "default", "a")
    assert stored is not None
    assert orjson.loads(stored.raw)["status"]["phase"] == "Running"
    assert orjson.loads(stored.raw)["metadata"]["resourceVersion"] == str(before + 1)


def test_serialized_form_carries_the_new_resource_version(store):
    pod = store.create("pods", make_pod("a"))
    for label in ("b", "c"):
        changed = clone(pod)
        changed["metadata"]["labels"] = {"app": label}
        pod = store.update("pods", changed)
        stored = store.get_stored("pods", "default", "a")
        assert stored is not None
        assert orjson.loads(stored.raw) == pod
