"""The real simulator as a subprocess, and what tests need from it: faults, writes, history."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from lifecycle_dash.stack.orphans import die_with_parent
from tests.support.processes import BASE_DIR

MERGE_PATCH = "application/merge-patch+json"


class Simulator:
    def __init__(
        self,
        tmp_path: Path,
        *,
        scenario: str = "none",
        speed: float = 1.0,
        seed: int = 7,
        extra: list[str] | None = None,
        port: int = 0,
        journal: bool = False,
    ) -> None:
        # The journal of every pod write (kubesim --changes-out), the truth tests compare with.
        self.journal_path: Path | None = None
        if journal:
            self.journal_path = tmp_path / f"changes-{time.monotonic_ns()}.jsonl"
            extra = [*(extra or []), "--changes-out", str(self.journal_path)]
        self.kubeconfig_path = tmp_path / f"kubeconfig-{time.monotonic_ns()}.json"
        self.log_path = tmp_path / f"kubesim-{time.monotonic_ns()}.log"
        command = [
            sys.executable,
            "-m",
            "lifecycle_dash.kubesim",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--kubeconfig-out",
            str(self.kubeconfig_path),
            "--scenario",
            scenario,
            "--seed",
            str(seed),
            "--speed",
            str(speed),
            *(extra or []),
        ]
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            stdout=subprocess.PIPE,
            stderr=self._log,
            start_new_session=True,
            preexec_fn=die_with_parent,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline().decode()
        assert "listening on" in first, f"simulator did not start: {first!r}"
        self.url = first.strip().rsplit(" ", 1)[-1]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.kubeconfig = self.kubeconfig_path.read_text()
        self.token = json.loads(self.kubeconfig)["users"][0]["user"]["token"]

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()

    # ---- HTTP --------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        timeout: float = 10.0,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        data = orjson.dumps(body) if body is not None else None
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": content_type},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            result: dict[str, Any] = orjson.loads(response.read())
            return result

    def fault(self, name: str, **params: Any) -> dict[str, Any]:
        query = urllib.parse.urlencode(params)
        return self.request("POST", f"/kubesim/faults/{name}?{query}")

    def state(self) -> dict[str, Any]:
        return self.request("GET", "/kubesim/state")

    def wait_for_watches(self, count: int = 1, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.state()["watches"] < count:
            assert time.monotonic() < deadline, "no watch connected to the simulator"
            time.sleep(0.05)

    # ---- pods --------------------------------------------------------------------------------

    def create_pod(self, name: str, namespace: str = "default") -> dict[str, Any]:
        return self.request(
            "POST",
            f"/api/v1/namespaces/{namespace}/pods",
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "namespace": namespace, "labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "registry.example/web:1.0"}]},
            },
        )

    def label_pod(self, name: str, value: str, namespace: str = "default") -> dict[str, Any]:
        return self.request(
            "PATCH",
            f"/api/v1/namespaces/{namespace}/pods/{name}",
            {"metadata": {"labels": {"step": value}}},
            content_type=MERGE_PATCH,
        )

    def delete_pod(self, name: str, namespace: str = "default") -> dict[str, Any]:
        return self.request(
            "DELETE", f"/api/v1/namespaces/{namespace}/pods/{name}?gracePeriodSeconds=0"
        )

    def create_namespace(self, name: str) -> None:
        self.request(
            "POST",
            "/api/v1/namespaces",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
        )

    def pods(self) -> dict[str, str]:
        """uid -> resourceVersion of every pod now."""
        body = self.request("GET", "/api/v1/pods")
        return {p["metadata"]["uid"]: p["metadata"]["resourceVersion"] for p in body["items"]}

    def history(self, resource_path: str, since: str, until: str) -> list[tuple[str, str, str]]:
        """(type, uid, rv) of every change after ``since`` up to ``until``, from a raw watch."""
        query = urllib.parse.urlencode(
            {
                "watch": "1",
                "resourceVersion": since,
                "allowWatchBookmarks": "true",
                "timeoutSeconds": "2",
            }
        )
        request = urllib.request.Request(
            f"{self.url}{resource_path}?{query}",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        changes: list[tuple[str, str, str]] = []
        with urllib.request.urlopen(request, timeout=10) as response:
            for line in _lines(response):
                event = orjson.loads(line)
                meta = event["object"]["metadata"]
                rv = meta["resourceVersion"]
                if event["type"] == "ERROR":
                    raise AssertionError(f"history unavailable: {event}")
                if int(rv) > int(until):
                    break
                if event["type"] != "BOOKMARK":
                    changes.append((event["type"], meta["uid"], rv))
                if int(rv) == int(until):
                    break
        return changes


def _lines(response: Any) -> Iterator[bytes]:
    while True:
        line = response.readline()
        if not line:
            return
        if line.strip():
            yield line
