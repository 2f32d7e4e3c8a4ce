"""Real processes for integration tests: daphne, Celery workers, each against the test database."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from lifecycle_dash.stack.orphans import die_with_parent

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(predicate: Callable[[], bool], *, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def running(
    command: list[str], *, env: dict[str, str], name: str
) -> Iterator[subprocess.Popen[bytes]]:
    log_dir = BASE_DIR / "test-artifacts" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = (log_dir / f"{name}.log").open("wb")
    process = subprocess.Popen(
        command,
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        log.close()


def daphne_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "daphne",
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "lifecycle_dash.asgi:application",
    ]


def celery_worker_command(queue: str, hostname: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "lifecycle_dash",
        "worker",
        "-Q",
        queue,
        "-n",
        hostname,
        "-P",
        "solo",
        "-l",
        "INFO",
    ]
