"""Real Celery workers on queue "watch": one slice per stream at a time, takeover after SIGKILL."""

from __future__ import annotations

import itertools
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lifecycle_dash.ingest import supervisor
from lifecycle_dash.ingest.models import WatchStream
from tests.ingest.watch.conftest import beat_command, make_cluster
from tests.ingest.watch.sim import Simulator
from tests.support.processes import BASE_DIR, celery_worker_command, running, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration, pytest.mark.slow]

SLICE_OPTIONS = {"slice_seconds": 3.0, "read_timeout": 5.0}
START_END = re.compile(r"watch slice (start|end) stream=(\d+) owner=(\S+) at=([\d.]+)")


@pytest.fixture
def scale_sim(tmp_path: Path) -> Iterator[Simulator]:
    simulator = Simulator(tmp_path, scenario="scale", speed=1.0)
    yield simulator
    simulator.stop()


def slice_intervals(
    logs: list[Path], killed: dict[str, float]
) -> dict[str, list[tuple[float, float, str]]]:
    """stream -> [(start, end, owner)] from the workers' logs; a killed owner ends at its kill."""
    starts: dict[str, tuple[str, float]] = {}
    intervals: dict[str, list[tuple[float, float, str]]] = {}
    for log in logs:
        for kind, stream, owner, at in START_END.findall(log.read_text(errors="replace")):
            if kind == "start":
                starts[owner] = (stream, float(at))
            else:
                stream_, started = starts.pop(owner)
                intervals.setdefault(stream_, []).append((started, float(at), owner))
    for owner, (stream, started) in starts.items():
        pid = owner.split(":")[1]
        end = killed.get(pid, float("inf"))
        intervals.setdefault(stream, []).append((started, end, owner))
    return intervals


def test_two_workers_never_run_one_stream_at_once_and_a_killed_workers_stream_moves(
    scale_sim: Simulator, watch_env: dict[str, str]
) -> None:
    cluster = make_cluster(scale_sim)
    supervisor.streams_ensure()
    logs = [BASE_DIR / "test-artifacts" / "logs" / f"watch-lease-{n}.log" for n in (1, 2)]
    for log in logs:
        log.unlink(missing_ok=True)
    with (
        running(
            celery_worker_command("watch", "lease1@%h"), env=watch_env, name="watch-lease-1"
        ) as first,
        running(
            celery_worker_command("watch", "lease2@%h"), env=watch_env, name="watch-lease-2"
        ) as second,
        # The supervisor as beat runs it in production: every 5 s.
        running(beat_command(5.0, SLICE_OPTIONS), env=watch_env, name="watch-lease-beat"),
    ):
        pods = WatchStream.objects.filter(cluster=cluster, resource="pods")
        assert wait_until(lambda: pods.get().resource_version != "", timeout=40), (
            "no slice committed a checkpoint"
        )
        # Let slices rotate over both workers for a while.
        time.sleep(4)
        holder = ""

        def held_by_a_worker() -> bool:
            nonlocal holder
            holder = pods.get().lease_owner
            return holder.count(":") == 2 and not holder.startswith("queued:")

        assert wait_until(held_by_a_worker, timeout=15)
        victim_pid = int(holder.split(":")[1])
        workers = {first.pid: first, second.pid: second}
        assert victim_pid in workers, f"{holder} is not one of our workers"
        survivor_pid = next(pid for pid in workers if pid != victim_pid)
        os.killpg(victim_pid, signal.SIGKILL)
        killed_at = time.time()
        checkpoint = pods.get().resource_version

        def taken_over() -> bool:
            stream = pods.get()
            return f":{survivor_pid}:" in stream.lease_owner and (
                stream.resource_version != checkpoint
            )

        assert wait_until(taken_over, timeout=30, interval=0.2), (
            f"not taken over: {pods.get().lease_owner}"
        )
        takeover = time.time() - killed_at

    intervals = slice_intervals(logs, {str(victim_pid): killed_at})
    assert str(pods.get().pk) in intervals
    assert len(intervals[str(pods.get().pk)]) >= 3
    for stream, spans in intervals.items():
        spans.sort()
        for (_, end, owner), (start, _, next_owner) in itertools.pairwise(spans):
            assert start >= end, f"stream {stream}: {next_owner} started before {owner} ended"
    assert takeover < 30


@pytest.mark.parametrize("pool", ["solo", "prefork"])
def test_sigterm_stops_the_slice_at_once_flushes_and_hands_the_stream_over(
    scale_sim: Simulator, watch_env: dict[str, str], pool: str
) -> None:
    from lifecycle_dash.ingest import leases, tasks

    cluster = make_cluster(scale_sim)
    supervisor.streams_ensure()
    pods = WatchStream.objects.get(cluster=cluster, resource="pods")
    # Only the pod stream, for a long slice: without SIGTERM handling it would run 120 s.
    reservation = leases.new_reservation()
    assert leases.lease_reserve(stream_id=pods.pk, reservation=reservation)
    command = celery_worker_command("watch", f"term-{pool}@%h")
    command[command.index("solo")] = pool
    if pool == "prefork":
        command += ["-c", "1"]
    with running(command, env=watch_env, name=f"watch-term-{pool}") as worker:
        from celery import Celery

        # Not the current app: tasks sent later in this process must keep the project's broker.
        app = Celery(broker=watch_env["REDIS_URL"], set_as_current=False)
        app.send_task(
            tasks.watch_slice.name,
            args=(pods.pk,),
            kwargs={"reservation": reservation, "options": {"slice_seconds": 120}},
            queue="watch",
        )

        def leased_by_worker() -> bool:
            pods.refresh_from_db()
            # host:pid:token (the pid is the pool child's under prefork), not queued:token
            running_slice = pods.lease_owner.count(":") == 2
            return running_slice and pods.resource_version != ""

        assert wait_until(leased_by_worker, timeout=40)
        time.sleep(1.0)
        os.kill(worker.pid, signal.SIGTERM)
        stopped_at = time.monotonic()
        worker.wait(timeout=20)
        exited_after = time.monotonic() - stopped_at
        checkpoint_before = int(pods.resource_version)
        pods.refresh_from_db()

    assert exited_after < 10, f"the worker took {exited_after:.1f} s to stop"
    # Flushed on the way out, and handed over to a queued successor instead of left to expire.
    assert int(pods.resource_version) > checkpoint_before
    assert pods.lease_owner.startswith(leases.RESERVATION_PREFIX)
    log = (BASE_DIR / "test-artifacts" / "logs" / f"watch-term-{pool}.log").read_text()
    assert "ended: stopped worker warm shutdown" in log
