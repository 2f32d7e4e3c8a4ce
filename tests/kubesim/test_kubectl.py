"""Real kubectl against the simulator: what an SRE would type must work unchanged."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from lifecycle_dash.kubesim.clock import format_time, parse_time
from tests.kubesim.objects import endpoint_slice, pod_event
from tests.kubesim.simulator import make_pod, running_status

KUBECTL = "/usr/bin/kubectl"

pytestmark = pytest.mark.slow


def kubectl(env, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [KUBECTL, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.strip().splitlines()[1:]]


@pytest.fixture
def running_pod(sim):
    sim.create_pod("web-1")
    started = format_time(sim.clock.now())
    return sim.modify_pod("web-1", lambda pod: running_status(pod, started=started))


def test_get_pods_all_namespaces_shows_kubectl_status(sim, kubectl_env, running_pod):
    sim.call(sim.store.create, "namespaces", {"metadata": {"name": "shop"}})
    sim.create_pod("pending-1", "shop")
    sim.create_pod("leaving-1", node="node-1")
    sim.modify_pod(
        "leaving-1",
        lambda pod: pod["metadata"].update(
            deletionTimestamp=format_time(sim.clock.now() + timedelta(seconds=30)),
            deletionGracePeriodSeconds=30,
        ),
    )
    output = kubectl(kubectl_env, "get", "pods", "-A").stdout
    assert output.splitlines()[0].split() == [
        "NAMESPACE",
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
    ]
    by_name = {row[1]: row for row in rows(output)}
    assert by_name["web-1"][:5] == ["default", "web-1", "1/1", "Running", "0"]
    assert by_name["pending-1"][:5] == ["shop", "pending-1", "0/1", "Pending", "0"]
    assert by_name["leaving-1"][3] == "Terminating"


def test_get_pods_wide_shows_ip_and_node(sim, kubectl_env, running_pod):
    output = kubectl(kubectl_env, "get", "pods", "-o", "wide").stdout
    header = output.splitlines()[0]
    assert "NOMINATED NODE" in header
    assert "READINESS GATES" in header
    row = rows(output)[0]
    assert row[0] == "web-1"
    assert "10.0.0.7" in row
    assert "node-1" in row


def test_get_pods_watch_json_streams_changes(sim, kubectl_env, running_pod):
    process = subprocess.Popen(
        [KUBECTL, "get", "pods", "-w", "-o", "json"],
        env=kubectl_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        decoder = json.JSONDecoder()
        buffer = ""
        objects: list[dict[str, Any]] = []
        deadline = time.monotonic() + 20
        created = False
        while time.monotonic() < deadline and len(objects) < 2:
            try:
                buffer += lines.get(timeout=0.5)
            except queue.Empty:
                continue
            stripped = buffer.lstrip()
            try:
                obj, end = decoder.raw_decode(stripped)
            except json.JSONDecodeError:
                continue
            objects.append(obj)
            buffer = stripped[end:]
            if not created:
                sim.create_pod("web-2")
                created = True
    finally:
        process.kill()
        process.wait(10)
    assert [o["metadata"]["name"] for o in objects] == ["web-1", "web-2"]
    assert objects[0]["status"]["phase"] == "Running"


def test_get_events_all_namespaces(sim, kubectl_env, running_pod):
    when = format_time(sim.clock.now())
    sim.call(
        sim.store.create,
        "events",
        pod_event(running_pod, reason="Started", message="Started container app", when=when),
    )
    output = kubectl(kubectl_env, "get", "events", "-A").stdout
    assert output.splitlines()[0].split()[:4] == ["NAMESPACE", "LAST", "SEEN", "TYPE"]
    (row,) = rows(output)
    assert "Normal" in row
    assert "Started" in row
    assert "pod/web-1" in row


def test_get_endpointslices_all_namespaces(sim, kubectl_env, running_pod):
    sim.call(sim.store.create, "endpointslices", endpoint_slice(running_pod))
    output = kubectl(kubectl_env, "get", "endpointslices", "-A").stdout
    (row,) = rows(output)
    assert row[:5] == ["default", "web-x7k2p", "IPv4", "8080", "10.0.0.7"]


MANIFEST = """\
apiVersion: v1
kind: Pod
metadata:
  name: applied
  labels:
    app: shop
  annotations:
    team: payments
spec:
  terminationGracePeriodSeconds: 20
  containers:
  - name: app
    image: registry.example/shop:2.1
"""


def test_apply_creates_a_pod_with_annotations(sim, kubectl_env, tmp_path):
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(MANIFEST)
    result = kubectl(kubectl_env, "apply", "-f", str(manifest))
    assert result.stdout.strip() == "pod/applied created"
    pod = sim.call(sim.store.get, "pods", "default", "applied")
    annotations = pod["metadata"]["annotations"]
    assert annotations["team"] == "payments"
    applied = json.loads(annotations["kubectl.kubernetes.io/last-applied-configuration"])
    assert applied["spec"]["containers"][0]["image"] == "registry.example/shop:2.1"
    assert pod["spec"]["terminationGracePeriodSeconds"] == 20

    assert kubectl(kubectl_env, "apply", "-f", str(manifest)).stdout.strip() == (
        "pod/applied unchanged"
    )
    manifest.write_text(MANIFEST.replace("app: shop", "app: shop-v2"))
    assert kubectl(kubectl_env, "apply", "-f", str(manifest)).stdout.strip() == (
        "pod/applied configured"
    )
    pod = sim.call(sim.store.get, "pods", "default", "applied")
    assert pod["metadata"]["labels"] == {"app": "shop-v2"}


def test_delete_with_grace_period_marks_the_pod(sim, kubectl_env, running_pod):
    before = sim.clock.now().replace(microsecond=0)
    result = kubectl(kubectl_env, "delete", "pod", "web-1", "--grace-period=5", "--wait=false")
    assert 'pod "web-1" deleted' in result.stdout
    pod = sim.call(sim.store.get, "pods", "default", "web-1")
    meta = pod["metadata"]
    assert meta["deletionGracePeriodSeconds"] == 5
    requested = parse_time(meta["deletionTimestamp"]) - timedelta(seconds=5)
    assert before <= requested <= before + timedelta(seconds=2)
    assert meta["generation"] == 2
    shown = rows(kubectl(kubectl_env, "get", "pods").stdout)
    assert shown[0][2] == "Terminating"

    # Nobody plays the kubelet here; removing the object is what finishes the deletion.
    sim.call(sim.store.delete, "pods", "default", "web-1")
    missing = kubectl(kubectl_env, "get", "pod", "web-1", check=False)
    assert missing.returncode == 1
    assert 'pods "web-1" not found' in missing.stderr


def test_get_pods_watch_table_prints_new_rows(sim, kubectl_env, running_pod):
    process = subprocess.Popen(
        [KUBECTL, "get", "pods", "-w"],
        env=kubectl_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[list[str]] = []
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(seen) < 3:
            try:
                seen.append(lines.get(timeout=0.5).split())
            except queue.Empty:
                continue
            if len(seen) == 2:
                sim.create_pod("web-2")
    finally:
        process.kill()
        process.wait(10)
    assert seen[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert seen[1][:3] == ["web-1", "1/1", "Running"]
    assert seen[2][:3] == ["web-2", "0/1", "Pending"]


def test_status_and_restarts_come_from_the_kubectl_rules(sim, kubectl_env, running_pod):
    finished = format_time(sim.clock.now() - timedelta(minutes=20))

    def crash_loop(pod):
        status = pod["status"]["containerStatuses"][0]
        status.update(
            ready=False,
            started=False,
            restartCount=3,
            state={
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": "back-off 40s restarting failed container=app pod=web-1",
                }
            },
            lastState={
                "terminated": {
                    "exitCode": 1,
                    "reason": "Error",
                    "startedAt": finished,
                    "finishedAt": finished,
                    "containerID": status["containerID"],
                }
            },
        )

    sim.modify_pod("web-1", crash_loop)
    (row,) = rows(kubectl(kubectl_env, "get", "pods").stdout)
    assert row[:6] == ["web-1", "0/1", "CrashLoopBackOff", "3", "(20m", "ago)"]


def test_apply_rejects_a_manifest_typo_like_a_real_server(sim, kubectl_env, tmp_path):
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(MANIFEST.replace("    image:", "    imagePullPolcy: Always\n    image:"))
    result = kubectl(kubectl_env, "apply", "-f", str(manifest), check=False)
    assert result.returncode == 1
    assert 'unknown field "spec.containers[0].imagePullPolcy"' in result.stderr
    assert sim.call(sim.store.get, "pods", "default", "applied") is None


def test_get_pods_pages_through_a_large_list(sim, kubectl_env):
    def create_many() -> None:
        for i in range(1200):
            sim.store.create("pods", make_pod(f"web-{i:04d}"))

    sim.call(create_many)
    result = kubectl(kubectl_env, "get", "pods", "-A", "--no-headers", "--chunk-size=500")
    names = [line.split()[1] for line in result.stdout.splitlines()]
    assert names == [f"web-{i:04d}" for i in range(1200)]


def test_apply_of_a_changed_container_merges_by_name(sim, kubectl_env, tmp_path):
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(MANIFEST)
    kubectl(kubectl_env, "apply", "-f", str(manifest))
    sim.modify_pod(
        "applied",
        lambda pod: pod["spec"]["containers"][0].update(
            ports=[{"containerPort": 8080, "protocol": "TCP"}]
        ),
    )
    manifest.write_text(MANIFEST.replace("shop:2.1", "shop:2.2"))
    assert kubectl(kubectl_env, "apply", "-f", str(manifest)).stdout.strip() == (
        "pod/applied configured"
    )
    pod = sim.call(sim.store.get, "pods", "default", "applied")
    (container,) = pod["spec"]["containers"]
    assert container["image"] == "registry.example/shop:2.2"
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert not [key for key in pod["spec"] if key.startswith("$")]
