"""Real processes for integration tests: daphne, Celery workers, each against the test database."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent


# Resolved once, here: the child calls it between fork and exec, where it must not load
# anything (another thread of the parent may hold the loader's lock).
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """``preexec_fn``: SIGTERM to the child when the process that started it dies, however.

    A test run or benchmark killed from outside (a timeout's SIGTERM, a SIGKILL) never runs
    the ``finally`` that stops its children: they went on running, taking CPU and ports from
    every later run on the machine. Tied to the starting thread, so start children from the
    thread that outlives them (the main thread, in tests and benchmarks).
    """
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


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
