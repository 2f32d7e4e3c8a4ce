"""The official Python client (the ingest side's client) against the simulator."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from lifecycle_dash.kubesim.kubeconfig import write_kubeconfig
from tests.kubesim.simulator import TOKEN


@pytest.fixture
def v1(sim):
    api_client = config.new_client_from_config(config_file=str(sim.kubeconfig))
    yield client.CoreV1Api(api_client)
    api_client.close()


@pytest.fixture
def discovery_v1(sim):
    api_client = config.new_client_from_config(config_file=str(sim.kubeconfig))
    yield client.DiscoveryV1Api(api_client)
    api_client.close()


def raw_get(sim, path: str, accept: str = "application/json", token: str = TOKEN):
    request = urllib.request.Request(
        sim.url + path, headers={"Accept": accept, "Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_list_then_watch_from_the_list_resource_version(sim, v1):
    sim.create_pod("web-1")
    listed = v1.list_namespaced_pod("default")
    assert [p.metadata.name for p in listed.items] == ["web-1"]
    sim.create_pod("web-2")
    sim.call(sim.store.delete, "pods", "default", "web-1")
    stream = watch.Watch().stream(
        v1.list_namespaced_pod,
        "default",
        resource_version=listed.metadata.resource_version,
        timeout_seconds=1,
    )
    seen = [(e["type"], e["object"].metadata.name) for e in stream]
    assert seen == [("ADDED", "web-2"), ("DELETED", "web-1")]


def test_watch_without_resource_version_starts_with_synthetic_added(sim, v1):
    sim.create_pod("web-1")
    sim.create_pod("web-2")
    events = list(watch.Watch().stream(v1.list_pod_for_all_namespaces, timeout_seconds=1))
    assert sorted((e["type"], e["object"].metadata.name) for e in events) == [
        ("ADDED", "web-1"),
        ("ADDED", "web-2"),
    ]


def test_watch_sends_bookmarks_with_the_current_resource_version(sim, v1):
    sim.create_pod("web-1")
    listed = v1.list_namespaced_pod("default")
    events = list(
        watch.Watch().stream(
            v1.list_namespaced_pod,
            "default",
            resource_version=listed.metadata.resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=3,
        )
    )
    bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
    assert len(bookmarks) >= 2
    assert bookmarks[-1]["raw_object"]["metadata"]["resourceVersion"] == str(
        sim.store.resource_version
    )
    assert bookmarks[-1]["raw_object"]["kind"] == "Pod"


def test_send_initial_events_ends_with_an_annotated_bookmark(sim, v1):
    sim.create_pod("web-1")
    response = v1.list_namespaced_pod(
        "default",
        watch=True,
        send_initial_events=True,
        resource_version_match="NotOlderThan",
        allow_watch_bookmarks=True,
        timeout_seconds=1,
        _preload_content=False,
    )
    lines = [json.loads(line) for line in response.read().splitlines() if line]
    assert lines[0]["type"] == "ADDED"
    assert lines[1]["type"] == "BOOKMARK"
    assert lines[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_watch_from_a_compacted_resource_version_is_410(sim, v1):
    sim.create_pod("web-1")
    old = v1.list_namespaced_pod("default").metadata.resource_version
    sim.create_pod("web-2")
    sim.call(sim.server.compact)
    response = v1.list_namespaced_pod(
        "default", watch=True, resource_version=old, timeout_seconds=5, _preload_content=False
    )
    assert response.status == 200
    (line,) = [json.loads(line) for line in response.read().splitlines() if line]
    assert line["type"] == "ERROR"
    status = line["object"]
    assert status["code"] == 410
    assert status["reason"] == "Expired"
    assert status["message"].startswith(f"too old resource version: {old} (")
    with pytest.raises(ApiException) as caught:
        list(
            watch.Watch().stream(
                v1.list_namespaced_pod, "default", resource_version=old, timeout_seconds=5
            )
        )
    assert caught.value.status == 410


def test_delete_with_grace_period_in_the_query(sim, v1):
    sim.create_pod("web-1", node="node-1")
    pod = v1.delete_namespaced_pod("web-1", "default", grace_period_seconds=7)
    assert pod.metadata.deletion_grace_period_seconds == 7
    assert pod.metadata.deletion_timestamp is not None
    assert v1.read_namespaced_pod("web-1", "default").metadata.deletion_grace_period_seconds == 7


def test_delete_with_grace_period_in_a_delete_options_body(sim, v1):
    sim.create_pod("web-1", node="node-1")
    v1.delete_namespaced_pod(
        "web-1", "default", body=client.V1DeleteOptions(grace_period_seconds=3)
    )
    pod = v1.read_namespaced_pod("web-1", "default")
    assert pod.metadata.deletion_grace_period_seconds == 3
    assert pod.metadata.generation == 2


def test_paging_with_limit_and_continue_is_one_consistent_snapshot(sim, v1):
    for i in range(25):
        sim.create_pod(f"web-{i:02d}")
    first = v1.list_namespaced_pod("default", limit=10)
    assert first.metadata.remaining_item_count == 15
    names = [p.metadata.name for p in first.items]
    token = first.metadata._continue
    sim.create_pod("web-99")
    versions = {first.metadata.resource_version}
    while token:
        page = v1.list_namespaced_pod("default", limit=10, _continue=token)
        names += [p.metadata.name for p in page.items]
        versions.add(page.metadata.resource_version)
        token = page.metadata._continue
    assert names == [f"web-{i:02d}" for i in range(25)]
    assert len(versions) == 1


def test_continue_token_expires_after_compaction(sim, v1):
    for i in range(5):
        sim.create_pod(f"web-{i}")
    first = v1.list_namespaced_pod("default", limit=2)
    sim.call(sim.server.compact)
    with pytest.raises(ApiException) as caught:
        v1.list_namespaced_pod("default", limit=2, _continue=first.metadata._continue)
    assert caught.value.status == 410
    assert json.loads(caught.value.body)["reason"] == "Expired"


def test_label_and_field_selectors_filter_lists(sim, v1):
    sim.create_pod("web-1", labels={"app": "web"}, node="node-1")
    sim.create_pod("web-2", labels={"app": "web"}, node="node-2")
    sim.create_pod("api-1", labels={"app": "api", "tier": "back"}, node="node-1")

    def names(**kw):
        return sorted(p.metadata.name for p in v1.list_namespaced_pod("default", **kw).items)

    assert names(label_selector="app=web") == ["web-1", "web-2"]
    assert names(label_selector="app in (api),tier") == ["api-1"]
    assert names(label_selector="app notin (api)") == ["web-1", "web-2"]
    assert names(label_selector="!tier") == ["web-1", "web-2"]
    assert names(field_selector="spec.nodeName=node-1") == ["api-1", "web-1"]
    assert names(field_selector="spec.nodeName!=node-1,metadata.name=web-2") == ["web-2"]
    assert names(label_selector="app=web", field_selector="spec.nodeName=node-2") == ["web-2"]


def test_watch_with_a_field_selector_sees_objects_enter_and_leave(sim, v1):
    sim.create_pod("web-1")
    rv = v1.list_namespaced_pod("default").metadata.resource_version
    sim.modify_pod("web-1", lambda pod: pod["status"].update(phase="Running"))
    sim.modify_pod("web-1", lambda pod: pod["metadata"].update(labels={"x": "y"}))
    sim.modify_pod("web-1", lambda pod: pod["status"].update(phase="Failed"))
    events = watch.Watch().stream(
        v1.list_namespaced_pod,
        "default",
        field_selector="status.phase=Running",
        resource_version=rv,
        timeout_seconds=1,
    )
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]


def test_events_are_filtered_by_involved_object(sim, v1):
    from tests.kubesim.objects import pod_event

    first = sim.create_pod("web-1")
    second = sim.create_pod("web-2")
    for pod in (first, second):
        sim.call(
            sim.store.create,
            "events",
            pod_event(pod, reason="Scheduled", message="assigned", when="2026-03-01T12:00:00Z"),
        )
    uid = first["metadata"]["uid"]
    selected = v1.list_event_for_all_namespaces(
        field_selector=f"involvedObject.kind=Pod,involvedObject.uid={uid}"
    )
    assert [e.involved_object.name for e in selected.items] == ["web-1"]
    by_name = v1.list_namespaced_event("default", field_selector="involvedObject.name=web-2")
    assert [e.involved_object.uid for e in by_name.items] == [second["metadata"]["uid"]]


def test_endpointslices_list_and_watch(sim, discovery_v1):
    from tests.kubesim.objects import endpoint_slice
    from tests.kubesim.simulator import running_status

    sim.create_pod("web-1")
    pod = sim.modify_pod("web-1", lambda p: running_status(p, started="2026-03-01T12:00:00Z"))
    listed = discovery_v1.list_endpoint_slice_for_all_namespaces()
    sim.call(sim.store.create, "endpointslices", endpoint_slice(pod))
    events = list(
        watch.Watch().stream(
            discovery_v1.list_namespaced_endpoint_slice,
            "default",
            resource_version=listed.metadata.resource_version,
            timeout_seconds=1,
        )
    )
    assert [(e["type"], e["object"].endpoints[0].target_ref.uid) for e in events] == [
        ("ADDED", pod["metadata"]["uid"])
    ]


def test_errors_are_kubernetes_status_objects(sim, v1):
    sim.create_pod("web-1")
    cases = [
        (lambda: v1.read_namespaced_pod("missing", "default"), 404, "NotFound"),
        (
            lambda: v1.create_namespaced_pod(
                "default",
                {
                    "metadata": {"name": "web-1"},
                    "spec": {"containers": [{"name": "a", "image": "b"}]},
                },
            ),
            409,
            "AlreadyExists",
        ),
        (
            lambda: v1.create_namespaced_pod("default", {"metadata": {"name": "x"}, "spec": {}}),
            422,
            "Invalid",
        ),
        (
            lambda: v1.list_namespaced_pod("default", field_selector="spec.bogus=1"),
            400,
            "BadRequest",
        ),
        (
            lambda: v1.create_namespaced_pod(
                "nowhere",
                {"metadata": {"name": "x"}, "spec": {"containers": [{"name": "a", "image": "b"}]}},
            ),
            404,
            "NotFound",
        ),
    ]
    for call, code, reason in cases:
        with pytest.raises(ApiException) as caught:
            call()
        assert caught.value.status == code
        body = json.loads(caught.value.body)
        assert (body["kind"], body["code"], body["reason"]) == ("Status", code, reason)


def test_update_with_a_stale_resource_version_is_a_conflict(sim, v1):
    sim.create_pod("web-1")
    pod = v1.read_namespaced_pod("web-1", "default")
    pod.metadata.labels = {"app": "v2"}
    v1.replace_namespaced_pod("web-1", "default", pod)
    pod.metadata.labels = {"app": "v3"}
    with pytest.raises(ApiException) as caught:
        v1.replace_namespaced_pod("web-1", "default", pod)
    assert caught.value.status == 409
    assert json.loads(caught.value.body)["reason"] == "Conflict"


def test_a_wrong_token_is_401(sim, tmp_path):
    wrong = tmp_path / "wrong-kubeconfig"
    write_kubeconfig(wrong, sim.url, "not-the-token")
    api_client = config.new_client_from_config(config_file=str(wrong))
    try:
        with pytest.raises(ApiException) as caught:
            client.CoreV1Api(api_client).list_namespaced_pod("default")
    finally:
        api_client.close()
    assert caught.value.status == 401


def test_forbidden_rules_answer_403(sim, v1):
    sim.call(sim.server.trigger, "forbid", rule="watch:events")
    v1.list_event_for_all_namespaces()
    with pytest.raises(ApiException) as caught:
        list(watch.Watch().stream(v1.list_event_for_all_namespaces, timeout_seconds=1))
    assert caught.value.status == 403
    sim.call(sim.server.trigger, "allow")
    assert list(watch.Watch().stream(v1.list_event_for_all_namespaces, timeout_seconds=1)) == []


def test_table_output_carries_kubectl_columns_and_partial_metadata(sim):
    sim.create_pod("web-1")
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    table = raw_get(sim, "/api/v1/namespaces/default/pods", accept)
    assert table["kind"] == "Table"
    assert table["apiVersion"] == "meta.k8s.io/v1"
    columns = [(c["name"], c["priority"]) for c in table["columnDefinitions"]]
    assert columns == [
        ("Name", 0),
        ("Ready", 0),
        ("Status", 0),
        ("Restarts", 0),
        ("Age", 0),
        ("IP", 1),
        ("Node", 1),
        ("Nominated Node", 1),
        ("Readiness Gates", 1),
    ]
    (row,) = table["rows"]
    assert row["cells"][:4] == ["web-1", "0/1", "Pending", "0"]
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["metadata"]["name"] == "web-1"
    single = raw_get(sim, "/api/v1/namespaces/default/pods/web-1", accept)
    assert single["rows"][0]["cells"][0] == "web-1"


def test_discovery_documents(sim):
    assert raw_get(sim, "/version")["major"] == "1"
    assert raw_get(sim, "/api")["versions"] == ["v1"]
    core = {r["name"] for r in raw_get(sim, "/api/v1")["resources"]}
    assert {"pods", "events", "namespaces"} <= core
    groups = [g["name"] for g in raw_get(sim, "/apis")["groups"]]
    assert "discovery.k8s.io" in groups
    endpoint_resources = raw_get(sim, "/apis/discovery.k8s.io/v1")["resources"]
    assert [r["name"] for r in endpoint_resources] == ["endpointslices"]


def test_eviction_marks_a_disruption_target_then_deletes_gracefully(sim, v1):
    sim.create_pod("web-1", node="node-1")
    eviction = client.V1Eviction(
        metadata=client.V1ObjectMeta(name="web-1", namespace="default"),
        delete_options=client.V1DeleteOptions(grace_period_seconds=4),
    )
    v1.create_namespaced_pod_eviction("web-1", "default", eviction)
    pod = v1.read_namespaced_pod("web-1", "default")
    assert pod.metadata.deletion_grace_period_seconds == 4
    (condition,) = [c for c in pod.status.conditions if c.type == "DisruptionTarget"]
    assert (condition.status, condition.reason) == ("True", "EvictionByEvictionAPI")


def test_a_malformed_body_gets_a_status_not_a_dropped_connection(sim):
    request = urllib.request.Request(
        f"{sim.url}/api/v1/namespaces/default/pods",
        data=b'{"metadata": {"name": "x"}, "spec": {"containers": '
        b'[{"name": "a", "image": "b", "resources": "not-an-object"}]}}',
        method="POST",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    status = json.loads(caught.value.read())
    assert status["kind"] == "Status"
    assert status["code"] in (400, 422, 500)
