"""Dashboard latency: server time with 150,000 pods, and pod change -> DOM in Chromium.

Run:  .venv/bin/python -m benchmarks.dashboard_latency [--pods 150000] [--skip-browser]

Creates a scratch database (dropped at the end), migrates it and seeds it with a fast COPY:
realistic clusters, namespaces, workloads, STATUS mix, labels, restarts and recently deleted
pods. Then:

(a) server time of the dashboard (the view, middleware included, through Django's test
    client with a signed-in user): first page, filtered pages, other sorts, a deep keyset
    page and the htmx fragment; p50/p95 over repeated requests (target p95 <= 150 ms).

(b) latency from a pod change in the simulator to the changed row in the DOM, in one headless
    Chromium with 20 dashboards (tabs) open on one daphne, while the simulator churns 2,000
    pod events/s (``--scenario scale``) in the background. Everything runs as in production:
    kubesim -> HTTP watch -> Celery watch workers (one per stream, fed by the supervisor) ->
    one transaction per batch -> ``pod.changed`` after commit -> Redis (a redis-server of its
    own) -> consumers -> WebSocket frame -> htmx swap. Probe pods change through the
    simulator's API (a status PATCH whose RESTARTS carries a sequence number) every 100 ms;
    the clock starts just before the PATCH is sent (``time.time()``), and each page records
    with a MutationObserver when its row first shows that number
    (``performance.timeOrigin + performance.now()``, the same wall clock). Printed with it:
    the churn that really reached the pods stream, the ingest backlog, the hops (watch
    receipt from the restart transition's ``observed_at``, a listener on the all-pods group,
    frame arrival in the page), CPU per process, each kind of page's renderer main-thread
    time per frame (DevTools ``Performance`` metrics), PostgreSQL's busiest statements and
    the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from benchmarks._scratch import percentile, scratch_create, scratch_drop
from tests.ingest.watch.sim import MERGE_PATCH

ROOT = Path(__file__).resolve().parent.parent
TARGET_SERVER_P95_MS = 150.0
TARGET_DOM_P50_MS = 100.0
TARGET_DOM_P99_MS = 500.0

STATUS_MIX = [
    ("Running", 0.905),
    ("Pending", 0.02),
    ("ContainerCreating", 0.01),
    ("CrashLoopBackOff", 0.012),
    ("Completed", 0.02),
    ("ImagePullBackOff", 0.005),
    ("Error", 0.005),
    ("OOMKilled", 0.003),
    ("Terminating", 0.01),
    ("Init:0/1", 0.005),
    ("Evicted", 0.005),
]


# --- seeding -------------------------------------------------------------------------------


def seed(pods: int, *, now: datetime) -> dict[str, Any]:
    """COPY ``pods`` realistic pod rows into ingest_pod; returns names useful for filters."""
    from django.db import connection

    from lifecycle_dash.ingest.models import Cluster

    rng = random.Random(7)
    clusters = [
        # Not watched (there is no API server behind them): the supervisor leaves them alone.
        Cluster.objects.create(name=name, source=Cluster.Source.SIMULATOR, enabled=False)
        for name in ("prod-eu", "prod-us", "staging")
    ]
    teams = ["shop", "payments", "search", "ads", "data", "ml", "auth", "infra", "media", "ops"]
    namespaces = [
        f"{team}-{suffix}"
        for team in teams
        for suffix in ("api", "jobs", "web", "etl", "canary", "batch")
    ]
    statuses, weights = zip(*STATUS_MIX, strict=True)
    columns = (
        "cluster_id, uid, namespace, name, node_name, owner_kind, owner_name, phase, status, "
        "ready, restarts, last_restart_at, pod_ip, labels, qos_class, created_at, "
        "deletion_requested_at, deleted_at, deleted_not_before, deletion_source, snapshot, "
        "resource_version, first_observed_at, last_observed_at, recent_resource_versions"
    )
    made = 0
    workload = 0
    start = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY ingest_pod ({columns}) FROM STDIN") as copy,
    ):
        while made < pods:
            workload += 1
            cluster = clusters[workload % len(clusters)]
            namespace = rng.choice(namespaces)
            kind = rng.choice(["api", "worker", "web", "cron", "db", "cache"])
            app = f"{namespace.split('-')[0]}-{kind}-{workload % 97}"
            template = f"{rng.getrandbits(40):010x}"[:10]
            replicas = min(pods - made, rng.choice([1, 2, 3, 3, 5, 8, 12, 20, 40]))
            env = rng.choice(["prod", "prod", "staging", "dev"])
            for _ in range(replicas):
                status = rng.choices(statuses, weights)[0]
                phase = {
                    "Running": "Running",
                    "CrashLoopBackOff": "Running",
                    "Terminating": "Running",
                    "Completed": "Succeeded",
                    "Error": "Failed",
                    "OOMKilled": "Running",
                    "Evicted": "Failed",
                }.get(status, "Pending")
                restarts = 0 if rng.random() < 0.85 else int(rng.expovariate(0.2))
                created = now - timedelta(seconds=rng.expovariate(1 / 86400 / 6))
                last_restart = created + (now - created) * rng.random() if restarts else None
                deleted = (
                    now - timedelta(minutes=rng.uniform(1, 90)) if rng.random() < 0.02 else None
                )
                ready = "1/1" if status == "Running" else "0/1"
                suffix = "".join(rng.choices("bcdfghjklmnpqrstvwxz2456789", k=5))
                labels = {
                    "app": app,
                    "pod-template-hash": template,
                    "env": env,
                    "tier": rng.choice(["frontend", "backend", "data"]),
                }
                if rng.random() < 0.05:
                    labels["canary"] = "true"
                copy.write_row(
                    (
                        cluster.pk,
                        str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                        namespace,
                        f"{app}-{template}-{suffix}",
                        f"node-{cluster.name}-{rng.randrange(400):03d}",
                        "ReplicaSet",
                        f"{app}-{template}",
                        phase,
                        status,
                        ready,
                        restarts,
                        last_restart,
                        f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
                        orjson.dumps(labels).decode(),
                        "Burstable",
                        created,
                        deleted - timedelta(seconds=30) if deleted else None,
                        deleted,
                        None,
                        "watch" if deleted else "",
                        "{}",
                        str(made),
                        created,
                        now,
                        "[]",
                    )
                )
                made += 1
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE ingest_pod")
    print(
        f"seeded {made:,} pods in {time.perf_counter() - start:.1f} s (COPY, then VACUUM ANALYZE)"
    )
    return {"namespace": "payments-api", "cluster": "prod-eu", "app": "shop-api-1"}


# --- (a) server time -----------------------------------------------------------------------


def server_times(names: dict[str, str], *, repeat: int) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from lifecycle_dash.web.filters import encode_cursor, parse_pod_filter
    from lifecycle_dash.web.selectors import pod_page

    user, _ = get_user_model().objects.get_or_create(username="bench")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    # A deep page: the cursor after ~75,000 rows in the default order.
    deep = ""
    from lifecycle_dash.ingest.models import Pod

    alive = Pod.objects.filter(deleted_at__isnull=True)
    middle = alive.order_by("cluster_id", "namespace", "name", "id")[alive.count() // 2]
    from lifecycle_dash.web.filters import Cursor, Sort

    deep = encode_cursor(
        Cursor(Sort.NAME, (middle.cluster_id, middle.namespace, middle.name), middle.pk)
    )
    assert pod_page(pod_filter=parse_pod_filter({"after": deep}), now=datetime.now(UTC)).pods
    cases: list[tuple[str, str, dict[str, str]]] = [
        ("first page (all pods, by name)", "/", {}),
        ("filtered: namespace", f"/?namespace={names['namespace']}", {}),
        ("filtered: cluster + STATUS", f"/?cluster={names['cluster']}&status=CrashLoopBackOff", {}),
        (
            "filtered: label selector",
            "/?selector=env%3Dprod,tier%20in%20(backend,data),!canary",
            {},
        ),
        ("filtered: free text", "/?q=worker-4", {}),
        ("sort: age (newest first)", "/?sort=age", {}),
        ("sort: restarts", "/?sort=restarts", {}),
        ("deep keyset page (middle row)", f"/?after={deep}", {}),
        ("recently deleted shown", "/?deleted=1", {}),
        (
            "htmx body fragment (filter change)",
            f"/?namespace={names['namespace']}",
            {"HX-Request": "true", "HX-Target": "dash-body"},
        ),
    ]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    load = os.getloadavg()
    print(
        f"\nmachine: {os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / "
        f"{load[2]:.1f} (wall-clock figures below stretch with it; Python CPU time less so)"
    )
    print(
        f"\n(a) server time per request, {repeat} requests each after 3 warm-ups "
        f"(target p95 <= {TARGET_SERVER_P95_MS:.0f} ms)"
    )
    worst = 0.0
    for label, url, headers in cases:
        for _ in range(3):
            assert client.get(url, headers=headers).status_code == 200, url
        times: list[float] = []
        cpu: list[float] = []
        database: list[float] = []
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as queries:
                start, start_cpu = time.perf_counter(), time.process_time()
                response = client.get(url, headers=headers)
                times.append((time.perf_counter() - start) * 1000)
                cpu.append((time.process_time() - start_cpu) * 1000)
            database.append(sum(float(q["time"]) for q in queries.captured_queries) * 1000)
            assert response.status_code == 200
        p50, p95 = statistics.median(times), percentile(times, 0.95)
        worst = max(worst, p95)
        flag = "ok" if p95 <= TARGET_SERVER_P95_MS else "MISSED"
        print(
            f"  {label:<38} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  {flag:<6}"
            f"  (p50 of: Python CPU {statistics.median(cpu):5.1f} ms,"
            f" SQL {statistics.median(database):5.1f} ms, {len(queries.captured_queries)} queries)"
        )
    print(
        f"  worst p95 {worst:.1f} ms: target {'met' if worst <= TARGET_SERVER_P95_MS else 'MISSED'}"
    )


# --- (b) pod change in the simulator -> row in the DOM ------------------------------------

PROBE_NAMESPACE = "aaa-probe"
PROBE_NODE = "probe-node"  # no such node: the simulator's kubelet and scheduler leave it be
SIM_CLUSTER = "bench-sim"

# Runs in every page. Times are performance.timeOrigin + performance.now(): the wall clock of
# this machine in ms, as time.time() is on the simulator's side. For each probe change (name
# and RESTARTS) it keeps when the row first showed it and when the frame that did it arrived.
OBSERVER_JS = """
() => {
  const now = () => performance.timeOrigin + performance.now();
  window.__seen = {};
  window.__frameAt = 0;
  window.__frames = 0;
  // Capture on window runs before the page's own handler swaps the frame in.
  window.addEventListener('htmx:wsBeforeMessage', () => {
    window.__frameAt = now();
    window.__frames += 1;
  }, true);
  const record = () => {
    const at = now();
    for (const row of document.querySelectorAll('#pod-rows tr.pod')) {
      const name = (row.querySelector('td.c-name')?.textContent || '').trim();
      if (!name.startsWith('probe-')) continue;
      const seq = parseInt(row.querySelector('td.c-restarts')?.textContent || '0', 10);
      const key = name + ':' + seq;
      if (!(key in window.__seen)) window.__seen[key] = [at, window.__frameAt];
    }
  };
  const body = document.getElementById('dash-body');
  new MutationObserver(record).observe(body, {subtree: true, childList: true});
  record();
}
"""

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    # 20 tabs, one visible: background tabs must not be throttled, or the figure is the
    # throttle's, not the product's.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its live descendants, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pids.extend(int(c) for c in children)
        except (OSError, IndexError, ValueError):
            continue
    return total


class Probes:
    """Probe pods in the simulator whose RESTARTS carries a sequence number.

    Each change is one PATCH of the pod's status through the simulator's API; its timestamp
    is the wall clock just before the request is sent, so the API call itself is part of the
    measured latency.
    """

    def __init__(self, sim: Any, count: int) -> None:
        self.sim = sim
        self.count = count
        self.sent: dict[str, float] = {}  # "probe-<i>:<seq>" -> ms since the epoch
        self.acked: list[float] = []  # PATCH round trips, ms
        self.uids: list[str] = []

    def create(self) -> None:
        self.sim.create_namespace(PROBE_NAMESPACE)
        for index in range(self.count):
            pod = self.sim.request(
                "POST",
                f"/api/v1/namespaces/{PROBE_NAMESPACE}/pods",
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": f"probe-{index}", "labels": {"app": "probe"}},
                    "spec": {
                        "nodeName": PROBE_NODE,
                        "containers": [{"name": "app", "image": "registry.example/probe:1"}],
                    },
                },
            )
            self.uids.append(pod["metadata"]["uid"])
            self.change(index, 0)

    def change(self, index: int, seq: int) -> None:
        started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {
            "status": {
                "phase": "Running",
                "conditions": [
                    {"type": kind, "status": "True", "lastTransitionTime": started}
                    for kind in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
                ],
                "containerStatuses": [
                    {
                        "name": "app",
                        "image": "registry.example/probe:1",
                        "imageID": "",
                        "containerID": f"containerd://{seq:064x}",
                        "ready": True,
                        "started": True,
                        "restartCount": seq,
                        "state": {"running": {"startedAt": started}},
                        "lastState": {},
                    }
                ],
            }
        }
        sent = time.time() * 1000
        self.sim.request(
            "PATCH",
            f"/api/v1/namespaces/{PROBE_NAMESPACE}/pods/probe-{index}/status",
            body,
            content_type=MERGE_PATCH,
        )
        self.acked.append(time.time() * 1000 - sent)
        self.sent[f"probe-{index}:{seq}"] = sent


class PublishListener:
    """One more member of the all-pods group, in this process: when each probe change's
    ``pod.changed`` left the ingest side (commit + publisher + Redis), as a consumer sees it."""

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}
        self.messages = 0
        self.pods = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def start(self) -> None:
        self.thread.start()
        assert self._ready.wait(10), "the listener did not join the group"

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(5)

    async def _main(self) -> None:
        from channels.layers import get_channel_layer

        from lifecycle_dash.live.groups import all_pods_group
        from lifecycle_dash.live.hub import changed_pods

        layer = get_channel_layer()
        assert layer is not None
        channel = await layer.new_channel()
        await layer.group_add(all_pods_group(), channel)
        self._ready.set()
        try:
            while not self._stop.is_set():
                try:
                    message = await asyncio.wait_for(layer.receive(channel), 0.5)
                except TimeoutError:
                    continue
                at = time.time() * 1000
                self.messages += 1
                for fields in changed_pods(message):
                    self.pods += 1
                    if fields.get("namespace") == PROBE_NAMESPACE:
                        self.seen.setdefault(f"{fields['name']}:{fields['restarts']}", at)
        finally:
            await layer.group_discard(all_pods_group(), channel)


class RendererTime:
    """Each page's main-thread time in its renderer (Chrome DevTools ``Performance`` metrics,
    thread CPU time): what the pages cost the browser per frame, split into script, style and
    layout (the rest is mostly paint and HTML parsing)."""

    METRICS = ("TaskDuration", "ScriptDuration", "RecalcStyleDuration", "LayoutDuration")

    def __init__(self, context: Any, pages: list[Any]) -> None:
        self.sessions = [context.new_cdp_session(page) for page in pages]
        for session in self.sessions:
            session.send("Performance.enable", {"timeDomain": "threadTicks"})
        self.before = [self._read(session) for session in self.sessions]

    def _read(self, session: Any) -> dict[str, float]:
        metrics = session.send("Performance.getMetrics")["metrics"]
        return {m["name"]: float(m["value"]) for m in metrics if m["name"] in self.METRICS}

    def report(self, frames: list[int], urls: list[str]) -> list[str]:
        """Per kind of page (its URL): main-thread ms per frame received, and its parts."""
        kinds: dict[str, list[tuple[dict[str, float], int]]] = {}
        for index, session in enumerate(self.sessions):
            after = self._read(session)
            spent = {k: after.get(k, 0.0) - self.before[index].get(k, 0.0) for k in self.METRICS}
            kinds.setdefault(urls[index % len(urls)], []).append((spent, frames[index]))
        lines = []
        for url, rows in kinds.items():
            count = max(sum(f for _, f in rows), 1)
            per = {k: sum(s[k] for s, _ in rows) * 1000 / count for k in self.METRICS}
            lines.append(
                f"renderer main thread per frame, pages ?{url.split('?', 1)[1]}: "
                f"{per['TaskDuration']:.2f} ms (script {per['ScriptDuration']:.2f}, style "
                f"{per['RecalcStyleDuration']:.2f}, layout {per['LayoutDuration']:.2f}) over "
                f"{count:,} frames"
            )
        return lines


def _stream_events(cluster_id: int) -> tuple[int, str]:
    from lifecycle_dash.ingest.models import WatchStream

    stream = WatchStream.objects.get(cluster_id=cluster_id, resource="pods")
    return stream.events_total, stream.resource_version


def _behind(sim: Any, cluster_id: int) -> int:
    """Changes the simulator made that the pods stream has not committed (every kind counts,
    but the churn is all pods)."""
    _, rv = _stream_events(cluster_id)
    try:
        return _sim_rv(sim) - int(rv or 0)
    except OSError:
        return 1 << 30  # too busy to answer: certainly behind


class FlushSampler:
    """Polls the pods stream's row to see its commits: events per flush and time between
    flushes say whether ingest waits for the stream (small flushes) or for the database
    (large, far apart)."""

    def __init__(self, cluster_id: int) -> None:
        self.cluster_id = cluster_id
        self.flushes: list[tuple[float, int]] = []  # (wall ms, events in that flush)
        # What the database's active sessions for this database do, sampled: where ingest
        # and the dashboards wait (lock, I/O, CPU) and on which statements.
        self.activity: collections.Counter[str] = collections.Counter()
        self.samples = 0
        self.backends: dict[int, float] = {}  # pid -> its CPU seconds when first seen
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from django.db import connection

        from lifecycle_dash.ingest.models import WatchStream

        last: tuple[int, Any] | None = None
        polls = 0
        try:
            while not self._stop.wait(0.02):
                polls += 1
                row = (
                    WatchStream.objects.filter(cluster_id=self.cluster_id, resource="pods")
                    .values_list("events_total", "last_flush_at")
                    .first()
                )
                if row is None:
                    continue
                if last is not None and row[1] is not None and row[0] > last[0]:
                    self.flushes.append((row[1].timestamp() * 1000, row[0] - last[0]))
                last = row
                if polls % 5:
                    # Activity every 100 ms is enough for averages: sampled at every poll,
                    # the sampler and its database session took about a tenth of a core
                    # (perf), taken from the very processes being measured.
                    continue
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pid, state, coalesce(wait_event_type, 'CPU'), "
                        "coalesce(wait_event, ''), left(regexp_replace(query, '\\s+', ' ', "
                        "'g'), 60) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                    )
                    self.samples += 1
                    for pid, state, wait_type, wait, query in cursor.fetchall():
                        if pid not in self.backends:
                            self.backends[pid] = cpu_seconds(pid)
                        if state == "active":
                            self.activity[f"{wait_type}:{wait} | {query}"] += 1
        finally:
            connection.close()

    def busiest(self, count: int = 6) -> list[str]:
        """The most often seen active (wait, statement) pairs, as sessions busy on average."""
        return [
            f"{seen / max(self.samples, 1):4.2f}  {what}"
            for what, seen in self.activity.most_common(count)
        ]

    def report(self) -> str:
        sizes = [events for _, events in self.flushes]
        gaps = [b[0] - a[0] for a, b in zip(self.flushes, self.flushes[1:], strict=False)]
        if not gaps:
            return "no flushes seen"
        return (
            f"{len(sizes)} commits seen, events per commit p50 {statistics.median(sizes):.0f} "
            f"max {max(sizes)}, time between commits p50 {statistics.median(gaps):.0f} ms "
            f"p95 {percentile(gaps, 0.95):.0f} ms"
        )


def _sim_rv(sim: Any) -> int:
    """The simulator's newest resourceVersion (it answers slowly while it churns hard)."""
    return int(sim.request("GET", "/kubesim/state", timeout=60)["resourceVersion"])


def _received_at(uids: list[str]) -> dict[str, float]:
    """When the watch worker received each probe change (the restart transition's
    observed_at is the instant its chunk was read from the watch stream)."""
    from lifecycle_dash.ingest.models import Pod, Transition

    names = dict(Pod.objects.filter(uid__in=uids).values_list("uid", "name"))
    result: dict[str, float] = {}
    rows = Transition.objects.filter(pod_uid__in=uids, detail__has_key="restart").values_list(
        "pod_uid", "detail", "observed_at"
    )
    for uid, detail, observed_at in rows:
        number = detail.get("restart") if isinstance(detail, dict) else None
        if isinstance(number, int):
            result[f"{names.get(uid, '?')}:{number}"] = observed_at.timestamp() * 1000
    return result


def _summary(values: list[float]) -> str:
    if not values:
        return "no samples"
    return (
        f"p50 {statistics.median(values):6.1f}  p95 {percentile(values, 0.95):6.1f}  "
        f"p99 {percentile(values, 0.99):6.1f}  max {max(values):6.1f} ms"
    )


def dom_latency(
    database_url: str,
    *,
    dashboards: int,
    rate: float,
    seconds: float,
    sim_pods: int,
    probes_count: int,
    probe_interval: float,
) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from lifecycle_dash.ingest.clusters import cluster_add, cluster_remove
    from lifecycle_dash.ingest.models import Cluster
    from tests.ingest.watch.sim import Simulator
    from tests.support.beat import Beat
    from tests.support.processes import (
        celery_worker_command,
        daphne_command,
        free_port,
        port_open,
        running,
        wait_until,
    )

    print(
        f"\n(b) pod change in the simulator -> row in the DOM: {dashboards} dashboards (tabs of "
        f"one Chromium), the simulator churning {rate:,.0f} pod events/s over {sim_pods:,} pods, "
        f"{seconds:.0f} s"
    )
    print(
        "    path measured: PATCH to the simulator -> watch stream -> Celery watch worker -> "
        "commit -> pod.changed -> Redis -> consumer -> WebSocket frame -> htmx swap -> DOM"
    )
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
    tmp = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    cluster_remove(name=SIM_CLUSTER)
    # The seeded clusters have no API server: nothing must try to watch them.
    Cluster.objects.update(enabled=False)
    sim = Simulator(
        tmp,
        scenario="scale",
        speed=1.0,
        extra=["--set", f"pods={sim_pods}", "--set", f"churn={rate}", "--history", "500000"],
    )
    processes: dict[str, int] = {"simulator": sim.process.pid}
    try:
        cluster = cluster_add(
            name=SIM_CLUSTER, source=Cluster.Source.SIMULATOR, kubeconfig=sim.kubeconfig
        )
        probes = Probes(sim, probes_count)
        user, _ = get_user_model().objects.get_or_create(username="bench-browser")
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        session = client.cookies["sessionid"].value
        port = free_port()
        with contextlib.ExitStack() as stack:
            for k in range(3):  # one per stream of the cluster: pods, events, endpointslices
                worker = stack.enter_context(
                    running(
                        celery_worker_command("watch", f"bench{k}@%h"),
                        env=env,
                        name=f"bench-watch-{k}",
                    )
                )
                processes[f"watch worker {k}"] = worker.pid
            stack.enter_context(Beat(interval=5.0, options={}))
            daphne = stack.enter_context(
                running(daphne_command(port), env=env, name="bench-daphne")
            )
            processes["daphne"] = daphne.pid
            assert wait_until(lambda: port_open(port), timeout=30), "daphne did not start"
            sim.wait_for_watches(1, timeout=120)
            probes.create()

            from lifecycle_dash.ingest.models import Pod

            def stored() -> bool:
                count = Pod.objects.filter(namespace=PROBE_NAMESPACE, cluster=cluster).count()
                return count >= probes_count

            assert wait_until(stored, timeout=300, interval=0.5), "the probe pods never arrived"
            # The watch catches up on the list and the churn since the simulator started; when
            # ingest cannot keep pace, the measurement goes on and reports the backlog.
            wait_until(lambda: _behind(sim, cluster.pk) < rate, timeout=60, interval=0.5)

            from playwright.sync_api import sync_playwright

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
                )
                processes["chromium"] = _chromium_pid()
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                context.add_cookies(
                    [{"name": "sessionid", "value": session, "domain": "127.0.0.1", "path": "/"}]
                )
                # Half the dashboards show the simulated cluster's first page (its rows churn
                # too), half only the probes' namespace (the churn is all elsewhere).
                urls = [
                    f"http://127.0.0.1:{port}/?cluster={SIM_CLUSTER}",
                    f"http://127.0.0.1:{port}/?namespace={PROBE_NAMESPACE}",
                ]
                pages = []
                for index in range(dashboards):
                    page = context.new_page()
                    page.goto(urls[index % 2])
                    try:
                        page.wait_for_selector(
                            "#live-indicator[data-state=connected]", timeout=60_000
                        )
                    except Exception:
                        state = page.evaluate(
                            "document.getElementById('live-indicator')?.outerHTML"
                        )
                        raise RuntimeError(f"dashboard {index} never connected: {state}") from None
                    page.evaluate(OBSERVER_JS)
                    pages.append(page)
                listener = PublishListener()
                listener.start()
                page.wait_for_timeout(1000)
                renderer = RendererTime(context, pages)

                load_before = os.getloadavg()
                cpu_before = {name: cpu_seconds(pid) for name, pid in processes.items()}
                events_before, _ = _stream_events(cluster.pk)
                behind_before = _behind(sim, cluster.pk)
                sampler = FlushSampler(cluster.pk)
                sampler.thread.start()
                listened_before = (listener.messages, listener.pods)
                sim_rv_before = _sim_rv(sim)
                started = time.monotonic()
                stop = threading.Event()
                errors: list[str] = []

                def send_probes() -> None:
                    seq = 0
                    next_at = time.monotonic()
                    try:
                        while not stop.is_set():
                            seq += 1
                            probes.change(seq % probes_count, seq)
                            next_at += probe_interval
                            time.sleep(max(0.0, next_at - time.monotonic()))
                    except Exception as exc:  # reported with the figures
                        errors.append(repr(exc))

                sender = threading.Thread(target=send_probes, daemon=True)
                sender.start()
                # Playwright's sync API needs this thread to pump its connection meanwhile.
                while time.monotonic() - started < seconds:
                    pages[0].wait_for_timeout(200)
                stop.set()
                sender.join(10)
                elapsed = time.monotonic() - started
                events_after, _ = _stream_events(cluster.pk)
                behind_after = _behind(sim, cluster.pk)
                sampler._stop.set()
                sampler.thread.join(5)
                listened_after = (listener.messages, listener.pods)
                sim_rv_after = _sim_rv(sim)
                cpu_after = {name: cpu_seconds(pid) for name, pid in processes.items()}
                postgres_cpu = sum(cpu_seconds(pid) - at for pid, at in sampler.backends.items())
                load_after = os.getloadavg()
                pages[0].wait_for_timeout(2000)  # the last changes' way to the pages
                seen_by_page = [page.evaluate("window.__seen") for page in pages]
                frames = [page.evaluate("window.__frames") for page in pages]
                renderer_report = renderer.report(frames, urls)
                listener.stop()
                browser.close()
    finally:
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    received = _received_at(probes.uids)
    cluster_remove(name=SIM_CLUSTER)

    churn = (events_after - events_before) / elapsed
    print(
        f"  load average {load_before[0]:.2f} at the start, {load_after[0]:.2f} at the end "
        f"({os.cpu_count()} CPUs)"
    )
    print(
        "  CPU use over the window (cores): "
        + ", ".join(
            f"{name} {(cpu_after[name] - cpu_before[name]) / elapsed:.2f}" for name in processes
        )
        + f", PostgreSQL (this database's sessions) {postgres_cpu / elapsed:.2f}"
    )
    print(
        f"  churn reaching the pods watch stream: {churn:,.0f} pod events/s "
        f"({events_after - events_before:,} events in {elapsed:.1f} s; the simulator's "
        f"resourceVersion moved {(sim_rv_after - sim_rv_before) / elapsed:,.0f}/s)"
        + ("" if churn >= 0.95 * rate else f": BELOW the {rate:,.0f}/s asked")
    )
    print(f"  pods stream: {sampler.report()}")
    print("  PostgreSQL sessions of this database busy on average (wait | statement):")
    for line in sampler.busiest():
        print(f"    {line}")
    print(
        f"  ingest backlog (simulator changes not yet committed): {behind_before:,} at the "
        f"start, {behind_after:,} at the end"
    )
    print(
        "  pod.changed seen by a listener on the all-pods group: "
        f"{(listened_after[0] - listened_before[0]) / elapsed:,.1f} messages/s carrying "
        f"{(listened_after[1] - listened_before[1]) / elapsed:,.0f} pods/s"
    )
    print(f"  frames per page: {statistics.median(frames) / elapsed:.1f}/s (median page)")
    for line in renderer_report:
        print(f"    {line}")
    if errors:
        print(f"  probe errors: {errors[:3]}")
    keys = [key for key in probes.sent if not key.endswith(":0")]
    latencies: list[float] = []
    frame_to_dom: list[float] = []
    missing = 0
    for seen in seen_by_page:
        for key in keys:
            if key in seen:
                dom_at, frame_at = seen[key]
                latencies.append(dom_at - probes.sent[key])
                if frame_at:
                    frame_to_dom.append(dom_at - frame_at)
            else:
                missing += 1
    hops = {
        "PATCH round trip (simulator API)": probes.acked,
        "simulator -> watch worker received": [
            received[k] - probes.sent[k] for k in keys if k in received
        ],
        "received -> pod.changed at a consumer": [
            listener.seen[k] - received[k] for k in keys if k in received and k in listener.seen
        ],
        "pod.changed -> frame in the page": [
            seen[k][1] - listener.seen[k]
            for seen in seen_by_page
            for k in keys
            if k in seen and k in listener.seen and seen[k][1]
        ],
        "frame -> row in the DOM": frame_to_dom,
    }
    print(f"  {len(keys):,} probe changes x {len(pages)} pages; hops (each measured on its own):")
    for label, values in hops.items():
        print(f"    {label:<40} {_summary(values)}")
    if not latencies:
        print("  no probe change reached a page: MISSED")
        return
    p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
    print(f"  probe changes observed: {len(latencies):,} (page x change), missing {missing:,}")
    verdict50 = "met" if p50 <= TARGET_DOM_P50_MS else "MISSED"
    verdict99 = "met" if p99 <= TARGET_DOM_P99_MS else "MISSED"
    print(
        f"  simulator -> DOM: p50 {p50:6.1f} ms (target {TARGET_DOM_P50_MS:.0f}: {verdict50})   "
        f"p95 {percentile(latencies, 0.95):6.1f} ms   "
        f"p99 {p99:6.1f} ms (target {TARGET_DOM_P99_MS:.0f}: {verdict99})   "
        f"max {max(latencies):6.1f} ms"
    )


def _chromium_pid() -> int:
    """The browser's main process, a descendant of this one (its renderers are its children)."""
    pids = [os.getpid()]
    while pids:
        current = pids.pop()
        try:
            cmdline = Path(f"/proc/{current}/cmdline").read_bytes().split(b"\0")
            if cmdline[0].endswith(b"chromium") and not any(
                arg.startswith(b"--type=") for arg in cmdline
            ):
                return current
            for task in Path(f"/proc/{current}/task").iterdir():
                pids.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, IndexError, ValueError):
            continue
    raise RuntimeError("no Chromium process found")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=150_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--dashboards", type=int, default=20)
    parser.add_argument("--rate", type=float, default=2000, help="simulator churn, pod events/s")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--sim-pods", type=int, default=5_000, help="pods in the simulator")
    parser.add_argument("--probes", type=int, default=4, help="probe pods")
    parser.add_argument(
        "--probe-interval", type=float, default=0.1, help="seconds between probe changes"
    )
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--skip-server", action="store_true", help="skip (a)")
    parser.add_argument(
        "--keep-db", metavar="NAME", help="use (and keep) this database; seed only if it is empty"
    )
    args = parser.parse_args()

    scratch = args.keep_db or f"bench_dashboard_{os.getpid()}"
    database_url = scratch_create(scratch)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lifecycle_dash.settings")
    os.environ.setdefault("PYTHONWARNINGS", "ignore::UserWarning")
    # daphne must read the sessions this process signs.
    os.environ.setdefault("SECRET_KEY", uuid.uuid4().hex * 2)
    # Playwright's sync API runs an event loop in this thread; the ORM here is still sync.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    sys.path.insert(0, str(ROOT))
    # WhiteNoise warns that collectstatic never ran: irrelevant to these figures.
    warnings.filterwarnings("ignore", message="No directory at")
    with contextlib.ExitStack() as stack:
        if not args.skip_browser:
            # A Redis of its own (Channels layer and Celery broker): no other process on the
            # machine takes the benchmark's watch slices or its messages.
            from tests.support.processes import free_port, port_open, running, wait_until

            redis_port = free_port()
            os.environ["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
            stack.enter_context(
                running(
                    ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no"],
                    env=dict(os.environ),
                    name="bench-redis",
                )
            )
            assert wait_until(lambda: port_open(redis_port), timeout=10), "no redis-server"
        try:
            import django

            django.setup()
            from django.core.management import call_command
            from django.db import connection

            call_command("migrate", verbosity=0)
            from lifecycle_dash.ingest.models import Cluster

            if args.keep_db and Cluster.objects.exists():
                names = {"namespace": "payments-api", "cluster": "prod-eu"}
                # Each run's churn (and the removal of its simulated cluster) leaves dead rows;
                # where autovacuum is off they pile up and later runs measure the bloat.
                start = time.perf_counter()
                with connection.cursor() as cursor:
                    cursor.execute("VACUUM ANALYZE")
                print(
                    f"using the pods already in {scratch} "
                    f"(VACUUM ANALYZE: {time.perf_counter() - start:.1f} s)"
                )
            else:
                names = seed(args.pods, now=datetime.now(UTC))
            if not args.skip_server:
                server_times(names, repeat=args.repeat)
            if not args.skip_browser:
                dom_latency(
                    database_url,
                    dashboards=args.dashboards,
                    rate=args.rate,
                    seconds=args.seconds,
                    sim_pods=args.sim_pods,
                    probes_count=args.probes,
                    probe_interval=args.probe_interval,
                )
            connection.close()
        finally:
            if not args.keep_db:
                scratch_drop(scratch)


if __name__ == "__main__":
    main()
