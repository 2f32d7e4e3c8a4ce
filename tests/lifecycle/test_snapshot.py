"""snapshot_from_pod: what it keeps, what it never keeps, and how it survives bad input."""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lifecycle_dash.lifecycle import (
    ContainerRole,
    Hook,
    HookKind,
    PodSnapshot,
    Probe,
    ProbeMechanism,
    StateKind,
    parse_rfc3339,
    snapshot_from_pod,
)
from lifecycle_dash.lifecycle.snapshot import MAX_ITEMS, MAX_STRING
from tests.lifecycle import podfactory as f


def _all_values(obj: object):
    """Every scalar reachable from a snapshot (fields of nested dataclasses, tuples)."""
    if dataclasses.is_dataclass(obj):
        for field in dataclasses.fields(obj):
            yield from _all_values(getattr(obj, field.name))
    elif isinstance(obj, tuple):
        for item in obj:
            yield from _all_values(item)
    else:
        yield obj


def test_it_reads_identity_and_status_of_a_running_pod():
    snap = snapshot_from_pod(f.running_pod())
    assert snap.uid == "3f1e6a52-8c1b-4d7e-9a0f-2b4c6d8e0f11"
    assert (snap.namespace, snap.name) == ("shop", "web-7d9f8b6c5-x2x4q")
    assert (snap.owner_kind, snap.owner_name) == ("ReplicaSet", "web-7d9f8b6c5")
    assert snap.node_name == "node-a-1"
    assert snap.pod_ips == ("10.244.1.17",)
    assert snap.pod_ip == "10.244.1.17"
    assert snap.qos_class == "Burstable"
    assert snap.labels == (("app", "web"), ("pod-template-hash", "7d9f8b6c5"))
    assert snap.labels_dict() == {"app": "web", "pod-template-hash": "7d9f8b6c5"}
    assert snap.resource_version == "1000"
    assert snap.creation_timestamp == f.T0
    assert snap.phase == "Running"
    assert snap.restart_policy == "Always"
    assert snap.termination_grace_period_seconds == 30
    assert snap.deletion_timestamp is None
    assert snap.deletion_requested_at is None
    assert snap.problems == ()
    ready = snap.condition("Ready")
    assert ready is not None
    assert (ready.status, ready.last_transition_time) == ("True", f.at(6))
    (app,) = snap.container_statuses
    assert app.role is ContainerRole.REGULAR
    assert app.state.kind is StateKind.RUNNING
    assert app.state.running is not None
    assert app.state.running.started_at == f.at(5)
    assert (app.ready, app.started, app.restart_count) == (True, True, 0)
    assert app.container_id == "containerd://4f3c2b1a0099"
    assert app.image == "registry.example.com/team/app:1.4.2"
    assert app.image_id.startswith("registry.example.com/team/app@sha256:")


def test_snapshot_is_immutable_and_hashable():
    snap = snapshot_from_pod(f.sidecar_pod())
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.phase = "Failed"  # type: ignore[misc]
    assert not hasattr(snap, "__dict__")
    assert hash(snap) == hash(snapshot_from_pod(f.sidecar_pod()))
    for value in _all_values(snap):
        assert not isinstance(value, list | dict | set)


def test_same_input_same_snapshot():
    assert snapshot_from_pod(f.crashloop_pod()) == snapshot_from_pod(f.crashloop_pod())


def test_controller_owner_is_the_one_with_controller_true():
    raw = f.running_pod()
    raw["metadata"]["ownerReferences"].insert(
        0, {"apiVersion": "v1", "kind": "ConfigMap", "name": "not-me", "uid": "x"}
    )
    snap = snapshot_from_pod(raw)
    assert (snap.owner_kind, snap.owner_name) == ("ReplicaSet", "web-7d9f8b6c5")
    assert snapshot_from_pod(f.pod(owner=None)).owner_kind == ""


def test_pod_ip_falls_back_to_singular_pod_ip():
    raw = f.running_pod()
    del raw["status"]["podIPs"]
    assert snapshot_from_pod(raw).pod_ips == ("10.244.1.17",)


def test_dual_stack_ips_keep_their_order():
    snap = snapshot_from_pod(f.pod(pod_ips=("10.244.1.17", "fd00::17")))
    assert snap.pod_ips == ("10.244.1.17", "fd00::17")


def test_sidecars_are_init_statuses_with_role_sidecar():
    snap = snapshot_from_pod(f.sidecar_pod())
    assert [(s.name, s.role) for s in snap.init_container_statuses] == [
        ("init-db", ContainerRole.INIT),
        ("istio-proxy", ContainerRole.SIDECAR),
    ]
    assert [s.name for s in snap.sidecar_statuses] == ["istio-proxy"]
    assert [s.name for s in snap.all_container_statuses] == ["init-db", "istio-proxy", "app"]
    assert [(c.name, c.role) for c in snap.init_containers] == [
        ("init-db", ContainerRole.INIT),
        ("istio-proxy", ContainerRole.SIDECAR),
    ]
    spec = snap.container_spec("istio-proxy")
    assert spec is not None
    assert spec.restart_policy == "Always"
    status = snap.container_status("app")
    assert status is not None
    assert status.role is ContainerRole.REGULAR


def test_init_status_with_no_spec_entry_is_plain_init():
    raw = f.sidecar_pod()
    raw["status"]["initContainerStatuses"].append(f.running("ghost"))
    assert snapshot_from_pod(raw).init_container_statuses[-1].role is ContainerRole.INIT


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (f.sleep_hook(7), Hook(HookKind.SLEEP, 7)),
        (f.exec_hook("sleep", "15"), Hook(HookKind.EXEC, 15)),
        (f.exec_hook("sh", "-c", "sleep 20"), Hook(HookKind.EXEC, 20)),
        (f.exec_hook("/bin/sh", "-c", "sleep 3"), Hook(HookKind.EXEC, 3)),
        (f.exec_hook("sh", "-c", "sleep 20 && kill 1"), Hook(HookKind.EXEC, None)),
        (f.exec_hook("sleep", "infinity"), Hook(HookKind.EXEC, None)),
        (f.exec_hook("sleep", "1.5"), Hook(HookKind.EXEC, None)),
        (f.exec_hook(), Hook(HookKind.EXEC, None)),
        (f.http_hook(), Hook(HookKind.HTTP_GET)),
        ({"tcpSocket": {"port": 80}}, Hook(HookKind.TCP_SOCKET)),
        ({"somethingNew": {}}, Hook(HookKind.UNKNOWN)),
    ],
)
def test_hook_kind_and_sleep_seconds(handler, expected):
    raw = f.pod(containers=[f.container("app", pre_stop=handler, post_start=handler)])
    (spec,) = snapshot_from_pod(raw).containers
    assert spec.pre_stop == expected
    assert spec.post_start == expected


def test_probes_keep_mechanism_and_timing_with_api_defaults():
    raw = f.pod(
        containers=[
            f.container(
                "app",
                liveness=f.exec_probe(periodSeconds=5, terminationGracePeriodSeconds=3),
                readiness={"grpc": {"port": 9090}},
                startup=f.tcp_probe(failureThreshold=30, initialDelaySeconds=2),
            )
        ]
    )
    (spec,) = snapshot_from_pod(raw).containers
    assert spec.liveness_probe == Probe(
        ProbeMechanism.EXEC, period_seconds=5, termination_grace_period_seconds=3
    )
    assert spec.readiness_probe == Probe(ProbeMechanism.GRPC)
    assert spec.startup_probe == Probe(
        ProbeMechanism.TCP_SOCKET, initial_delay_seconds=2, failure_threshold=30
    )
    assert Probe(ProbeMechanism.HTTP_GET) == Probe(ProbeMechanism.HTTP_GET, 0, 10, 1, 3, 1, None)


def test_container_without_probes_or_hooks():
    (spec,) = snapshot_from_pod(f.pod(containers=[f.container("app", probes=False)])).containers
    assert (spec.liveness_probe, spec.readiness_probe, spec.startup_probe) == (None, None, None)
    assert (spec.pre_stop, spec.post_start) == (None, None)


def test_terminated_state_and_last_state_keep_every_field():
    raw = f.pod(
        container_statuses=[
            f.terminated(
                "app",
                137,
                reason="OOMKilled",
                signal=9,
                started_at=10,
                finished_at=70,
                restart_count=2,
                last_terminated=f.term(143, started=1, finished=9, message="bye"),
            )
        ]
    )
    (status,) = snapshot_from_pod(raw).container_statuses
    term = status.state.terminated
    assert term is not None
    assert (term.exit_code, term.signal, term.reason) == (137, 9, "OOMKilled")
    assert (term.started_at, term.finished_at) == (f.at(10), f.at(70))
    assert term.container_id == "containerd://4f3c2b1a0099"
    last = status.last_state.terminated
    assert last is not None
    assert (last.exit_code, last.reason, last.message, last.finished_at) == (
        143,
        "Error",
        "bye",
        f.at(9),
    )
    assert status.restart_count == 2


def test_waiting_state_and_empty_state():
    raw = f.pod(
        containers=[f.container("a"), f.container("b")],
        container_statuses=[
            f.waiting("a", "ImagePullBackOff", message='Back-off pulling image "x"'),
            f.no_state("b"),
        ],
    )
    a, b = snapshot_from_pod(raw).container_statuses
    assert a.state.waiting is not None
    assert (a.state.waiting.reason, a.state.waiting.message) == (
        "ImagePullBackOff",
        'Back-off pulling image "x"',
    )
    assert b.state.is_empty
    assert b.state.kind is StateKind.WAITING
    assert b.started is False


def test_deletion_fields_and_derived_request_time():
    snap = snapshot_from_pod(f.terminating_pod(requested=100, grace=30))
    assert snap.deletion_timestamp == f.at(130)
    assert snap.deletion_grace_period_seconds == 30
    assert snap.deletion_requested_at == f.at(100)
    # grace shortened later: deletionTimestamp - grace still gives the original request
    shortened = snapshot_from_pod(f.pod(deletion_timestamp=105, deletion_grace=5))
    assert shortened.deletion_requested_at == f.at(100)


def test_readiness_gates_nominated_node_and_reason():
    snap = snapshot_from_pod(
        f.pod(
            readiness_gates=("example.com/lb",),
            nominated_node="node-b",
            phase="Failed",
            reason="Evicted",
            message="The node was low on resource: memory.",
        )
    )
    assert snap.readiness_gates == ("example.com/lb",)
    assert snap.nominated_node_name == "node-b"
    assert (snap.reason, snap.message) == ("Evicted", "The node was low on resource: memory.")


# --- redaction -----------------------------------------------------------------------------


def _pod_full_of_secrets() -> dict[str, Any]:
    raw = f.sidecar_pod(
        containers=[
            f.container(
                "app",
                liveness=f.exec_probe(),
                readiness=f.exec_probe(),
                startup=f.exec_probe(),
                pre_stop=f.exec_hook(),
                post_start=f.exec_hook(),
            )
        ]
    )
    raw["spec"]["imagePullSecrets"] = [{"name": f.SECRET_NAME}]
    raw["spec"]["ephemeralContainers"] = [f.container("debug")]
    return raw


def test_secrets_never_enter_the_snapshot():
    raw = _pod_full_of_secrets()
    dumped = json.dumps(raw)
    for secret in f.SECRETS:
        assert secret in dumped, f"the factory should plant {secret!r}"
    snap = snapshot_from_pod(raw)
    text = repr(snap)
    for secret in f.SECRETS:
        assert secret not in text
    for value in _all_values(snap):
        if isinstance(value, str):
            for secret in f.SECRETS:
                assert secret not in value


def test_annotations_are_not_kept():
    snap = snapshot_from_pod(f.running_pod())
    assert not any(
        "annotation" in field.name or "env" in field.name
        for field in dataclasses.fields(PodSnapshot)
    )
    assert "checksum/config" not in repr(snap)


# --- timestamps -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)),
        ("2024-05-01T12:00:00.5Z", datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=UTC)),
        ("2024-05-01T12:00:00.123456Z", datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)),
        ("2024-05-01T12:00:00.123456789Z", datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)),
        ("2024-05-01T14:00:00+02:00", datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)),
        ("2024-05-01T07:30:00-04:30", datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)),
        ("2024-05-01t12:00:00z", datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)),
        ("2024-05-01 12:00:00+00:00", datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", datetime(2017, 1, 1, 0, 0, 0, tzinfo=UTC)),
    ],
)
def test_rfc3339_to_aware_utc(text, expected):
    parsed = parse_rfc3339(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2024-05-01",
        "2024-05-01T12:00:00",
        "2024-13-01T00:00:00Z",
        "2024-05-01T12:00:00+25:00",
    ],
)
def test_rfc3339_rejects_garbage(text):
    with pytest.raises(ValueError):  # noqa: PT011
        parse_rfc3339(text)


def test_snapshot_times_are_aware_utc_even_from_offsets():
    raw = f.running_pod()
    raw["metadata"]["creationTimestamp"] = "2024-05-01T14:00:00.25+02:00"
    snap = snapshot_from_pod(raw)
    assert snap.creation_timestamp == datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)
    assert snap.creation_timestamp.utcoffset() == timedelta(0)
    assert snap.creation_timestamp.tzinfo is UTC


# --- malformed input ------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [None, [], "pod", 42, b"{}"])
def test_non_object_pod(raw):
    snap = snapshot_from_pod(raw)
    assert snap.uid == ""
    assert snap.problems
    assert "pod" in snap.problems[0]


def test_empty_object_names_the_missing_fields():
    snap = snapshot_from_pod({})
    assert snap == PodSnapshot(uid="", problems=snap.problems)
    assert any("metadata" in p for p in snap.problems)


def _mangle(path: list[Any], value: object) -> dict[str, Any]:
    raw = f.sidecar_pod()
    target = raw
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return raw


@pytest.mark.parametrize(
    ("path", "value", "field_named"),
    [
        (["metadata"], "nope", "metadata"),
        (["metadata", "uid"], 12, "metadata.uid"),
        (["metadata", "creationTimestamp"], "yesterday", "metadata.creationTimestamp"),
        (["metadata", "creationTimestamp"], 1714564800, "metadata.creationTimestamp"),
        (["metadata", "deletionGracePeriodSeconds"], "30", "metadata.deletionGracePeriodSeconds"),
        (["metadata", "labels"], ["a"], "metadata.labels"),
        (["metadata", "ownerReferences"], {"kind": "x"}, "metadata.ownerReferences"),
        (["spec"], [], "spec"),
        (["spec", "containers"], {"name": "app"}, "spec.containers"),
        (["spec", "containers", 0], "app", "spec.containers[0]"),
        (["spec", "containers", 0, "livenessProbe"], "yes", "spec.containers[0].livenessProbe"),
        (
            ["spec", "containers", 0, "livenessProbe", "periodSeconds"],
            "10s",
            "spec.containers[0].livenessProbe.periodSeconds",
        ),
        (["spec", "containers", 0, "lifecycle"], 5, "spec.containers[0].lifecycle"),
        (["spec", "terminationGracePeriodSeconds"], 1.5, "spec.terminationGracePeriodSeconds"),
        (["spec", "readinessGates"], [{"x": 1}], "spec.readinessGates[0]"),
        (["status"], "Running", "status"),
        (["status", "phase"], 3, "status.phase"),
        (["status", "conditions"], [None], "status.conditions[0]"),
        (
            ["status", "conditions", 0, "lastTransitionTime"],
            "2024-99-01T00:00:00Z",
            "status.conditions[0].lastTransitionTime",
        ),
        (["status", "containerStatuses", 0, "restartCount"], "3", "restartCount"),
        (["status", "containerStatuses", 0, "restartCount"], -4, "restartCount"),
        (["status", "containerStatuses", 0, "ready"], "true", "ready"),
        (["status", "containerStatuses", 0, "state"], "running", "state"),
        (["status", "containerStatuses", 0, "state", "running"], 1, "state.running"),
        (
            ["status", "containerStatuses", 0, "state", "running", "startedAt"],
            "soon",
            "state.running.startedAt",
        ),
        (["status", "initContainerStatuses"], "all good", "status.initContainerStatuses"),
        (["status", "podIPs"], [{"ip": 10}], "status.podIPs[0]"),
    ],
)
def test_malformed_fields_become_problems_naming_the_field(path, value, field_named):
    snap = snapshot_from_pod(_mangle(path, value))
    assert any(field_named in p for p in snap.problems), snap.problems
    # what could be read is still there
    if path[0] != "metadata":
        assert snap.uid == "3f1e6a52-8c1b-4d7e-9a0f-2b4c6d8e0f11"


def test_two_states_at_once_is_a_problem_but_readable():
    raw = f.running_pod()
    raw["status"]["containerStatuses"][0]["state"]["waiting"] = {"reason": "Odd"}
    (status,) = snapshot_from_pod(raw).container_statuses
    assert status.state.kind is StateKind.RUNNING
    assert any("more than one" in p for p in snapshot_from_pod(raw).problems)


def test_huge_object_is_bounded():
    raw = f.running_pod()
    raw["metadata"]["labels"] = {f"k{i}": "v" for i in range(5000)}
    raw["status"]["conditions"] = [f.condition(f"c{i}") for i in range(10000)]
    raw["status"]["message"] = "x" * 1_000_000
    raw["metadata"]["annotations"]["big"] = "y" * 5_000_000
    raw["metadata"]["labels"]["huge"] = "z" * 1_000_000
    raw["status"]["podIPs"] = [{"ip": "1" * 1_000_000}]
    snap = snapshot_from_pod(raw)
    assert len(snap.labels) == 256
    assert len(snap.conditions) == MAX_ITEMS
    assert len(snap.message) == MAX_STRING
    assert len(snap.problems) >= 3
    assert len(repr(snap)) < 200_000


def test_problem_list_is_bounded():
    raw = f.running_pod()
    raw["status"]["conditions"] = [None] * 200
    snap = snapshot_from_pod(raw)
    assert len(snap.problems) <= 65


def test_input_is_not_mutated():
    raw = f.sidecar_pod()
    before = copy.deepcopy(raw)
    snapshot_from_pod(raw)
    assert raw == before
