"""Command line: run the simulator, or send it a fault.

    python -m lifecycle_dash.kubesim --host 127.0.0.1 --port 0 --kubeconfig-out PATH \\
        --scenario NAME --seed N --speed X [--truth-out FILE] [--changes-out FILE] \\
        [--set KEY=VALUE ...]
    python -m lifecycle_dash.kubesim fault URL NAME [--seconds N] [--rule R] \\
        (--token T | --kubeconfig PATH)

The first line on stdout is ``kubesim listening on http://HOST:PORT`` (flushed), so a parent
process can read the port when it asked for port 0. SIGINT/SIGTERM stop the simulation and the
server cleanly. ``main`` is also what ``manage.py kubesim`` calls.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import signal
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from lifecycle_dash.kubesim.clock import SimClock
from lifecycle_dash.kubesim.gctuning import tune_gc
from lifecycle_dash.kubesim.journal import ChangeJournal
from lifecycle_dash.kubesim.kubeconfig import read_kubeconfig, write_kubeconfig
from lifecycle_dash.kubesim.server import FAULTS, ApiServer
from lifecycle_dash.kubesim.store import DEFAULT_HISTORY, Store


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lifecycle_dash.kubesim",
        description="A Kubernetes API server simulator for pods, events and endpointslices. "
        "Use 'fault URL NAME' as the first arguments to send a fault to a running simulator.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--kubeconfig-out", type=Path, help="write a kubeconfig here")
    parser.add_argument(
        "--scenario",
        default="demo",
        help="scenario name ('none': an empty cluster whose scheduler and kubelets still run "
        "the pods clients create)",
    )
    parser.add_argument(
        "--no-engine",
        action="store_true",
        help="serve the API only: nothing schedules or runs pods",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="scenario or cluster option for the engine, e.g. pods=5000 (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    parser.add_argument("--truth-out", type=Path, help="write the scenario's truth log here")
    parser.add_argument(
        "--changes-out",
        type=Path,
        help="append every pod change (whole object, wall-clock time) here, as JSON lines",
    )
    parser.add_argument("--token", help="bearer token (default: random)")
    parser.add_argument(
        "--history", type=int, default=DEFAULT_HISTORY, help="watch events kept per kind"
    )
    parser.add_argument(
        "--bookmark-interval",
        type=float,
        default=60.0,
        help="simulated seconds between watch bookmarks",
    )
    parser.add_argument(
        "--forbid",
        action="append",
        default=[],
        metavar="VERB:RESOURCE[:NAMESPACE]",
        help="answer matching requests with 403 (repeatable, '*' wildcards)",
    )
    parser.add_argument(
        "--fault-every",
        action="append",
        default=[],
        metavar="NAME:SECONDS",
        help="trigger a fault every SECONDS (real time); stalls and restarts last "
        f"min(SECONDS/2, 5 s); faults: {', '.join(FAULTS)}",
    )
    return parser


def _fault_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lifecycle_dash.kubesim fault")
    parser.add_argument("url", help="simulator URL, e.g. http://127.0.0.1:8001")
    parser.add_argument("name", choices=FAULTS)
    parser.add_argument("--seconds", type=float, default=5.0, help="stall length / restart delay")
    parser.add_argument("--rule", default="", help="for forbid: verb:resource[:namespace]")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--token")
    group.add_argument("--kubeconfig", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["fault"]:
        return _send_fault(_fault_parser().parse_args(args_list[1:]))
    args = _serve_parser().parse_args(args_list)
    fault_schedule: list[tuple[str, float]] = []
    for spec in args.fault_every:
        name, _, seconds = spec.partition(":")
        if name not in FAULTS or not seconds:
            print(f"--fault-every expects NAME:SECONDS with NAME in {FAULTS}", file=sys.stderr)
            return 2
        fault_schedule.append((name, float(seconds)))
    try:
        return asyncio.run(_serve(args, fault_schedule))
    except KeyboardInterrupt:
        return 0


async def _serve(args: argparse.Namespace, fault_schedule: list[tuple[str, float]]) -> int:
    tune_gc()
    clock = SimClock(speed=args.speed)
    store = Store(clock, history=args.history)
    journal = None
    if args.changes_out is not None:
        journal = ChangeJournal(args.changes_out)
        journal.attach(store)
    server = ApiServer(
        store,
        host=args.host,
        port=args.port,
        token=args.token,
        bookmark_interval=args.bookmark_interval,
        forbidden=args.forbid,
    )
    simulation: Any = None
    if not args.no_engine:
        try:
            # Imported lazily: the server runs without the engine (--scenario none).
            engine = importlib.import_module("lifecycle_dash.kubesim.engine")
            simulation_class = engine.Simulation
        except (ImportError, AttributeError) as exc:
            print(f"kubesim: the scenario engine is not available: {exc}", file=sys.stderr)
            return 2
        options = dict(item.split("=", 1) for item in args.set if "=" in item)
        try:
            simulation = simulation_class(
                store,
                clock,
                scenario=args.scenario,
                seed=args.seed,
                truth_path=args.truth_out,
                **options,
            )
        except (ValueError, TypeError) as exc:
            print(f"kubesim: {exc}", file=sys.stderr)
            return 2
    await server.start()
    if args.kubeconfig_out is not None:
        write_kubeconfig(args.kubeconfig_out, server.url, server.token)
    print(f"kubesim listening on {server.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
    fault_tasks = [
        asyncio.create_task(_repeat_fault(server, name, every)) for name, every in fault_schedule
    ]
    try:
        if simulation is not None:
            await simulation.start()
        await stop.wait()
    finally:
        for task in fault_tasks:
            task.cancel()
        if simulation is not None:
            await simulation.stop()
        await server.stop()
        if journal is not None:
            journal.close()
    return 0


async def _repeat_fault(server: ApiServer, name: str, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        server.trigger(name, seconds=min(seconds / 2, 5.0))


def _send_fault(args: argparse.Namespace) -> int:
    token = args.token
    url = args.url
    if args.kubeconfig is not None:
        _, token = read_kubeconfig(args.kubeconfig)
    query = urllib.parse.urlencode({"seconds": args.seconds, "rule": args.rule})
    request = urllib.request.Request(
        f"{url.rstrip('/')}/kubesim/faults/{args.name}?{query}",
        method="POST",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            print(response.read().decode())
    except urllib.error.HTTPError as exc:
        print(f"kubesim fault failed: {exc.code} {exc.read().decode()}", file=sys.stderr)
        return 1
    return 0
