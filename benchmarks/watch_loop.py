"""The watch side of ingest alone: lines/s from the simulator through our loop into a no-op.

Run:  python -m benchmarks.watch_loop [--pods 20000] [--events 150000]

The simulator runs as a subprocess (``scale`` scenario: N running pods and a heavy churn of
pod updates) with a history large enough to hold the whole backlog. Then, in this process:

1. LIST: ``ListWatch.relist`` pages through every pod (``limit=500``) into a no-op processor:
   items/s;
2. WATCH: ``ListWatch.watch_once`` from the resourceVersion before the churn, so the server
   replays the backlog as fast as we read it: lines/s through layer 3 (reader thread, line
   splitting), orjson, the event dispatch and the batch/flush bookkeeping, into a processor
   that does nothing;
3. RAW: the same backlog read with http.client + ``orjson.loads`` per line and nothing else,
   the ceiling the simulator allows on this machine, so the loop's own overhead is visible.

The target for the whole ingest path is 25,000 pod events/s per worker process including the
storage side; this measures the watch side's share.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import multiprocessing
import sys
import time
import urllib.parse
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from lifecycle_dash.kubesim.kubeconfig import kubeconfig as kubeconfig_dict

TARGET = 25_000
TOKEN = "bench"


class NoopProcessor:
    def __init__(self, until_rv: int, stop: Any) -> None:
        self.until_rv = until_rv
        self.stop = stop
        self.handled = 0

    def handle(
        self, *, event_type: str, obj: dict[str, Any], raw_size: int, received_at: datetime
    ) -> None:
        self.handled += 1

    def bad_line(self, *, error: str, raw_prefix: bytes, received_at: datetime) -> None:
        raise AssertionError(f"bad line: {error}")

    def begin_relist(self, *, started_at: datetime, reason: str) -> None:
        pass

    def end_relist(self, *, list_resource_version: str, finished_at: datetime) -> None:
        pass

    def pending(self) -> int:
        return 0

    def prepare(self) -> None:
        pass

    def take_batch(
        self, *, resource_version: str | None, complete_at: datetime | None = None
    ) -> Callable[[], None]:
        def write() -> None:
            if resource_version is not None and int(resource_version) >= self.until_rv:
                self.stop.set("caught up")

        return write

    def discard_uncommitted(self) -> None:
        pass


class NoContext:
    def __init__(self, processor: NoopProcessor) -> None:
        self.processor = processor

    def load(self) -> tuple[NoopProcessor, str | None]:
        return self.processor, None

    def heartbeat(self, stats: Any) -> None:
        pass

    def record_error(self, message: str) -> None:
        raise AssertionError(message)


def _serve(pods: int, updates: int, conn: Any) -> None:
    """Simulator process: N pods and M updates straight into the store, then serve them."""
    import asyncio

    from benchmarks.kubesim_watch import _pod, _running_status
    from lifecycle_dash.kubesim.clock import SimClock
    from lifecycle_dash.kubesim.server import ApiServer
    from lifecycle_dash.kubesim.store import Store

    async def run() -> None:
        store = Store(SimClock(), history=updates + 10)
        server = ApiServer(store, token=TOKEN, port=0)
        await server.start()
        for namespace in {f"team-{i % 50:02d}" for i in range(min(pods, 50))}:
            store.create("namespaces", {"metadata": {"name": namespace}})
        created = [store.create("pods", _pod(i)) for i in range(pods)]
        start_rv = store.resource_version
        for done in range(updates):
            index = done % pods
            changed = dict(created[index])
            changed["metadata"] = dict(created[index]["metadata"])
            changed["status"] = _running_status(index, ready=(done // pods) % 2 == 0)
            created[index] = store.update("pods", changed)
        conn.send((server.port, start_rv, store.resource_version))
        await asyncio.Event().wait()

    asyncio.run(run())


def _raw_watch(url: str, token: str, since: int, until: int) -> tuple[int, float]:
    parsed = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parsed.hostname or "", parsed.port, timeout=30)
    query = urllib.parse.urlencode({"watch": "1", "resourceVersion": str(since)})
    connection.request("GET", f"/api/v1/pods?{query}", headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    count = 0
    started = time.perf_counter()
    for line in response:
        event = orjson.loads(line)
        count += 1
        if int(event["object"]["metadata"]["resourceVersion"]) >= until:
            break
    elapsed = time.perf_counter() - started
    connection.close()
    return count, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.watch_loop")
    parser.add_argument("--pods", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=150_000, help="backlog to replay")
    parser.add_argument("--max-seconds", type=float, default=120.0)
    args = parser.parse_args()

    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lifecycle_dash.settings")

    django.setup()
    from lifecycle_dash.ingest import kube, watching
    from lifecycle_dash.ingest.committer import Committer

    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve, args=(args.pods, args.events, child), daemon=True)
    process.start()
    port, start_rv, until_rv = parent.recv()
    url = f"http://127.0.0.1:{port}"
    token = TOKEN
    kubeconfig = orjson.dumps(kubeconfig_dict(url, token)).decode()
    try:
        print(f"simulator: {args.pods:,} pods, a backlog of {until_rv - start_rv:,} pod updates")
        api = kube.KubeApi(kube.new_api_client(source="simulator", kubeconfig=kubeconfig))
        stop = watching.StopSignal()
        processor = NoopProcessor(until_rv, stop)
        settings = watching.WatchSettings(slice_seconds=args.max_seconds, read_timeout=30.0)
        committer = Committer()
        layer = watching.ListWatch(
            api=api,
            resource=kube.RESOURCES["pods"],
            namespaces=watching.NamespaceFilter(),
            processor=processor,
            resource_version=None,
            context=NoContext(processor),
            settings=settings,
            stats=watching.WatchStats(),
            stop=stop,
            deadline=time.monotonic() + args.max_seconds,
            committer=committer,
        )
        started = time.perf_counter()
        cpu_started = time.process_time()
        layer.relist("benchmark")
        layer.settle()
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        listed = processor.handled
        print(
            f"LIST  {listed:>8} pods in {elapsed:6.2f} s = {listed / elapsed:>9,.0f} items/s "
            f"(pages of 500; CPU here {cpu / listed * 1e6:.1f} us per item)"
        )

        processor.handled = 0
        layer.stop = stop = watching.StopSignal()
        processor.stop = stop
        layer.resource_version = str(start_rv)
        started = time.perf_counter()
        cpu_started = time.process_time()
        with contextlib.suppress(watching.Stop):
            layer.watch_once()
        layer.settle()
        committer.close()
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        lines = processor.handled
        rate = lines / elapsed
        print(
            f"WATCH {lines:>8} lines in {elapsed:6.2f} s = {rate:>9,.0f} lines/s "
            f"through the loop (target for the whole path: {TARGET:,}/s)"
        )
        print(
            f"      CPU of this process (all threads): {cpu:.2f} s = {cpu / lines * 1e6:.1f} us "
            f"per line -> {lines / cpu:,.0f} lines/s per core when the server is not the limit"
        )
        api.close()

        count, elapsed = _raw_watch(url, token, start_rv, until_rv)
        raw = count / elapsed
        print(
            f"RAW   {count:>8} lines in {elapsed:6.2f} s = {raw:>9,.0f} lines/s "
            "(http.client + orjson only: the simulator's ceiling here)"
        )
        print(f"loop / raw: {rate / raw:.0%}")
    finally:
        process.terminate()
        process.join(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
