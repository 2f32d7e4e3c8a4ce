"""`make run`: the whole product in one foreground command.

Runs after `lifecycle_dash.stack.services` has resolved PostgreSQL and Redis (their URLs are in
the environment). Migrates, makes sure an admin login exists, then starts and watches:
daphne (HTTP + WebSocket), a Celery worker for the `watch` queue, one for the `default`
queue, Celery beat and, when no cluster is configured, the built-in simulated cluster.

Every child runs in its own process group; Ctrl-C (or SIGTERM) stops them all, and so does
the unexpected death of any one of them, because a half-running product is worse than a
stopped one. Nothing is left behind: after a grace period survivors are killed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lifecycle_dash.stack.orphans import die_with_parent

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"
STOP_GRACE_SECONDS = 15.0


def run_dir() -> Path:
    """Where a run keeps its own state (beat's schedule, the simulator's kubeconfig).

    ``DASH_RUN_DIR`` moves it: two runs from one checkout (a test session's beside a
    developer's) must not share a schedule file or read each other's simulator.
    """
    return Path(os.environ.get("DASH_RUN_DIR") or VAR_DIR)


def simulator_kubeconfig(directory: Path | None = None) -> Path:
    """The kubeconfig the simulator of a run in ``directory`` (default: ``run_dir()``) writes."""
    return (directory or run_dir()) / "kubesim" / "kubeconfig"


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


def start_child(name: str, command: list[str]) -> Child:
    """A process of the stack, in a group of its own so ``_stop_all`` can stop it with whatever
    it started; it gets SIGTERM if this supervisor dies without stopping it (SIGKILL, OOM)."""
    process = subprocess.Popen(
        command, cwd=BASE_DIR, start_new_session=True, preexec_fn=die_with_parent
    )
    return Child(name, process)


def _python() -> str:
    return sys.executable


def _manage(*args: str) -> list[str]:
    return [_python(), str(BASE_DIR / "manage.py"), *args]


def _wait_for_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def simulator_wanted() -> bool:
    """The simulator runs when asked to, or (auto) when no real cluster is configured."""
    mode = os.environ.get("DASH_SIMULATOR", "auto").lower()
    if mode in {"on", "true", "1"}:
        return True
    if mode in {"off", "false", "0"}:
        return False
    result = subprocess.run(
        [_python(), "-c", _CLUSTER_QUERY], capture_output=True, text=True, check=False, cwd=BASE_DIR
    )
    # No cluster model yet, or none configured but the simulator: run the simulator.
    return result.stdout.strip() in {"", "0"}


_CLUSTER_QUERY = (
    "import os, django\n"
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'lifecycle_dash.settings')\n"
    "django.setup()\n"
    "from django.apps import apps\n"
    "try:\n"
    "    model = apps.get_model('ingest', 'Cluster')\n"
    "except LookupError:\n"
    "    print(0)\n"
    "else:\n"
    "    print(model.objects.exclude(source='simulator').count())\n"
)


def _commands(host: str, port: int, with_simulator: bool) -> list[tuple[str, list[str]]]:
    celery = [_python(), "-m", "celery", "-A", "lifecycle_dash"]
    commands = [
        (
            "web",
            [
                _python(),
                "-m",
                "daphne",
                "-b",
                host,
                "-p",
                str(port),
                "lifecycle_dash.asgi:application",
            ],
        ),
        (
            "worker-watch",
            # One process per watch stream (pods, events, endpointslices) plus a spare.
            [*celery, "worker", "-Q", "watch", "-n", "watch@%h", "-c", "4", "-l", "INFO"],
        ),
        (
            "worker",
            [*celery, "worker", "-Q", "default", "-n", "default@%h", "-c", "2", "-l", "INFO"],
        ),
        ("beat", [*celery, "beat", "-l", "INFO", "-s", str(run_dir() / "celerybeat-schedule")]),
    ]
    if with_simulator:
        kubeconfig = simulator_kubeconfig()
        kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        # A stale file from the last run must not be mistaken for this run's server.
        kubeconfig.unlink(missing_ok=True)
        simulator = [
            "--host",
            "127.0.0.1",
            "--port",
            os.environ.get("KUBESIM_PORT", "0"),
            "--kubeconfig-out",
            str(kubeconfig),
            "--scenario",
            os.environ.get("KUBESIM_SCENARIO", "demo"),
            "--speed",
            os.environ.get("KUBESIM_SPEED", "1"),
        ]
        # The truth log (every deletion, kill and restart as it happened) lets a soak check
        # prove that what the simulator deleted is still in the database.
        truth_out = os.environ.get("KUBESIM_TRUTH_OUT", "")
        if truth_out:
            simulator += ["--truth-out", truth_out]
        commands.append(("kubesim", _manage("kubesim", *simulator)))
    return commands


def _stop_all(children: list[Child]) -> None:
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        remaining = max(0.1, deadline - time.monotonic())
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(timeout=remaining)
    for child in children:
        # Whatever is left in a child's group (pool processes included) is killed outright.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(timeout=5)


def _register_simulator() -> bool:
    """Wait for the simulator's kubeconfig, then point the "simulator" cluster at it."""
    deadline = time.monotonic() + 60
    kubeconfig = simulator_kubeconfig()
    while not kubeconfig.is_file():
        if time.monotonic() > deadline:
            print("error: the simulator wrote no kubeconfig within 60 s", file=sys.stderr)
            return False
        time.sleep(0.2)
    result = subprocess.run(
        _manage("simulator_cluster", "--kubeconfig", str(kubeconfig)), check=False
    )
    return result.returncode == 0


def _setup() -> None:
    VAR_DIR.mkdir(exist_ok=True)
    run_dir().mkdir(parents=True, exist_ok=True)
    subprocess.run(_manage("migrate", "--noinput"), check=True)
    subprocess.run(_manage("ensure_admin"), check=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lifecycle_dash.stack.run")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args(argv)

    die_with_parent()
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, request_stop)

    try:
        _setup()
    except subprocess.CalledProcessError as exc:
        print(f"error: set-up step failed: {' '.join(exc.cmd[1:3])}", file=sys.stderr)
        return 1

    children: list[Child] = []
    exit_code = 0
    try:
        with_simulator = simulator_wanted()
        for name, command in _commands(args.host, args.port, with_simulator):
            children.append(start_child(name, command))
        if with_simulator and not _register_simulator():
            exit_code = 1
            stopping = True
        if _wait_for_port(args.host, args.port, timeout=60):
            url = f"http://{args.host}:{args.port}/"
            print(f"\nlifecycle-dash is running at {url}  (Ctrl-C stops everything)\n", flush=True)
        while not stopping:
            for child in children:
                code = child.process.poll()
                if code is not None:
                    print(f"error: {child.name} exited with status {code}", file=sys.stderr)
                    exit_code = 1
                    stopping = True
                    break
            time.sleep(0.3)
    finally:
        print("stopping ...", file=sys.stderr, flush=True)
        _stop_all(children)
    return exit_code


if __name__ == "__main__":
    raise SystemExit(main())
