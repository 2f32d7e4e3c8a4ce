"""Nothing lost, nothing doubled: real workers, real processor, the simulator's faults.

One cluster (``scale`` scenario: 300 running pods and a steady churn of readiness flips,
container restarts and pod replacements, started once the workers are already trying to watch
it, so they see it from its first pod), three watch workers on their own Redis, the supervisor
every second, and then, one after the other: dropped watches, a stalled stream, every database
connection of the workers terminated, the worker holding the pod stream SIGKILLed, a Redis
restart, and a history compaction (410 => relist => reconciliation).

Checked afterwards, against the simulator's ground truth: its journal of every pod write
(``--changes-out``), up to the stream's final checkpoint, turned into the transitions an ingest
that saw every version would store, and compared one by one with the stored transitions
(``ledger.py`` says exactly how): 0 missing (a change neither stored nor written where the
product recorded that it could not look: before its first list or inside an ObservationGap),
0 duplicated (a key stored twice, or an attribute whose stored values do not chain), 0 stored
transitions the truth cannot explain, and a restart ledger in which every restart the simulator
made is stored exactly once, collapsed or not. Also: convergence with a LIST at the end, and
the compaction left an ObservationGap.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from lifecycle_dash.ingest import supervisor
from lifecycle_dash.ingest.models import Cluster, ObservationGap, Pod, Transition, WatchStream
from lifecycle_dash.kubesim.kubeconfig import kubeconfig
from tests.ingest.watch.conftest import beat_command, redis_command
from tests.ingest.watch.ledger import (
    Comparison,
    StoredTransition,
    Window,
    compare,
    read_journal,
    truth_transitions,
)
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


class Churn:
    """The churning simulator, its address and token fixed before it runs.

    The workers are already watching it (and failing to connect, backing off) when it starts,
    so their first list comes within a second or two of its first pod: nearly every change it
    makes is one the stream could have seen, rather than history from before it looked.
    """

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.simulator: Simulator | None = None

    def cluster(self) -> Cluster:
        config = kubeconfig(f"http://127.0.0.1:{self.port}", self.token)
        cluster = Cluster(name="sim", source=Cluster.Source.SIMULATOR)
        cluster.set_kubeconfig(json.dumps(config))
        cluster.save()
        return cluster

    def start(self) -> Simulator:
        self.simulator = Simulator(
            self.tmp_path,
            scenario="scale",
            extra=["--set", "pods=300", "--set", "churn=60", "--token", self.token],
            port=self.port,
            journal=True,
        )
        return self.simulator


@pytest.fixture
def churn(tmp_path: Path) -> Iterator[Churn]:
    late = Churn(tmp_path)
    yield late
    if late.simulator is not None:
        late.simulator.stop()


def terminate_worker_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        )
        return int(cursor.fetchone()[0])


def test_no_loss_no_duplicates_through_every_fault(churn: Churn, stack_env: dict[str, str]) -> None:
    cluster = churn.cluster()
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
            # A slice is trying to reach the not yet started simulator: start it.
            assert wait_until(lambda: pods_stream.get().last_error_at is not None, timeout=60)
            sim = churn.start()
            assert wait_until(lambda: checkpoint() > 0, timeout=60), "nothing was ingested"

            sim.wait_for_watches()
            assert sim.fault("drop-watches")["watches"] >= 1
            advances()

            sim.wait_for_watches()
            sim.fault("stall-watches", seconds=5)
            advances(timeout=15)  # the 2 s read timeout moves it on before the stall ends

            assert terminate_worker_connections() >= 1
            advances()

            # SIGKILL the whole worker (main process and pool) whose pool process runs the pod
            # slice: with 60 changes a second it is in the middle of a batch.
            def running_slice_pid() -> int | None:
                holder = pods_stream.get().lease_owner  # "<host>:<pid>:<token>" while running
                if holder.count(":") != 2 or holder.startswith("queued:"):
                    return None
                return int(holder.split(":")[1])

            assert wait_until(lambda: running_slice_pid() is not None, timeout=30)
            victim = os.getpgid(running_slice_pid() or 0)
            assert victim in workers, f"the slice runs outside the test's workers: {victim}"
            os.killpg(victim, signal.SIGKILL)
            advances(timeout=45)  # the victim is dead: another worker took the stream over

            # Redis restart: queued slices and unacked messages are gone.
            redis.__exit__(None, None, None)
            time.sleep(1)
            redis = running(redis_command(redis_port), env=env, name="no-loss-redis-2")
            redis.__enter__()
            assert wait_until(lambda: port_open(redis_port), timeout=10)
            advances(timeout=45)

            # Compact while the watch is stalled and behind: its resume point is then gone.
            sim.wait_for_watches()
            sim.fault("stall-watches", seconds=4)
            time.sleep(0.5)
            sim.fault("compact")
            assert wait_until(lambda: pods_stream.get().relists_total >= 2, timeout=45), (
                "no relist after the compaction"
            )
            advances()

            # Convergence with the churn still running: everything up to a LIST is stored.
            listed = sim.request("GET", "/api/v1/pods")
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

    gaps = list(ObservationGap.objects.filter(cluster=cluster, resource="pods"))
    assert gaps, "the 410 relist recorded no ObservationGap"

    # The workers are stopped: rows and checkpoint are final and were committed together, so
    # the stored history covers exactly the simulator's writes up to the checkpoint.
    comparison = compare_with_journal(sim, cluster, until_rv=checkpoint(), gaps=gaps)
    print(comparison.table())
    # Hundreds of lifecycles: 300 pods at the start, the churn's replacements, restarts.
    assert comparison.pods_truth >= 300
    assert comparison.pods_deleted_truth >= 20
    assert comparison.total("matched") >= 1000
    assert comparison.restarts_truth >= 50
    # The compaction's relist collapsed some changes: the gap accounting was exercised.
    assert comparison.total("in_gap") > 0, comparison.table()
    assert comparison.total("missing") == 0, comparison.table()
    assert comparison.restarts_missing == [], comparison.table()
    assert comparison.total("duplicated") == 0, comparison.table()
    assert comparison.total("chain_breaks") == 0, comparison.table()
    assert comparison.restarts_duplicated == [], comparison.table()
    assert comparison.total("unexplained") == 0, comparison.table()
    assert comparison.restarts_unexplained == [], comparison.table()


def compare_with_journal(
    simulator: Simulator, cluster: Cluster, *, until_rv: int, gaps: list[ObservationGap]
) -> Comparison:
    assert simulator.journal_path is not None
    pods = read_journal(simulator.journal_path, until_rv=until_rv)
    rows = [
        StoredTransition(*row)
        for row in Transition.objects.filter(cluster=cluster)
        .order_by("id")
        .values_list(
            "id", "pod_uid", "kind", "subject", "key", "old", "new", "observed_at", "detail"
        )
    ]
    assert rows, "nothing was stored"
    return compare(
        truth=truth_transitions(pods),
        stored=rows,
        gaps=[Window(gap.started_at, gap.ended_at) for gap in gaps],
        # The first list: the first thing the stream stored.
        first_observation=min(row.observed_at for row in rows),
        pods=pods,
    )
