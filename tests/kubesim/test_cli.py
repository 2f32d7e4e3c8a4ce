"""The command as operators and the Django management command run it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lifecycle_dash.kubesim.kubeconfig import read_kubeconfig

pytestmark = pytest.mark.slow


def start(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], str, Path]:
    kubeconfig = tmp_path / "kube" / "config"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lifecycle_dash.kubesim",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--kubeconfig-out",
            str(kubeconfig),
            "--seed",
            "7",
            "--speed",
            "10",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    assert first.startswith("kubesim listening on http://127.0.0.1:"), first
    return process, first.removeprefix("kubesim listening on "), kubeconfig


def stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(10)


def test_it_serves_kubectl_through_the_written_kubeconfig_and_stops_on_sigterm(tmp_path):
    process, url, kubeconfig = start(tmp_path, "--scenario", "none", "--no-engine")
    try:
        assert read_kubeconfig(kubeconfig)[0] == url
        env = {"KUBECONFIG": str(kubeconfig), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
        result = subprocess.run(
            ["/usr/bin/kubectl", "get", "namespaces", "-o", "name"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "namespace/default" in result.stdout.split()
    finally:
        code = stop(process)
    assert code == 0


def test_fault_subcommand_reaches_the_running_server(tmp_path):
    process, url, kubeconfig = start(tmp_path, "--no-engine")
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "lifecycle_dash.kubesim",
                "fault",
                url,
                "compact",
                "--kubeconfig",
                str(kubeconfig),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["fault"] == "compact"
    finally:
        stop(process)


def test_unknown_scenario_engine_or_bad_fault_schedule_fails_fast(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "lifecycle_dash.kubesim", "--fault-every", "meteor:5"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "--fault-every" in result.stderr


POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: hello
spec:
  containers:
  - name: app
    image: registry.example/hello:1.0
"""


def test_with_the_engine_a_pod_applied_through_kubectl_runs(tmp_path):
    truth = tmp_path / "truth.jsonl"
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(POD)
    process, _, kubeconfig = start(tmp_path, "--scenario", "none", "--truth-out", str(truth))
    env = {"KUBECONFIG": str(kubeconfig), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}

    def kubectl(*args: str) -> str:
        result = subprocess.run(
            ["/usr/bin/kubectl", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    try:
        kubectl("apply", "-f", str(manifest))
        deadline = time.monotonic() + 20
        status = ""
        while time.monotonic() < deadline and status != "Running":
            status = kubectl("get", "pod", "hello", "--no-headers").split()[2]
            time.sleep(0.2)
        assert status == "Running"
        assert "Started" in kubectl(
            "get", "events", "--field-selector", "involvedObject.name=hello"
        )
    finally:
        code = stop(process)
    assert code == 0
    assert truth.exists()


def test_an_unknown_scenario_is_refused(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "lifecycle_dash.kubesim", "--scenario", "meteor"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "unknown scenario" in result.stderr


def test_fault_every_drops_watches_periodically(tmp_path):
    from tests.kubesim.rawwatch import RawWatch, StreamCut

    process, url, _ = start(tmp_path, "--no-engine", "--fault-every", "drop-watches:0.5")
    try:
        stream = RawWatch(url, "/api/v1/pods?watch=1&timeoutSeconds=30", token="")
        with pytest.raises((StreamCut, ConnectionError)):
            stream.next_line(timeout=5)
    finally:
        stop(process)
