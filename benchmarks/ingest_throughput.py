"""Pod watch events into PostgreSQL through the real processors and writer, one process.

Run:  python -m benchmarks.ingest_throughput [--pods N] [--naive-events N] [--sync-pods N]
      [--no-publish]

Creates a scratch database (dropped at the end), migrates it, and replays a realistic pod
watch stream (``benchmarks.lifecycle_throughput.pod_history``: ~5 KB objects with full specs,
managedFields, several containers; each pod created, scheduled, started, ready, then a random
mix of kubelet resyncs, readiness flaps, OOM kills and restarts, then deleted gracefully) as
JSON lines: 8,200 pods, about 200,000 events. The timed path does what the watch worker
does: split the buffer into lines, ``orjson.loads`` each, ``processor.handle``, ``flush``
every 1,000 events (COPY of transitions, one upsert of pods, termination and startup records,
checkpoint, one transaction each) and hand ``pod.changed`` messages to the publisher (real
Redis).

"Per worker process" is events divided by the CPU time of this process (all its threads,
the publisher's included): the machine is shared, so wall time mostly measures the others.
PostgreSQL's CPU for the same work (its backend process, read from /proc) is printed next to
it, not hidden; wall events/s and the load average too.

The naive path, on a sample (``--naive-events``), is what a straightforward implementation
does: ``ApiClient().deserialize`` of every event into a ``V1Pod`` model and one ORM
``update_or_create`` per event. Its rate is extrapolated to the whole stream, and labelled so.

The initial sync (``--sync-pods``, 150,000 by default; 0 skips it): a simulator process
holds that many running pods; the real ``ListWatch.relist`` pages through them (500 per page)
into the real pod processor and PostgreSQL, up to the committed checkpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from benchmarks._scratch import scratch_create, scratch_drop

TARGET_PER_SECOND = 25_000
TARGET_RATIO = 10.0


def _lines(stream: list[tuple[str, dict[str, Any]]]) -> bytes:
    return b"\n".join(orjson.dumps({"type": kind, "object": obj}) for kind, obj in stream) + b"\n"


CHUNK_PODS = 1000


def chunks(pods: int, seed: int = 7) -> Iterator[bytes]:
    """The stream as JSON-line buffers of ``CHUNK_PODS`` pods each, interleaved within a chunk.

    Built one chunk at a time (untimed) so 200,000+ events never sit in memory as dicts.
    """
    from benchmarks.lifecycle_throughput import pod_history

    rng = random.Random(seed)
    for first in range(0, pods, CHUNK_PODS):
        histories = [pod_history(i, rng) for i in range(first, min(first + CHUNK_PODS, pods))]
        stream: list[tuple[str, dict[str, Any]]] = []
        cursors = [0] * len(histories)
        live = list(range(len(histories)))
        while live:  # the same interleaving as lifecycle_throughput.build_stream
            k = rng.randrange(len(live))
            i = live[k]
            stream.append(histories[i][cursors[i]])
            cursors[i] += 1
            if cursors[i] == len(histories[i]):
                live[k] = live[-1]
                live.pop()
        yield _lines(stream)


class Timings:
    """Wall and CPU seconds of the whole path and of the flushes (the storage half)."""

    def __init__(self) -> None:
        self.wall = self.cpu = self.flush_wall = self.flush_cpu = 0.0
        self.bytes = 0


def run_fast(
    buffers: Iterable[bytes],
    *,
    publish: bool,
    timings: Timings,
    batch: int = 1000,
    pipelined: bool = False,
) -> tuple[int, float, Any, bytes]:
    """Replay ``buffers``; ``pipelined``: each batch commits in a ``Committer`` thread while
    the next is handled, as in the watch loop (``flush_*`` timings are then the waits for the
    previous batch, not the flushes)."""
    from lifecycle_dash.ingest.committer import Committer
    from lifecycle_dash.ingest.models import Cluster, WatchStream
    from lifecycle_dash.ingest.processors import processor_for
    from lifecycle_dash.ingest.publish import PodPublisher

    cluster = Cluster.objects.create(name=f"bench-{uuid.uuid4().hex[:8]}", source="simulator")
    stream = WatchStream.objects.select_related("cluster").get(
        pk=WatchStream.objects.create(cluster=cluster, resource="pods").pk
    )
    publisher = PodPublisher()

    class _Discard(PodPublisher):
        def submit(self, messages: list[dict[str, Any]]) -> int:
            return len(messages)

    processor = processor_for(stream=stream, publisher=publisher if publish else _Discard())
    loads = orjson.loads
    handle = processor.handle
    events = 0
    wall, cpu = time.perf_counter, time.process_time

    committer = Committer() if pipelined else None

    def settle() -> None:
        if committer is not None:
            committer.result()

    def flush() -> None:
        w, c = wall(), cpu()
        if committer is None:
            processor.flush(resource_version=None)
        else:
            processor.prepare()  # as the watch loop: overlaps with the write in flight
            settle()
            committer.submit(processor.take_batch(resource_version=None))
        timings.flush_wall += wall() - w
        timings.flush_cpu += cpu() - c

    first = b""
    for buffer in buffers:  # generating the next buffer is not timed
        first = first or buffer
        start, start_cpu = wall(), cpu()
        received_at = datetime.now(UTC)
        for line in buffer.split(b"\n"):
            if not line:
                continue
            event = loads(line)
            handle(
                event_type=event["type"],
                obj=event["object"],
                raw_size=len(line),
                received_at=received_at,
            )
            events += 1
            if events % batch == 0:
                flush()
                received_at = datetime.now(UTC)
        settle()  # nothing commits while the next buffer is generated (untimed)
        timings.bytes += len(buffer)
        timings.wall += wall() - start
        timings.cpu += cpu() - start_cpu
    start, start_cpu = wall(), cpu()
    flush()
    settle()
    timings.wall += wall() - start
    timings.cpu += cpu() - start_cpu
    if committer is not None:
        committer.close()
    publisher.wait_idle(30)
    publisher.close()
    return events, timings.wall, publisher, first


def backend_cpu() -> dict[int, float] | None:
    """CPU seconds so far of each PostgreSQL backend of this database (None: not on this
    host). The benchmark has the database to itself, and a committer thread's connection is a
    backend of its own."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend'"
        )
        pids = [pid for (pid,) in cursor.fetchall()]
    found: dict[int, float] = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue  # ended meanwhile
        except OSError:
            return None
        found[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def _cpu_delta(before: dict[int, float] | None, after: dict[int, float] | None) -> str:
    if before is None or after is None:
        return "n/a"
    return f"{sum(at - before.get(pid, 0.0) for pid, at in after.items()):.2f} s"


def run_naive(buffer: bytes, limit: int) -> tuple[int, float, float]:
    """(events, wall seconds, CPU seconds of this process) for the first ``limit`` lines."""
    from kubernetes.client import ApiClient

    from lifecycle_dash.ingest.models import Cluster, Pod

    cluster = Cluster.objects.create(name=f"naive-{uuid.uuid4().hex[:8]}", source="simulator")
    api = ApiClient()

    class _Response:
        def __init__(self, data: str) -> None:
            self.data = data

    lines = [line for line in buffer.split(b"\n") if line][:limit]
    start, start_cpu = time.perf_counter(), time.process_time()
    for line in lines:
        event = json.loads(line)
        pod = api.deserialize(_Response(json.dumps(event["object"])), "V1Pod")
        now = datetime.now(UTC)
        statuses = pod.status.container_statuses or []
        Pod.objects.update_or_create(
            cluster=cluster,
            uid=pod.metadata.uid,
            defaults={
                "namespace": pod.metadata.namespace,
                "name": pod.metadata.name,
                "node_name": pod.spec.node_name or "",
                "phase": pod.status.phase or "",
                "restarts": sum(s.restart_count for s in statuses),
                "labels": pod.metadata.labels or {},
                "created_at": pod.metadata.creation_timestamp,
                "deleted_at": now if event["type"] == "DELETED" else None,
                "resource_version": pod.metadata.resource_version,
                "first_observed_at": now,
                "last_observed_at": now,
            },
        )
    return len(lines), time.perf_counter() - start, time.process_time() - start_cpu


def _sync_pod(i: int) -> dict[str, Any]:
    from benchmarks.kubesim_watch import _pod, _running_status

    pod = _pod(i)
    pod["status"] = _running_status(i, ready=True)
    return pod


def _serve_pods(pods: int, conn: Any) -> None:
    """Simulator process: ``pods`` running pods in the store, served over HTTP."""
    import asyncio

    from lifecycle_dash.kubesim.clock import SimClock
    from lifecycle_dash.kubesim.gctuning import tune_gc
    from lifecycle_dash.kubesim.server import ApiServer
    from lifecycle_dash.kubesim.store import Store

    async def run() -> None:
        tune_gc()
        store = Store(SimClock(), history=1000)
        server = ApiServer(store, token=SYNC_TOKEN, port=0)
        await server.start()
        for namespace in {f"team-{i % 50:02d}" for i in range(min(pods, 50))}:
            store.create("namespaces", {"metadata": {"name": namespace}})
        for i in range(pods):
            store.create("pods", _sync_pod(i))
        conn.send(server.port)
        await asyncio.Event().wait()

    asyncio.run(run())


SYNC_TOKEN = "bench"


def run_sync(pods: int) -> None:
    """The initial sync of a ``pods``-pod simulated cluster: LIST pages -> PostgreSQL."""
    import multiprocessing

    from lifecycle_dash.ingest import kube, watching
    from lifecycle_dash.ingest.committer import Committer
    from lifecycle_dash.ingest.models import Cluster, WatchStream
    from lifecycle_dash.ingest.processors import processor_for
    from lifecycle_dash.kubesim.kubeconfig import kubeconfig as kubeconfig_dict

    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=_serve_pods, args=(pods, child), daemon=True)
    server.start()
    try:
        port = parent.recv()
        kubeconfig = orjson.dumps(kubeconfig_dict(f"http://127.0.0.1:{port}", SYNC_TOKEN))
        api = kube.KubeApi(kube.new_api_client(source="simulator", kubeconfig=kubeconfig.decode()))
        cluster = Cluster.objects.create(name=f"sync-{uuid.uuid4().hex[:8]}", source="simulator")
        stream = WatchStream.objects.select_related("cluster").get(
            pk=WatchStream.objects.create(cluster=cluster, resource="pods").pk
        )

        class _Discard:
            def submit(self, messages: list[dict[str, Any]]) -> int:
                return len(messages)

        processor = processor_for(stream=stream, publisher=_Discard())  # type: ignore[arg-type]

        class _Context:
            def load(self) -> tuple[Any, str | None]:
                return processor, None

            def heartbeat(self, stats: Any) -> None:
                pass

            def record_error(self, message: str) -> None:
                raise AssertionError(message)

        settings = watching.WatchSettings(slice_seconds=3600, read_timeout=120.0)
        committer = Committer("commit-sync")
        layer = watching.ListWatch(
            api=api,
            resource=kube.RESOURCES["pods"],
            namespaces=watching.NamespaceFilter(),
            processor=processor,
            resource_version=None,
            context=_Context(),
            settings=settings,
            stats=watching.WatchStats(),
            stop=watching.StopSignal(),
            deadline=time.monotonic() + 3600,
            committer=committer,
        )
        pg_before = backend_cpu()
        started, cpu_started = time.perf_counter(), time.process_time()
        layer.relist("initial sync")
        layer.settle()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        pg_after = backend_cpu()
        committer.close()
        api.close()
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM ingest_pod WHERE cluster_id = %s",
                [cluster.pk],
            )
            stored = cursor.fetchone()[0]
            cursor.execute(
                "SELECT resource_version FROM ingest_watchstream WHERE id = %s", [stream.pk]
            )
            checkpoint = cursor.fetchone()[0]
        print(
            f"initial sync of a {pods:,}-pod simulated cluster (LIST pages of 500 -> pod "
            f"processor -> PostgreSQL, checkpoint {checkpoint} committed): {elapsed:.1f} s wall "
            f"= {stored / elapsed:,.0f} pods/s; {stored:,} pod rows"
        )
        print(
            f"  this process {cpu:.1f} s CPU ({stored / cpu:,.0f} pods per CPU-second), "
            f"PostgreSQL backend {_cpu_delta(pg_before, pg_after)} CPU; "
            f"load average {os.getloadavg()[0]:.1f}"
        )
    finally:
        server.terminate()
        server.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=8_200, help="~24 events per pod")
    parser.add_argument("--naive-events", type=int, default=2_000, help="the naive sample")
    parser.add_argument("--sync-pods", type=int, default=150_000, help="0: no initial sync")
    parser.add_argument("--no-publish", action="store_true")
    args = parser.parse_args()

    scratch = f"bench_ingest_{os.getpid()}"
    scratch_create(scratch)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lifecycle_dash.settings")
    try:
        import django

        django.setup()
        from django.conf import settings

        # Publish through real Redis, but to a database nobody else listens on: the shared
        # "pods.all" group of a running dashboard must not receive benchmark traffic.
        layer: dict[str, Any] = dict(settings.CHANNEL_LAYERS["default"])
        config: dict[str, Any] = dict(layer["CONFIG"])
        config["hosts"] = [str(config["hosts"][0]).rsplit("/", 1)[0] + "/14"]
        settings.CHANNEL_LAYERS = {"default": {**layer, "CONFIG": config}}
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)

        timings = Timings()
        load_before = os.getloadavg()[0]
        pg_before = backend_cpu()
        events, elapsed, publisher, buffer = run_fast(
            chunks(args.pods), publish=not args.no_publish, timings=timings
        )
        pg_fast = _cpu_delta(pg_before, backend_cpu())
        load_after = os.getloadavg()[0]
        print(
            f"stream: {events:,} pod watch events of {args.pods:,} pods, "
            f"{timings.bytes / events / 1024:.1f} KiB per line, {timings.bytes / 2**20:.0f} MiB"
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM ingest_transition")
            transitions = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM ingest_pod")
            pods = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM ingest_terminationrecord")
            terminations = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM ingest_startuprecord")
            startups = cursor.fetchone()[0]
        per_cpu = events / timings.cpu
        print(
            f"fast path (lines -> orjson -> processors -> PostgreSQL, 1 tx / 1,000 events), "
            f"{events:,} events:"
        )
        print(
            f"  per worker process: {per_cpu:,.0f} events per CPU-second of this process "
            f"({timings.cpu:.2f} s CPU, {timings.cpu / events * 1e6:.1f} us/event; target "
            f"{TARGET_PER_SECOND:,}: {'met' if per_cpu >= TARGET_PER_SECOND else 'MISSED'})"
        )
        print(
            f"  PostgreSQL backend CPU for the same work: {pg_fast}; wall {elapsed:.2f} s = "
            f"{events / elapsed:,.0f} events/s; load average {load_before:.1f} -> "
            f"{load_after:.1f} on {os.cpu_count()} CPUs"
        )
        print(
            f"  split: handle (orjson + snapshot extraction) "
            f"{timings.cpu - timings.flush_cpu:.2f} s CPU / "
            f"{timings.wall - timings.flush_wall:.2f} s wall; flush (diff, rows, COPY, upserts, "
            f"terminations, startups, checkpoint, commit) {timings.flush_cpu:.2f} s CPU / "
            f"{timings.flush_wall:.2f} s wall"
        )
        print(
            f"  wrote {transitions:,} transitions, {pods:,} pod rows, "
            f"{terminations:,} termination records, {startups:,} startup records; "
            f"pod.changed published: {publisher.sent:,} (failed {publisher.failed:,})"
            + (" [publishing disabled]" if args.no_publish else "")
        )
        piped = Timings()
        piped_events, piped_elapsed, _, _ = run_fast(
            chunks(args.pods), publish=not args.no_publish, timings=piped, pipelined=True
        )
        print(
            f"  pipelined as in the watch worker (each batch commits in a thread of its own "
            f"while the next is handled): wall {piped_elapsed:.2f} s = "
            f"{piped_events / piped_elapsed:,.0f} events/s ({events / elapsed:,.0f} inline); "
            f"{piped_events / piped.cpu:,.0f} events per CPU-second; waits for the previous "
            f"batch {piped.flush_wall:.2f} s; load average {os.getloadavg()[0]:.1f}"
        )
        pg_before = backend_cpu()
        naive_events, naive_wall, naive_cpu = run_naive(buffer, args.naive_events)
        pg_naive = _cpu_delta(pg_before, backend_cpu())
        naive_per_cpu = naive_events / naive_cpu
        naive_wall_rate = naive_events / naive_wall
        print(
            f"naive path (ApiClient.deserialize -> V1Pod, one ORM update_or_create per event), "
            f"MEASURED on a sample of {naive_events:,} events of the same stream:"
        )
        print(
            f"  {naive_per_cpu:,.0f} events per CPU-second of this process ({naive_cpu:.2f} s "
            f"CPU), PostgreSQL backend {pg_naive} CPU; wall {naive_wall:.2f} s = "
            f"{naive_wall_rate:,.0f} events/s; load average {os.getloadavg()[0]:.1f}"
        )
        print(
            f"  EXTRAPOLATED to the {events:,} events: {events / naive_per_cpu:,.0f} s CPU, "
            f"{events / naive_wall_rate:,.0f} s wall (fast path: {timings.cpu:,.0f} s CPU, "
            f"{elapsed:,.0f} s wall)"
        )
        ratio = per_cpu / naive_per_cpu
        print(
            f"ratio fast/naive per worker-process CPU-second: {ratio:.1f}x (target "
            f"{TARGET_RATIO:.0f}x: {'met' if ratio >= TARGET_RATIO else 'MISSED'}); "
            f"wall events/s ratio {events / elapsed / naive_wall_rate:.1f}x"
        )
        if args.sync_pods:
            run_sync(args.sync_pods)
        connection.close()
    finally:
        scratch_drop(scratch)


if __name__ == "__main__":
    main()
