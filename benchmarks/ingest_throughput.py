"""Pod watch events into PostgreSQL through the real processors and writer, one process.

Run:  python -m benchmarks.ingest_throughput [--pods N] [--naive-events N] [--no-publish]

Creates a scratch database (dropped at the end), migrates it, and replays a realistic pod
watch stream (``benchmarks.lifecycle_throughput.build_stream``: ~4 KB objects with full
specs, managedFields, several containers; each pod scheduled, started, ready, flapping,
restarting, deleted) as JSON lines. The timed path does what the watch worker does: split
the buffer into lines, ``orjson.loads`` each, ``processor.handle``, ``flush`` every 1,000
events (COPY of transitions, one upsert of pods, termination records, checkpoint, one
transaction each) and hand ``pod.changed`` messages to the publisher (real Redis).

The naive path, on a smaller sample, is what a straightforward implementation does:
``ApiClient().deserialize`` of every event into a ``V1Pod`` model and one ORM
``update_or_create`` per event. Prints events/s for both and the ratio.
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
    buffers: Iterable[bytes], *, publish: bool, timings: Timings, batch: int = 1000
) -> tuple[int, float, Any, bytes]:
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

    def flush() -> None:
        w, c = wall(), cpu()
        processor.flush(resource_version=None)
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
        timings.bytes += len(buffer)
        timings.wall += wall() - start
        timings.cpu += cpu() - start_cpu
    start, start_cpu = wall(), cpu()
    flush()
    timings.wall += wall() - start
    timings.cpu += cpu() - start_cpu
    publisher.wait_idle(30)
    publisher.close()
    return events, timings.wall, publisher, first


def run_naive(buffer: bytes, limit: int) -> tuple[int, float]:
    from kubernetes.client import ApiClient

    from lifecycle_dash.ingest.models import Cluster, Pod

    cluster = Cluster.objects.create(name=f"naive-{uuid.uuid4().hex[:8]}", source="simulator")
    api = ApiClient()

    class _Response:
        def __init__(self, data: str) -> None:
            self.data = data

    lines = [line for line in buffer.split(b"\n") if line][:limit]
    start = time.perf_counter()
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
    return len(lines), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=8_200, help="~24 events per pod")
    parser.add_argument("--naive-events", type=int, default=4_000)
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
        events, elapsed, publisher, buffer = run_fast(
            chunks(args.pods), publish=not args.no_publish, timings=timings
        )
        print(
            f"stream: {events:,} pod watch events of {args.pods:,} pods, "
            f"{timings.bytes / events / 1024:.1f} KiB per line, {timings.bytes / 2**20:.0f} MiB"
        )
        fast = events / elapsed
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM ingest_transition")
            transitions = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM ingest_pod")
            pods = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM ingest_terminationrecord")
            terminations = cursor.fetchone()[0]
        print(
            f"fast path (lines -> orjson -> processors -> PostgreSQL, 1 tx / 1,000 events): "
            f"{events:,} events in {elapsed:.2f} s = {fast:,.0f} events/s "
            f"(target {TARGET_PER_SECOND:,}: {'met' if fast >= TARGET_PER_SECOND else 'MISSED'})"
        )
        load = os.getloadavg()[0]
        print(
            f"  load average {load:.1f} on {os.cpu_count()} CPUs; this process used "
            f"{timings.cpu:.2f} s CPU = {events / timings.cpu:,.0f} events per CPU-second"
        )
        print(
            f"  split: handle (orjson + snapshot extraction) "
            f"{timings.wall - timings.flush_wall:.2f} s wall / "
            f"{timings.cpu - timings.flush_cpu:.2f} s CPU; flush (diff, rows, COPY, "
            f"upserts, terminations, checkpoint, commit) {timings.flush_wall:.2f} s wall / "
            f"{timings.flush_cpu:.2f} s CPU"
        )
        print(
            f"  wrote {transitions:,} transitions, {pods:,} pod rows, "
            f"{terminations:,} termination records; pod.changed published: "
            f"{publisher.sent:,} (failed {publisher.failed:,})"
            + (" [publishing disabled]" if args.no_publish else "")
        )
        naive_events, naive_elapsed = run_naive(buffer, args.naive_events)
        naive = naive_events / naive_elapsed
        print(
            f"naive path (ApiClient.deserialize -> V1Pod, one ORM update_or_create per event): "
            f"{naive_events:,} events in {naive_elapsed:.2f} s = {naive:,.0f} events/s"
        )
        ratio = fast / naive
        print(
            f"ratio fast/naive: {ratio:.1f}x "
            f"(target {TARGET_RATIO:.0f}x: {'met' if ratio >= TARGET_RATIO else 'MISSED'})"
        )
        connection.close()
    finally:
        scratch_drop(scratch)


if __name__ == "__main__":
    main()
