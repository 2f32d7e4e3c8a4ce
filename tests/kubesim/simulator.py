"""A simulator running on its own event loop in a background thread, for blocking clients.

kubectl (a subprocess) and the official Python client block, so the server's loop runs in a
thread; tests touch the store only through ``call``, which runs on that loop, because the store
is single-threaded by design.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from lifecycle_dash.kubesim.clock import SimClock
from lifecycle_dash.kubesim.kubeconfig import write_kubeconfig
from lifecycle_dash.kubesim.server import ApiServer
from lifecycle_dash.kubesim.store import Store, clone

T = TypeVar("T")
TOKEN = "test-token"


class RunningSimulator:
    def __init__(
        self,
        tmp_path: Path,
        *,
        history: int = 10_000,
        speed: float = 1.0,
        **server_options: Any,
    ) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.clock = SimClock(speed=speed)
        self.store = Store(self.clock, history=history)
        options: dict[str, Any] = {"bookmark_interval": 1.0, "record_served": True}
        options.update(server_options)
        self.server = ApiServer(self.store, token=TOKEN, **options)
        self.run(self.server.start())
        self.url = self.server.url
        self.kubeconfig = tmp_path / "kubeconfig"
        write_kubeconfig(self.kubeconfig, self.url, TOKEN)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def invoke() -> None:
            try:
                future.set_result(function(*args, **kwargs))
            except BaseException as exc:
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(invoke)
        return future.result(30)

    @property
    def served(self) -> list[tuple[str, dict[str, Any]]]:
        assert self.server.served is not None
        return self.call(list, self.server.served)

    # ---- store helpers (run on the loop) -----------------------------------------------------

    def create_pod(self, name: str, namespace: str = "default", **fields: Any) -> dict[str, Any]:
        return self.call(self.store.create, "pods", make_pod(name, namespace, **fields))

    def modify_pod(
        self, name: str, change: Callable[[dict[str, Any]], None], namespace: str = "default"
    ) -> dict[str, Any]:
        def apply() -> dict[str, Any]:
            current = self.store.get("pods", namespace, name)
            assert current is not None
            pod = clone(current)
            change(pod)
            return self.store.update("pods", pod)

        return self.call(apply)

    def close(self) -> None:
        self.run(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def make_pod(
    name: str,
    namespace: str = "default",
    *,
    labels: dict[str, str] | None = None,
    node: str | None = None,
    phase: str | None = None,
    grace: int | None = None,
) -> dict[str, Any]:
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": "registry.example/web:1.0"}]},
    }
    if node is not None:
        pod["spec"]["nodeName"] = node
    if grace is not None:
        pod["spec"]["terminationGracePeriodSeconds"] = grace
    if phase is not None:
        pod["status"] = {"phase": phase}
    return pod


def running_status(pod: dict[str, Any], *, started: str, ip: str = "10.0.0.7") -> None:
    """Turn a pod into a realistic Running, Ready pod on node-1."""
    pod["spec"]["nodeName"] = "node-1"
    conditions = [
        {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": started}
        for t in (
            "PodReadyToStartContainers",
            "Initialized",
            "Ready",
            "ContainersReady",
            "PodScheduled",
        )
    ]
    pod["status"] = {
        "phase": "Running",
        "conditions": conditions,
        "hostIP": "192.168.0.10",
        "hostIPs": [{"ip": "192.168.0.10"}],
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": started,
        "qosClass": "BestEffort",
        "containerStatuses": [
            {
                "name": "app",
                "state": {"running": {"startedAt": started}},
                "lastState": {},
                "ready": True,
                "restartCount": 0,
                "image": "registry.example/web:1.0",
                "imageID": "registry.example/web@sha256:" + "a" * 64,
                "containerID": "containerd://" + "b" * 64,
                "started": True,
            }
        ],
    }
