"""Simulator store and watch throughput: how many pod events/s one watch client receives.

Run:  python -m benchmarks.kubesim_watch [--pods 20000] [--updates 100000] [--max-seconds 120]

The simulator (store + HTTP server) runs on this process's event loop, as in production; the
watch client runs in a separate process (the machine has two cores, one each), reading the
chunked stream with http.client and parsing every line with orjson, as ingest does.

Steps and figures:
1. create N realistic pods straight into the store (creation time, pods/s);
2. the client LISTs all pods over HTTP (time, bytes) and opens a watch from the list's
   resourceVersion;
3. M status updates are applied as fast as the loop allows (store.update, bypassing the
   engine) while the client counts events: producer rate and events/s received, against the
   target of 5,000 events/s;
4. memory: RSS after creation and peak RSS of the server process.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import multiprocessing
import multiprocessing.connection
import resource
import time
from typing import Any

import orjson

from lifecycle_dash.kubesim.clock import SimClock
from lifecycle_dash.kubesim.gctuning import tune_gc
from lifecycle_dash.kubesim.server import ApiServer
from lifecycle_dash.kubesim.store import Store

TARGET_EVENTS_PER_SECOND = 5_000
TOKEN = "bench"
STARTED = "2026-03-01T12:00:00Z"


def _pod(i: int) -> dict[str, Any]:
    name = f"web-{i // 1000:03d}-{i % 1000:03d}"
    return {
        "metadata": {
            "name": name,
            "namespace": f"team-{i % 50:02d}",
            "labels": {"app": "web", "pod-template-hash": "7d4b9c8f6d", "tier": "front"},
            "annotations": {"kubectl.kubernetes.io/restartedAt": STARTED},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "web-7d4b9c8f6d",
                    "uid": "6f1c2b7e-0000-4000-8000-000000000000",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "nodeName": f"node-{i % 500:03d}",
            "containers": [
                {
                    "name": "app",
                    "image": "registry.example/web:1.4.2",
                    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    "readinessProbe": {
                        "httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTP"},
                        "periodSeconds": 5,
                        "timeoutSeconds": 1,
                        "successThreshold": 1,
                        "failureThreshold": 3,
                    },
                    "resources": {
                        "requests": {"cpu": "100m", "memory": "128Mi"},
                        "limits": {"memory": "256Mi"},
                    },
                }
            ],
        },
    }


def _running_status(i: int, ready: bool) -> dict[str, Any]:
    ip = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
    flag = "True" if ready else "False"
    return {
        "phase": "Running",
        "conditions": [
            {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": STARTED},
            {"type": "Initialized", "status": "True", "lastTransitionTime": STARTED},
            {"type": "Ready", "status": flag, "lastTransitionTime": STARTED},
            {"type": "ContainersReady", "status": flag, "lastTransitionTime": STARTED},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": STARTED},
        ],
        "hostIP": "192.168.0.10",
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": STARTED,
        "qosClass": "Burstable",
        "containerStatuses": [
            {
                "name": "app",
                "state": {"running": {"startedAt": STARTED}},
                "lastState": {},
                "ready": ready,
                "restartCount": 0,
                "image": "registry.example/web:1.4.2",
                "imageID": "registry.example/web@sha256:" + "a" * 64,
                "containerID": "containerd://" + f"{i:064x}",
                "started": True,
            }
        ],
    }


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _client(port: int, expected: int, max_seconds: float, conn: Any) -> None:
    """Watch client process: LIST, then WATCH from the list RV and count events."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=max_seconds)
    started = time.perf_counter()
    connection.request("GET", "/api/v1/pods", headers=headers)
    body = connection.getresponse().read()
    list_seconds = time.perf_counter() - started
    started = time.perf_counter()
    listed = orjson.loads(body)
    parse_seconds = time.perf_counter() - started
    rv = listed["metadata"]["resourceVersion"]
    watch = http.client.HTTPConnection("127.0.0.1", port, timeout=max_seconds)
    watch.request(
        "GET",
        f"/api/v1/pods?watch=1&resourceVersion={rv}&timeoutSeconds={int(max_seconds)}",
        headers=headers,
    )
    response = watch.getresponse()
    conn.send(("listed", len(listed["items"]), len(body), list_seconds, parse_seconds))
    count = 0
    first = last = 0.0
    pending = b""
    deadline = time.monotonic() + max_seconds
    while count < expected and time.monotonic() < deadline:
        data = response.read1(1 << 20)
        if not data:
            break
        *lines, pending = (pending + data).split(b"\n")
        for line in lines:
            if orjson.loads(line)["type"] == "MODIFIED":
                count += 1
        now = time.perf_counter()
        if not first:
            first = now
        last = now
    conn.send(("watched", count, last - first if count else 0.0))


async def _run(pods: int, updates: int, max_seconds: float) -> None:
    tune_gc()  # as the CLI does for the simulator process
    store = Store(SimClock())  # the CLI's default history
    server = ApiServer(store, token=TOKEN, port=0)
    await server.start()
    for namespace in {f"team-{i % 50:02d}" for i in range(min(pods, 50))}:
        store.create("namespaces", {"metadata": {"name": namespace}})

    started = time.perf_counter()
    created = [store.create("pods", _pod(i)) for i in range(pods)]
    create_seconds = time.perf_counter() - started
    rss_after_create = _rss_mb()
    pod_bytes = sum(len(s.raw) for s in store.iter_stored("pods")) / max(pods, 1)
    print(f"pods:               {pods:,} (avg {pod_bytes:,.0f} bytes of JSON each)")
    print(
        f"create:             {create_seconds:.2f} s ({pods / create_seconds:,.0f} pods/s, "
        "into the store)"
    )
    print(f"RSS after create:   {rss_after_create:,.0f} MB")

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    client = ctx.Process(target=_client, args=(server.port, updates, max_seconds, child))
    client.start()
    loop = asyncio.get_running_loop()
    message = await loop.run_in_executor(None, parent.recv)
    _, items, size, list_seconds, parse_seconds = message
    print(
        f"LIST over HTTP:     {list_seconds:.2f} s for {items:,} pods, {size / 1e6:,.1f} MB "
        f"(request to last byte); client orjson parse {parse_seconds:.2f} s"
    )
    while server.watch_count == 0:
        await asyncio.sleep(0.01)

    started = time.perf_counter()
    deadline = time.monotonic() + max_seconds
    done = 0
    while done < updates and time.monotonic() < deadline:
        for _ in range(min(500, updates - done)):
            index = done % pods
            current = created[index]
            changed = dict(current)
            changed["metadata"] = dict(current["metadata"])
            changed["status"] = _running_status(index, ready=(done // pods) % 2 == 0)
            created[index] = store.update("pods", changed)
            done += 1
        # Let the watch stream flush one batched chunk per iteration.
        await asyncio.sleep(0)
    produce_seconds = time.perf_counter() - started
    message = await loop.run_in_executor(None, parent.recv)
    _, received, receive_seconds = message
    total_seconds = time.perf_counter() - started
    client.join(10)
    await server.stop()
    rate = received / total_seconds if total_seconds else 0.0
    print(
        f"updates applied:    {done:,} in {produce_seconds:.2f} s ({done / produce_seconds:,.0f}/s)"
    )
    print(
        f"watch received:     {received:,} events in {total_seconds:.2f} s from the first update "
        f"-> {rate:,.0f} events/s (target {TARGET_EVENTS_PER_SECOND:,}/s: "
        f"{'met' if rate >= TARGET_EVENTS_PER_SECOND else 'NOT met'})"
    )
    if receive_seconds:
        print(f"client-side rate:   {received / receive_seconds:,.0f} events/s while streaming")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS (server):  {peak:,.0f} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.kubesim_watch")
    parser.add_argument("--pods", type=int, default=20_000)
    parser.add_argument("--updates", type=int, default=100_000)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    args = parser.parse_args(argv)
    asyncio.run(_run(args.pods, args.updates, args.max_seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
