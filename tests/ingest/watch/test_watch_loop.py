"""The three watch layers against the real simulator (no database: a recording processor)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from lifecycle_dash.ingest import kube, watching
from tests.ingest.watch.recorder import Database, MemoryContext
from tests.ingest.watch.sim import Simulator

PODS = kube.RESOURCES["pods"]


def api_for(sim: Simulator, *, token: str | None = None) -> kube.KubeApi:
    config = kube.load_kubeconfig(sim.kubeconfig)
    if token is not None:
        config["users"][0]["user"]["token"] = token
    return kube.KubeApi(kube.new_api_client(source="simulator", kubeconfig=config))


def fast(**overrides: float) -> watching.WatchSettings:
    settings = watching.WatchSettings(
        slice_seconds=3.0,
        server_timeout=30,
        read_timeout=5.0,
        backoff_initial=0.05,
        backoff_max=0.5,
        heartbeat_interval=0.5,
    )
    for name, value in overrides.items():
        setattr(settings, name, value)
    return settings


class Slice:
    """``run_stream`` in a thread, as a worker runs it."""

    def __init__(
        self,
        sim: Simulator,
        db: Database,
        settings: watching.WatchSettings,
        *,
        namespaces: watching.NamespaceFilter | None = None,
        token: str | None = None,
        context: MemoryContext | None = None,
    ) -> None:
        self.context = context if context is not None else MemoryContext(db)
        self.stop = watching.StopSignal()
        self.api = api_for(sim, token=token)
        self.result: watching.StreamResult | None = None
        self.thread = threading.Thread(
            target=self._run, args=(settings, namespaces or watching.NamespaceFilter())
        )
        self.thread.start()

    def _run(self, settings: watching.WatchSettings, namespaces: watching.NamespaceFilter) -> None:
        try:
            self.result = watching.run_stream(
                api=self.api,
                resource=PODS,
                namespaces=namespaces,
                context=self.context,
                settings=settings,
                stop=self.stop,
            )
        finally:
            self.api.close()

    def join(self, timeout: float = 30.0) -> watching.StreamResult:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the slice did not end"
        assert self.result is not None
        return self.result


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def caught_up_state(sim: Simulator, db: Database) -> dict[str, str]:
    """The stored state after one more short slice from the checkpoint: on a loaded machine the
    slice under test may reach its deadline before the test's last write arrives."""
    Slice(sim, db, fast(slice_seconds=1.5)).join()
    return db.state


def assert_exact(sim: Simulator, db: Database) -> None:
    """What was committed after the last relist is the simulator's history, exactly."""
    assert db.relists, "never listed"
    list_rv = db.relists[-1][1]
    assert db.checkpoint is not None
    truth = sim.history("/api/v1/pods", list_rv, db.checkpoint)
    assert db.after(list_rv) == truth
    assert len(set(truth)) == len(truth)


def test_it_lists_then_watches_and_commits_the_checkpoint(sim: Simulator) -> None:
    for i in range(7):
        sim.create_pod(f"before-{i}")
    db = Database()
    running = Slice(sim, db, fast(slice_seconds=2.5))
    sim.wait_for_watches()
    for i in range(5):
        sim.create_pod(f"during-{i}")
    sim.label_pod("before-0", "one")
    sim.delete_pod("before-1")
    result = running.join()

    assert result.outcome is watching.Outcome.DEADLINE
    assert [kind for kind, _, _ in db.committed].count("LISTED") == 7
    assert db.relists[0][0] == "no checkpoint"
    assert result.stats.events == len(db.committed)
    assert caught_up_state(sim, db) == sim.pods()
    assert len(db.committed) >= 7 + 5 + 1 + 1
    assert_exact(sim, db)


def test_it_resumes_from_the_checkpoint_after_dropped_watches_without_duplicates(
    sim: Simulator,
) -> None:
    db = Database()
    running = Slice(sim, db, fast(slice_seconds=4.0))
    for round_ in range(4):
        sim.wait_for_watches()
        for i in range(10):
            sim.create_pod(f"p{round_}-{i}")
        dropped = sim.fault("drop-watches")
        assert dropped["watches"] >= 1
        time.sleep(0.2)
    result = running.join()
    # A second slice resumes from the committed checkpoint: no relist, nothing replayed.
    sim.create_pod("between-slices")
    second = Slice(sim, db, fast(slice_seconds=1.0)).join()

    assert len(db.relists) == 1
    assert result.stats.reconnects >= 4
    assert any("connection lost" in error for error in running.context.errors)
    assert second.stats.relists == 0
    assert caught_up_state(sim, db) == sim.pods()
    assert_exact(sim, db)


def test_it_relists_after_410_and_reconciles_what_it_missed(sim: Simulator) -> None:
    for name in ("keep", "doomed", "edited"):
        sim.create_pod(name)
    db = Database()
    Slice(sim, db, fast(slice_seconds=2.5)).join()
    old_checkpoint = db.checkpoint
    assert old_checkpoint is not None
    # While nobody watches: a deletion, an edit, a creation, then history is compacted.
    doomed_uid = next(uid for kind, uid, _ in db.committed if kind == "LISTED")
    sim.delete_pod("doomed")
    sim.label_pod("edited", "changed")
    sim.create_pod("newcomer")
    sim.fault("compact")

    result = Slice(sim, db, fast(slice_seconds=3.0)).join()

    assert result.stats.relists == 1
    assert len(db.relists) == 2
    reason, list_rv = db.relists[-1]
    assert reason.startswith("410")
    assert int(list_rv) > int(old_checkpoint or 0)
    assert caught_up_state(sim, db) == sim.pods()
    assert doomed_uid not in db.state or doomed_uid in sim.pods()
    assert len(db.state) == 3


def test_a_stalled_stream_is_detected_by_the_read_timeout_and_resumed(sim: Simulator) -> None:
    db = Database()
    running = Slice(sim, db, fast(slice_seconds=6.0, read_timeout=1.0))
    sim.wait_for_watches()
    sim.create_pod("before-stall")
    wait_for(lambda: any(uid for _, uid, _ in db.committed))
    sim.fault("stall-watches", seconds=3)
    sim.create_pod("during-stall")
    started = time.monotonic()
    # The stalled connection is still open; a new one from the checkpoint delivers the pod.
    wait_for(lambda: len(db.state) == 2, timeout=5.0)
    seen_after = time.monotonic() - started
    result = running.join()

    assert seen_after < 2.9, "resumed only when the stall ended"
    assert result.stats.timeouts >= 1
    assert caught_up_state(sim, db) == sim.pods()
    assert_exact(sim, db)


def test_a_malformed_line_is_counted_and_the_stream_goes_on(sim: Simulator) -> None:
    db = Database()
    running = Slice(sim, db, fast(slice_seconds=2.0))
    sim.wait_for_watches()
    sim.create_pod("first")
    wait_for(lambda: len(db.state) == 1)
    assert sim.fault("malformed-watch-line")["watches"] == 1
    sim.create_pod("second")
    result = running.join()

    assert result.stats.bad_lines == 1
    assert len(db.bad_lines) == 1
    assert db.bad_lines[0].startswith(b'{"type":"MODIFIED"')
    assert result.stats.reconnects == 0
    assert caught_up_state(sim, db) == sim.pods()
    assert_exact(sim, db)


def test_a_401_stops_the_stream_with_the_servers_message(sim: Simulator) -> None:
    db = Database()
    result = Slice(sim, db, fast(slice_seconds=5.0), token="revoked").join(timeout=5)

    assert result.outcome is watching.Outcome.UNAUTHORIZED
    assert result.message == "Unauthorized"
    assert db.flushes == 0


def test_a_403_on_the_watch_stops_the_stream(sim: Simulator) -> None:
    db = Database()
    running = Slice(sim, db, fast(slice_seconds=5.0))
    sim.wait_for_watches()
    sim.fault("forbid", rule="watch:pods")
    sim.fault("drop-watches")
    result = running.join(timeout=5)

    assert result.outcome is watching.Outcome.FORBIDDEN
    assert 'cannot watch resource "pods"' in result.message


def test_connection_refused_backs_off_and_is_recorded(tmp_path: Path) -> None:
    simulator = Simulator(tmp_path)
    kubeconfig = simulator.kubeconfig
    simulator.stop()  # nothing listens on that port any more
    db = Database()
    context = MemoryContext(db)
    api = kube.KubeApi(kube.new_api_client(source="simulator", kubeconfig=kubeconfig))
    result = watching.run_stream(
        api=api,
        resource=PODS,
        namespaces=watching.NamespaceFilter(),
        context=context,
        settings=fast(slice_seconds=1.5, backoff_initial=0.2, backoff_max=0.4),
        stop=watching.StopSignal(),
    )

    assert result.outcome is watching.Outcome.DEADLINE
    # Back-off, not a busy loop: 1.5 s at 0.1..0.4 s per attempt.
    assert 3 <= result.stats.reconnects <= 15
    assert "Connection refused" in context.errors[0] or "refused" in context.errors[0].lower()


def test_a_stop_request_ends_a_quiet_watch_at_once_and_flushes(sim: Simulator) -> None:
    db = Database()
    running = Slice(sim, db, fast(slice_seconds=60.0, read_timeout=60.0))
    sim.wait_for_watches()
    sim.create_pod("only")
    wait_for(lambda: len(db.state) == 1)
    started = time.monotonic()
    running.stop.set("SIGTERM")
    result = running.join(timeout=5)

    # Well under the read timeout (60 s) and the slice (60 s): the socket was shut down.
    assert time.monotonic() - started < 3.0
    assert result.outcome is watching.Outcome.STOPPED
    # Everything handled was flushed with its checkpoint on the way out.
    assert db.checkpoint == db.committed[-1][2]


def test_namespace_lists_filter_client_side(sim: Simulator) -> None:
    for namespace in ("shop", "infra", "noise"):
        sim.create_namespace(namespace)
    db = Database()
    running = Slice(
        sim,
        db,
        fast(slice_seconds=2.0),
        namespaces=watching.NamespaceFilter(include=["shop", "infra"], exclude=["kube-system"]),
    )
    sim.wait_for_watches()
    for namespace in ("shop", "infra", "noise", "default"):
        sim.create_pod("web", namespace)
    running.join()

    pods = sim.request("GET", "/api/v1/pods")["items"]
    wanted = {p["metadata"]["uid"] for p in pods if p["metadata"]["namespace"] in ("shop", "infra")}
    assert set(db.state) == wanted


def test_a_single_included_namespace_watches_that_namespace_only(sim: Simulator) -> None:
    sim.create_namespace("shop")
    sim.fault("forbid", rule="*:pods:")  # cluster-wide pod requests are forbidden
    db = Database()
    running = Slice(
        sim, db, fast(slice_seconds=1.5), namespaces=watching.NamespaceFilter(include=["shop"])
    )
    sim.wait_for_watches()
    sim.create_pod("web", "shop")
    result = running.join()

    assert result.outcome is watching.Outcome.DEADLINE
    assert len(db.state) == 1
