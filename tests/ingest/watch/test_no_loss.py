"""Nothing lost, nothing doubled: real workers, real processor, the simulator's faults.

One cluster (``scale`` scenario: running pods with a steady churn of readiness flips, container
restarts and pod replacements), three watch workers on their own Redis, the supervisor every
second, and then, one after the other: dropped watches, a stalled stream, every database
connection of the workers terminated, the worker holding the pod stream SIGKILLed, a Redis
restart, and a history compaction (410 => relist => reconciliation).

Checked afterwards, against the simulator:

* convergence: every pod the simulator lists is stored at that resourceVersion or newer, and
  every pod stored alive is listed or newer than the list;
* the restart ledger: for every pod, container restarts 1..restartCount each appear exactly
  once (a lost MODIFIED would show up as an ``in_gap`` restart outside the one compaction, a
  replayed one as a duplicate);
* no transition is stored twice;
* the compaction left an ObservationGap.
"""

from __future__ import annotations

import collections
import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection

from lifecycle_dash.ingest import supervisor
from lifecycle_dash.ingest.models import ObservationGap, Pod, Transition, WatchStream
from tests.ingest.watch.conftest import beat_command, make_cluster, redis_command
from tests.ingest.watch.sim import Simulator
from tests.support.processes import celery_worker_command, free_port, port_open, running, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration, pytest.mark.slow]

OPTIONS = {
    "slice_seconds": 5.0,
    "read_timeout": 2.0,
    "heartbeat_interval": 1.0,
    "backoff_max": 1.0,
    "reservation_seconds": 8.0,
}


@pytest.fixture
def churn(tmp_path: Path) -> Iterator[Simulator]:
    simulator = Simulator(
        tmp_path, scenario="scale", extra=["--set", "pods=300", "--set", "churn=60"]
    )
    yield simulator
    simulator.stop()


def terminate_worker_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        )
        return int(cursor.fetchone()[0])


def test_no_loss_no_duplicates_through_every_fault(
    churn: Simulator, stack_env: dict[str, str]
) -> None:
    cluster = make_cluster(churn)
    supervisor.streams_ensure()
    pods_stream = WatchStream.objects.filter(cluster=cluster, resource="pods")
    redis_port = free_port()
    env = {**stack_env, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"}
    beat = beat_command(1.0, OPTIONS)

    def checkpoint() -> int:
        return int(pods_stream.get().resource_version or 0)

    def advances(timeout: float = 30.0) -> None:
        before = checkpoint()
        assert wait_until(lambda: checkpoint() > before, timeout=timeout), (
            f"the pod stream is stuck at {before}: {pods_stream.get().last_error}"
        )

    redis = running(redis_command(redis_port), env=env, name="no-loss-redis")
    redis.__enter__()
    try:
        assert wait_until(lambda: port_open(redis_port), timeout=10)
        with (
            running(celery_worker_command("watch", "nl1@%h"), env=env, name="no-loss-w1") as w1,
            running(celery_worker_command("watch", "nl2@%h"), env=env, name="no-loss-w2") as w2,
            running(celery_worker_command("watch", "nl3@%h"), env=env, name="no-loss-w3") as w3,
            running(beat, env=env, name="no-loss-beat"),
        ):
            workers = {w.pid: w for w in (w1, w2, w3)}
            assert wait_until(lambda: checkpoint() > 0, timeout=60), "nothing was ingested"
            # Pods restarted before the first list show their earlier restarts as a gap.
            first_listed = datetime.now(UTC)

            churn.wait_for_watches()
            assert churn.fault("drop-watches")["watches"] >= 1
            advances()

            churn.wait_for_watches()
            churn.fault("stall-watches", seconds=5)
            advances(timeout=15)  # the 2 s read timeout moves it on before the stall ends

            assert terminate_worker_connections() >= 1
            advances()

            holder = pods_stream.get().lease_owner
            if holder.count(":") == 2 and not holder.startswith("queued:"):
                victim = int(holder.split(":")[1])
                if victim in workers:
                    os.killpg(victim, signal.SIGKILL)
            advances(timeout=45)

            # Redis restart: queued slices and unacked messages are gone.
            redis.__exit__(None, None, None)
            time.sleep(1)
            redis = running(redis_command(redis_port), env=env, name="no-loss-redis-2")
            redis.__enter__()
            assert wait_until(lambda: port_open(redis_port), timeout=10)
            advances(timeout=45)

            # Compact while the watch is stalled and behind: its resume point is then gone.
            churn.wait_for_watches()
            churn.fault("stall-watches", seconds=4)
            time.sleep(0.5)
            churn.fault("compact")
            assert wait_until(lambda: pods_stream.get().relists_total >= 2, timeout=45), (
                "no relist after the compaction"
            )
            advances()

            # Convergence with the churn still running: everything up to a LIST is stored.
            listed = churn.request("GET", "/api/v1/pods")
            list_rv = int(listed["metadata"]["resourceVersion"])
            assert wait_until(lambda: checkpoint() >= list_rv, timeout=45)
    finally:
        redis.__exit__(None, None, None)

    stored = {
        uid: (int(rv or 0), deleted)
        for uid, rv, deleted in Pod.objects.filter(cluster=cluster).values_list(
            "uid", "resource_version", "deleted_at"
        )
    }
    for pod in listed["items"]:
        uid, rv = pod["metadata"]["uid"], int(pod["metadata"]["resourceVersion"])
        assert uid in stored, f"pod {pod['metadata']['name']} was never stored"
        assert stored[uid][0] >= rv or stored[uid][1] is not None
    listed_uids = {p["metadata"]["uid"] for p in listed["items"]}
    for uid, (rv, deleted) in stored.items():
        if deleted is None and uid not in listed_uids:
            assert rv > list_rv, f"pod {uid} is stored alive but the simulator deleted it"

    # Nothing doubled: no transition stored twice.
    keys = collections.Counter(
        Transition.objects.filter(cluster=cluster).values_list("pod_uid", "kind", "subject", "key")
    )
    doubled = {key: n for key, n in keys.items() if n > 1}
    assert not doubled, f"transitions stored more than once: {list(doubled.items())[:5]}"

    # Nothing lost: every restart of every pod appears once; gaps only from the compaction.
    restarts = Transition.objects.filter(cluster=cluster, kind="container_restart")
    assert restarts.count() > 0, "the scenario produced no restarts to check"
    gap_restarts = [t for t in restarts if t.detail.get("in_gap")]
    gaps = list(ObservationGap.objects.filter(cluster=cluster, resource="pods"))
    assert gaps, "the 410 relist recorded no ObservationGap"
    slack = timedelta(seconds=5)
    for transition in gap_restarts:
        assert transition.observed_at <= first_listed or any(
            gap.started_at <= transition.observed_at <= gap.ended_at + slack for gap in gaps
        ), f"a restart was reconstructed outside any gap: {transition}"
    numbers: dict[tuple[str, str], list[int]] = collections.defaultdict(list)
    for transition in restarts:
        detail = transition.detail
        first = detail.get("gap_first", detail["restart"])
        numbers[(transition.pod_uid, transition.subject)].extend(
            range(first, detail["restart"] + 1)
        )
    for (uid, container), seen in numbers.items():
        assert sorted(seen) == list(range(1, max(seen) + 1)), (
            f"pod {uid} container {container}: restarts {sorted(seen)}"
        )
