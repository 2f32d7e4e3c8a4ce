"""WebSocket load: 500 dashboards on one web process while ingest runs 2,000 pod events/s.

Run:  .venv/bin/python -m benchmarks.websocket_load [--clients 500] [--seconds 60] [--rate 2000]

Everything runs on loopback, bounded in count and time, and every process started here is
stopped at the end (a scratch database, dropped afterwards, and a Redis server of its own, so
no other stack's queues or dashboards see this traffic):

* the simulator (``scale`` scenario: ``--pods`` running pods, ``--rate`` pod events/s);
* a Celery watch worker (prefork, a process per stream) and the stream supervisor every 5 s:
  the real path simulator -> HTTP watch -> processors -> PostgreSQL -> ``pod.changed`` ->
  Redis -> consumers;
* ONE daphne, as ``make run`` starts it;
* this process: ``--clients`` asyncio WebSocket clients (aiohttp), each with its own signed-in
  session, on ``/ws/dashboard/`` with four kinds of page: unfiltered, one namespace, sorted by
  restarts, and the ``default`` namespace newest first, where a probe pod is created through the
  simulator's API every second; those clients time the probe's arrival in a frame (the whole
  path above, from the POST to the frame).

A client whose open fails (daphne resets a handshake the application has not accepted within
5 s) retries with full-jitter backoff for up to two minutes, as the page's htmx ws extension
does; the report says how many needed it. Dropped means closed while held.

Reported: connections opened / held / dropped (the target is 0 dropped), frames and bytes per
client, the web process's RSS (start, connected, peak, end of hold, after close) and whether it
stays flat while held, its CPU seconds and CPU per connection, the ingest rate actually
committed (from the stream's row) next to the simulator's, the open-WebSocket gauge and the
batch latency histogram as /metrics reports them, and probe latency percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks._scratch import percentile, scratch_create, scratch_drop

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
MIB = 2**20
# Held connections must not grow the web process: at most this much over the second half.
FLAT_RSS_MIB = 20.0
# A browser keeps retrying a failed open; the benchmark gives each dashboard this long.
OPEN_WITHIN_SECONDS = 120.0
PROBE_NAMESPACE = "default"
PROBE = re.compile(rb"probe-(\d+)")
# Page kinds, assigned round-robin: the load is not 500 copies of one page.
PAGES = (
    "/ws/dashboard/",
    "/ws/dashboard/?namespace=scale-000",
    "/ws/dashboard/?sort=restarts",
    f"/ws/dashboard/?namespace={PROBE_NAMESPACE}&sort=age",
)


# --- processes ---------------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after its closing one.
    return text[text.rindex(")") + 2 :].split()


def process_usage(pid: int) -> tuple[float, int]:
    """(CPU seconds, RSS bytes) of one process."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0, 0
    # Fields after the name, from 0: state ppid pgrp ... utime (11) stime (12) ... rss (21).
    return (int(fields[11]) + int(fields[12])) / CLK_TCK, int(fields[21]) * PAGE_SIZE


def group_usage(pgid: int) -> tuple[float, int]:
    """(CPU seconds, RSS bytes) summed over a process group (a worker and its pool)."""
    cpu, rss = 0.0, 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None and int(fields[2]) == pgid:
            cpu += (int(fields[11]) + int(fields[12])) / CLK_TCK
            rss += int(fields[21]) * PAGE_SIZE
    return cpu, rss


def peak_rss(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


# --- clients ---------------------------------------------------------------------------------


@dataclass
class Dashboard:
    index: int
    path: str
    cookie: str
    connect_seconds: float = 0.0
    opened: bool = False
    dropped: bool = False
    close_code: int | None = None
    error: str = ""
    frames: int = 0
    bytes: int = 0
    probes_seen: dict[int, float] = field(default_factory=dict)
    ws: Any = None
    attempts: int = 0

    @property
    def watches_probes(self) -> bool:
        return self.path == PAGES[3]


@dataclass
class Run:
    dashboards: list[Dashboard]
    probes_sent: dict[int, float] = field(default_factory=dict)
    probe_errors: list[str] = field(default_factory=list)
    ending: bool = False
    samples: list[tuple[float, int, float]] = field(default_factory=list)  # (t, rss, cpu)
    metrics_held: str = ""
    metrics_closed: str = ""


async def hold(dashboard: Dashboard, session: Any, base: str, run: Run, gate: Any) -> None:
    import aiohttp

    headers = {"Cookie": f"sessionid={dashboard.cookie}", "Origin": base}
    url = base.replace("http://", "ws://") + dashboard.path
    give_up = time.monotonic() + OPEN_WITHIN_SECONDS
    while True:
        dashboard.attempts += 1
        async with gate:
            started = time.perf_counter()
            try:
                ws = await asyncio.wait_for(
                    session.ws_connect(url, headers=headers, max_msg_size=0, autoping=True),
                    timeout=60,
                )
                # Connected means the page's first frame arrived, as for a browser.
                first = await asyncio.wait_for(ws.receive(), timeout=60)
            except Exception as exc:  # counted, not raised: the report says what failed
                dashboard.error = f"connect: {type(exc).__name__}: {exc}"
                first = None
        if first is not None and first.type == aiohttp.WSMsgType.TEXT:
            break
        if first is not None:
            dashboard.error = f"first message {first.type!r}"
            dashboard.close_code = ws.close_code
            await ws.close()
        if time.monotonic() > give_up:
            return
        # What htmx's ws extension does after a failed open: full-jitter exponential backoff.
        await asyncio.sleep(random.uniform(0, min(64.0, 2.0 ** (dashboard.attempts - 1))))
    dashboard.connect_seconds = time.perf_counter() - started
    dashboard.error = ""
    dashboard.opened = True
    dashboard.ws = ws
    dashboard.frames = 1
    dashboard.bytes = len(first.data)
    try:
        while True:
            message = await ws.receive()
            if message.type == aiohttp.WSMsgType.TEXT:
                dashboard.frames += 1
                data: str = message.data
                dashboard.bytes += len(data)
                if dashboard.watches_probes:
                    now = time.time()
                    for match in PROBE.finditer(data.encode()):
                        dashboard.probes_seen.setdefault(int(match.group(1)), now)
                continue
            if not run.ending:
                dashboard.dropped = True
                dashboard.close_code = ws.close_code
                dashboard.error = f"{message.type!r} {message.extra!r}"
            break
    finally:
        await ws.close()


async def probe_pods(sim_url: str, token: str, run: Run, stop: asyncio.Event) -> None:
    """A new pod in the probe namespace every second, through the simulator's API."""
    import aiohttp

    headers = {"Authorization": f"Bearer {token}"}
    seq = 0
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
        while not stop.is_set():
            seq += 1
            body = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"probe-{seq}", "namespace": PROBE_NAMESPACE},
                "spec": {"containers": [{"name": "app", "image": "registry.example/probe:1"}]},
            }
            sent = time.time()
            try:
                async with session.post(
                    f"{sim_url}/api/v1/namespaces/{PROBE_NAMESPACE}/pods", json=body
                ) as response:
                    response.raise_for_status()
            except (aiohttp.ClientError, TimeoutError) as exc:
                # A simulator too busy to answer in time: the probe may or may not exist.
                run.probe_errors.append(f"{type(exc).__name__}: {exc}"[:120])
            else:
                run.probes_sent[seq] = sent
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)


async def sample_web(pid: int, run: Run, stop: asyncio.Event) -> None:
    while not stop.is_set():
        cpu, rss = process_usage(pid)
        run.samples.append((time.monotonic(), rss, cpu))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)


async def scrape(session: Any, base: str, cookie: str) -> str:
    import aiohttp

    async with session.get(
        f"{base}/metrics",
        headers={"Cookie": f"sessionid={cookie}"},
        timeout=aiohttp.ClientTimeout(total=30),
    ) as r:
        r.raise_for_status()
        text: str = await r.text()
        return text


async def drive(
    *,
    base: str,
    web_pid: int,
    cookies: list[str],
    staff_cookie: str,
    seconds: float,
    sim_url: str,
    sim_token: str,
    marks: dict[str, Any],
) -> Run:
    import aiohttp

    dashboards = [
        Dashboard(index=i, path=PAGES[i % len(PAGES)], cookie=cookie)
        for i, cookie in enumerate(cookies)
    ]
    run = Run(dashboards)
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_web(web_pid, run, stop))
    # No client-side connection cap; at most 50 handshakes in flight, as browsers arriving.
    connector = aiohttp.TCPConnector(limit=0)
    gate = asyncio.Semaphore(50)
    async with aiohttp.ClientSession(connector=connector) as session:
        marks["connect_start"] = (time.monotonic(), *process_usage(web_pid))
        tasks = [asyncio.create_task(hold(d, session, base, run, gate)) for d in dashboards]
        while not all(d.opened or task.done() for d, task in zip(dashboards, tasks, strict=True)):
            await asyncio.sleep(0.1)
        marks["connected"] = (time.monotonic(), *process_usage(web_pid))
        print(
            f"opened {sum(d.opened for d in dashboards)} connections in "
            f"{marks['connected'][0] - marks['connect_start'][0]:.1f} s; holding them "
            f"{seconds:.0f} s",
            flush=True,
        )
        prober = asyncio.create_task(probe_pods(sim_url, sim_token, run, stop))
        # The hold: the clients only receive; the gauge is read once halfway.
        await asyncio.sleep(seconds / 2)
        run.metrics_held = await scrape(session, base, staff_cookie)
        await asyncio.sleep(seconds / 2)
        marks["held"] = (time.monotonic(), *process_usage(web_pid))
        stop.set()
        await prober
        # Frames for the last probes are still on their way: a moment before closing.
        await asyncio.sleep(2.0)
        run.ending = True
        # Closed from here while each client waits in receive(), as a browser tab closes;
        # a close handshake the server never answers must not hang the run.
        closing = [d.ws.close() for d in dashboards if d.ws is not None]
        await asyncio.wait_for(asyncio.gather(*closing, *tasks), timeout=60)
        marks["closed"] = (time.monotonic(), *process_usage(web_pid))
        # Disconnect handlers run after the close handshakes: the gauge must come back to 0.
        while True:
            run.metrics_closed = await scrape(session, base, staff_cookie)
            left = metric(
                run.metrics_closed, "lifecycle_dash_websockets_open", consumer="dashboard"
            )
            if not left or time.monotonic() - marks["closed"][0] > 30:
                break
            await asyncio.sleep(0.5)
        marks["settled_seconds"] = time.monotonic() - marks["closed"][0]
    await sampler
    return run


# --- set-up ------------------------------------------------------------------------------------


def sessions(count: int) -> tuple[list[str], str]:
    """One signed-in session per dashboard (as many browsers), and one for /metrics."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    users = get_user_model()
    viewer = users.objects.create_superuser(username="bench-viewer", password=uuid.uuid4().hex)
    cookies = []
    for _ in range(count):
        client = Client()
        client.force_login(viewer)
        cookies.append(client.cookies["sessionid"].value)
    staff = Client()
    staff.force_login(viewer)
    return cookies, staff.cookies["sessionid"].value


def metric(text: str, name: str, **labels: str) -> float | None:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


def histogram_quantile(text: str, name: str, q: float, **labels: str) -> float | None:
    """The upper bound of the bucket holding quantile ``q`` (what PromQL would interpolate)."""
    from prometheus_client.parser import text_string_to_metric_families

    buckets: list[tuple[float, float]] = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == f"{name}_bucket" and all(
                sample.labels.get(k) == v for k, v in labels.items()
            ):
                buckets.append((float(sample.labels["le"]), float(sample.value)))
    if not buckets:
        return None
    buckets.sort()
    total = buckets[-1][1]
    for bound, count in buckets:
        if count >= q * total:
            return bound
    return buckets[-1][0]


def pods_committed() -> int:
    from lifecycle_dash.ingest.models import WatchStream

    row = WatchStream.objects.filter(cluster__name="load", resource="pods").first()
    return 0 if row is None else int(row.events_total)


def checkpoint_rv() -> int:
    from lifecycle_dash.ingest.models import WatchStream

    row = WatchStream.objects.filter(cluster__name="load", resource="pods").first()
    return int(row.resource_version or 0) if row is not None else 0


@contextlib.contextmanager
def stack(*, env: dict[str, str], tmp: Path, pods: int, rate: float) -> Iterator[dict[str, Any]]:
    """Redis, simulator, watch worker, supervisor and daphne, stopped in reverse order."""
    from lifecycle_dash.ingest import supervisor
    from lifecycle_dash.ingest.clusters import cluster_add
    from lifecycle_dash.ingest.models import Cluster
    from tests.ingest.watch.sim import Simulator
    from tests.support.processes import daphne_command, free_port, port_open, running, wait_until

    redis_port = int(env["BENCH_REDIS_PORT"])
    with contextlib.ExitStack() as stack_:
        stack_.enter_context(
            running(
                ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no"],
                env=env,
                name="bench-ws-redis",
            )
        )
        assert wait_until(lambda: port_open(redis_port), timeout=10), "redis did not start"
        simulator = Simulator(
            tmp,
            scenario="scale",
            extra=["--set", f"pods={pods}", "--set", f"churn={rate}"],
        )
        stack_.callback(simulator.stop)
        cluster_add(name="load", source=Cluster.Source.SIMULATOR, kubeconfig=simulator.kubeconfig)
        supervisor.streams_ensure()
        worker = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "lifecycle_dash",
            "worker",
            "-Q",
            "watch",
            "-n",
            "bench-watch@%h",
            "-c",
            "3",
            "-l",
            "WARNING",
        ]
        watch = stack_.enter_context(running(worker, env=env, name="bench-ws-watch"))
        stack_.enter_context(
            running(
                [sys.executable, "-m", "tests.ingest.watch.beat", "5", "{}"],
                env=env,
                name="bench-ws-supervisor",
            )
        )
        port = free_port()
        web = stack_.enter_context(running(daphne_command(port), env=env, name="bench-ws-web"))
        assert wait_until(lambda: port_open(port), timeout=60), "daphne did not start"
        yield {
            "base": f"http://127.0.0.1:{port}",
            "web": web,
            "watch": watch,
            "simulator": simulator,
        }


def report(
    *, args: argparse.Namespace, run: Run, marks: dict[str, Any], env: dict[str, Any]
) -> bool:
    dashboards = run.dashboards
    opened = [d for d in dashboards if d.opened]
    failed = [d for d in dashboards if not d.opened]
    dropped = [d for d in dashboards if d.dropped]
    held = len(opened) - len(dropped)
    ok = not failed and not dropped
    print(
        f"connections: {len(dashboards)} attempted, {len(opened)} opened, {held} held for "
        f"{args.seconds:.0f} s, {len(dropped)} dropped, {len(failed)} failed to open "
        f"(target 0 dropped: {'met' if ok else 'MISSED'})"
    )
    reasons = Counter(f"close code {d.close_code}: {d.error[:100]}" for d in failed + dropped)
    for reason, count in reasons.most_common(5):
        print(f"  {count} x {reason}")
    retried = [d for d in opened if d.attempts > 1]
    print(
        f"  opened at the first attempt: {len(opened) - len(retried)}; after retries with "
        f"backoff, as the page's htmx ws extension does: {len(retried)}"
        + (f" (at most {max(d.attempts for d in retried)} attempts)" if retried else "")
    )
    connect = [d.connect_seconds * 1000 for d in opened]
    if connect:
        print(
            f"  open (handshake + first frame of the attempt that worked, 50 in flight): p50 "
            f"{statistics.median(connect):.0f} ms, p95 {percentile(connect, 0.95):.0f} ms, "
            f"all {len(opened)} in {marks['connected'][0] - marks['connect_start'][0]:.1f} s"
        )
    for page in PAGES:
        group = [d for d in opened if d.path == page]
        if group:
            frames = [d.frames for d in group]
            kib = [d.bytes / 1024 for d in group]
            print(
                f"  frames per client on {page:<48} median {statistics.median(frames):6.0f} "
                f"(min {min(frames)}, max {max(frames)}), median {statistics.median(kib):7.0f} KiB"
            )

    _, start_cpu, start_rss = marks["connect_start"]
    conn_t, conn_cpu, conn_rss = marks["connected"]
    held_t, held_cpu, held_rss = marks["held"]
    _, _, closed_rss = marks["closed"]
    half = conn_t + (held_t - conn_t) / 2
    second_half = [rss for t, rss, _ in run.samples if half <= t <= held_t]
    growth = (max(second_half) - min(second_half)) / MIB if second_half else 0.0
    flat = growth <= FLAT_RSS_MIB
    print(
        f"web process RSS: {start_rss / MIB:.0f} MiB before, {conn_rss / MIB:.0f} MiB connected "
        f"({(conn_rss - start_rss) / max(1, len(opened)) / 1024:.0f} KiB per connection), "
        f"{held_rss / MIB:.0f} MiB at the end of the hold, peak {marks['peak_rss'] / MIB:.0f} MiB, "
        f"{closed_rss / MIB:.0f} MiB after every client closed"
    )
    print(
        f"  while held, second half: RSS within {growth:.1f} MiB (bounded means within "
        f"{FLAT_RSS_MIB:.0f} MiB: {'met' if flat else 'MISSED'})"
    )
    hold_s = held_t - conn_t
    hold_cpu = held_cpu - conn_cpu
    frames_held = sum(d.frames for d in opened)
    per_conn_ms = hold_cpu / hold_s / max(1, len(opened)) * 1000
    print(
        f"web process CPU: {conn_cpu - start_cpu:.1f} s to open {len(opened)} connections "
        f"({(conn_cpu - start_cpu) / max(1, len(opened)) * 1000:.1f} ms each); "
        f"{hold_cpu:.1f} s over the {hold_s:.0f} s hold = {hold_cpu / hold_s:.0%} of one core"
    )
    print(
        f"  CPU per connection: {per_conn_ms:.2f} ms per second held "
        f"({per_conn_ms / 10:.3f}% of a core); {hold_cpu / max(1, frames_held) * 1000:.2f} ms "
        f"per frame sent ({frames_held:,} frames)"
    )
    rate = marks["ingest_events"] / marks["ingest_seconds"]
    sim_rate = marks["sim_events"] / marks["ingest_seconds"]
    print(
        f"ingest during the hold: {rate:,.0f} pod events/s committed to PostgreSQL "
        f"(simulator produced {sim_rate:,.0f} events/s of all kinds; target {args.rate:,.0f}: "
        f"{'met' if rate >= 0.9 * args.rate else 'MISSED'})"
    )
    print(
        f"  watch backlog when the clients closed: the pods checkpoint was "
        f"{marks['backlog']:,} resourceVersions behind the simulator"
    )
    print(
        f"  CPU over the hold: watch worker {marks['watch_cpu']:.1f} s, simulator "
        f"{marks['sim_cpu']:.1f} s, these clients {marks['client_cpu']:.1f} s"
    )
    gauge = metric(run.metrics_held, "lifecycle_dash_websockets_open", consumer="dashboard")
    after = metric(run.metrics_closed, "lifecycle_dash_websockets_open", consumer="dashboard")
    print(
        f"/metrics: lifecycle_dash_websockets_open{{consumer=dashboard}} {gauge} while held, "
        f"{after} {marks['settled_seconds']:.1f} s after every client closed"
    )
    labels = {"cluster": "load", "resource": "pods"}
    lag = metric(run.metrics_held, "lifecycle_dash_ingest_lag_seconds", **labels)
    print(
        f"  lifecycle_dash_ingest_lag_seconds (pods) {lag} while held: the age of the newest "
        "event committed, as received; a backlog in the watch connection does not show in it"
    )
    flushes = metric(
        run.metrics_closed, "lifecycle_dash_ingest_flush_duration_seconds_count", **labels
    )
    total = metric(run.metrics_closed, "lifecycle_dash_ingest_flush_duration_seconds_sum", **labels)
    events = metric(run.metrics_closed, "lifecycle_dash_ingest_flush_events_sum", **labels)
    if flushes and total is not None and events is not None:
        p99 = histogram_quantile(
            run.metrics_closed, "lifecycle_dash_ingest_flush_duration_seconds", 0.99, **labels
        )
        print(
            f"  batch latency (pods): {flushes:.0f} flushes, mean {total / flushes * 1000:.0f} ms, "
            f"p99 <= {p99} s, {events / flushes:.0f} events per flush"
        )
    latencies = [
        (seen - run.probes_sent[seq]) * 1000
        for d in opened
        for seq, seen in d.probes_seen.items()
        if seq in run.probes_sent
    ]
    watchers = [d for d in opened if d.watches_probes]
    expected = len(run.probes_sent) * len(watchers)
    if latencies:
        print(
            f"probe pod created in the simulator -> row in a frame ({len(watchers)} clients, "
            f"{len(run.probes_sent)} probes): p50 {statistics.median(latencies):.0f} ms, "
            f"p95 {percentile(latencies, 0.95):.0f} ms, p99 {percentile(latencies, 0.99):.0f} ms, "
            f"max {max(latencies):.0f} ms; seen {len(latencies)}/{expected}"
        )
    else:
        print(
            f"probe pods: none of {len(run.probes_sent)} reached a frame"
            + (
                " (they wait behind the watch backlog above: ingest is slower than the churn)"
                if marks["backlog"] > args.rate
                else ""
            )
        )
    if run.probe_errors:
        print(f"  {len(run.probe_errors)} probe creations failed, e.g. {run.probe_errors[0]}")
    return ok and flat


async def bounded(work: Coroutine[Any, Any, Run], *, timeout: float) -> Run:
    return await asyncio.wait_for(work, timeout=timeout)


def _stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so every process started here is stopped on the way out."""

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def main() -> int:
    _stop_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long they are held")
    parser.add_argument("--rate", type=float, default=2000.0, help="pod events/s (simulator)")
    parser.add_argument("--pods", type=int, default=5000)
    args = parser.parse_args()
    if not 1 <= args.clients <= 2000 or not 5 <= args.seconds <= 600:
        parser.error("bounded: 1..2000 clients, 5..600 seconds")

    from tests.support.processes import free_port

    scratch = f"bench_wsload_{os.getpid()}"
    database_url = scratch_create(scratch)
    redis_port = free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    secret = uuid.uuid4().hex * 2
    os.environ.update(
        DJANGO_SETTINGS_MODULE="lifecycle_dash.settings",
        REDIS_URL=redis_url,
        SECRET_KEY=secret,
        PYTHONWARNINGS="ignore::UserWarning",
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
        "BENCH_REDIS_PORT": str(redis_port),
    }
    sys.path.insert(0, str(ROOT))
    warnings.filterwarnings("ignore", message="No directory at")
    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / "
        f"{load[2]:.1f} before the run"
    )
    print(
        f"{args.clients} dashboards held {args.seconds:.0f} s on one daphne; simulator with "
        f"{args.pods:,} pods churning {args.rate:,.0f} pod events/s through a watch worker"
    )
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        with (
            tempfile.TemporaryDirectory() as tmp,
            stack(env=env, tmp=Path(tmp), pods=args.pods, rate=args.rate) as running_stack,
        ):
            from tests.support.processes import wait_until

            listing = time.monotonic()
            assert wait_until(lambda: pods_committed() >= args.pods, timeout=180), (
                f"the watch worker did not list the {args.pods} pods"
            )
            print(
                f"the watch worker listed the {args.pods:,} pods in "
                f"{time.monotonic() - listing:.1f} s; churn flowing",
                flush=True,
            )
            time.sleep(3)  # the churn is flowing, not the first list
            cookies, staff_cookie = sessions(args.clients)
            connection.close()
            web_pid = running_stack["web"].pid
            simulator = running_stack["simulator"]
            marks: dict[str, Any] = {}
            rv_before = int(simulator.state()["resourceVersion"])
            events_before = pods_committed()
            connection.close()
            watch_cpu = group_usage(running_stack["watch"].pid)[0]
            sim_cpu = process_usage(simulator.process.pid)[0]
            client_cpu = time.process_time()
            started = time.monotonic()
            driving = drive(
                base=running_stack["base"],
                web_pid=web_pid,
                cookies=cookies,
                staff_cookie=staff_cookie,
                seconds=args.seconds,
                sim_url=simulator.url,
                sim_token=simulator.token,
                marks=marks,
            )
            # Bounded whatever happens: the hold plus generous time to connect and close.
            run = asyncio.run(bounded(driving, timeout=args.seconds + 300))
            marks["ingest_seconds"] = time.monotonic() - started
            marks["ingest_events"] = pods_committed() - events_before
            connection.close()
            marks["sim_events"] = int(simulator.state()["resourceVersion"]) - rv_before
            marks["watch_cpu"] = group_usage(running_stack["watch"].pid)[0] - watch_cpu
            marks["sim_cpu"] = process_usage(simulator.process.pid)[0] - sim_cpu
            marks["client_cpu"] = time.process_time() - client_cpu
            marks["peak_rss"] = peak_rss(web_pid)
            marks["backlog"] = int(simulator.state()["resourceVersion"]) - checkpoint_rv()
            ok = report(args=args, run=run, marks=marks, env=env)
        load = os.getloadavg()
        print(f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} after the run")
        return 0 if ok else 1
    finally:
        scratch_drop(scratch)


if __name__ == "__main__":
    raise SystemExit(main())
