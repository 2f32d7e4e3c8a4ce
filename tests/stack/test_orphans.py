"""A process that starts others and is killed outright (SIGKILL, OOM) takes them with it.

No ``finally`` runs in a SIGKILLed process, so whatever it started would run on, holding ports
and CPU: the stack's children under ``make run``, the command ``services exec`` runs, the
helpers a test run starts.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import BASE_DIR, wait_until

SLEEPER = "[sys.executable, '-c', 'import time; time.sleep(120)']"

STARTERS = {
    "make run's supervisor": (
        "import sys, time\n"
        "from lifecycle_dash.stack.run import start_child\n"
        f"child = start_child('sleeper', {SLEEPER})\n"
        "print(child.process.pid, flush=True)\n"
        "time.sleep(120)\n"
    ),
    "a test run": (
        "import os, sys, time\n"
        "from tests.support.processes import running\n"
        f"with running({SLEEPER}, env=dict(os.environ), name='killed-starter-child') as p:\n"
        "    print(p.pid, flush=True)\n"
        "    time.sleep(120)\n"
    ),
}


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for a reaper."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _kill_starter_and_see_the_child_go(command: list[str]) -> None:
    parent = subprocess.Popen(
        command, cwd=BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        assert _alive(child)
        parent.kill()  # no finally of the starter runs
        parent.wait(timeout=5)
        assert wait_until(lambda: not _alive(child), timeout=5)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


@pytest.mark.parametrize("starter", sorted(STARTERS))
def test_a_child_stops_when_its_starter_is_killed(starter: str) -> None:
    _kill_starter_and_see_the_child_go([sys.executable, "-c", STARTERS[starter]])


def test_the_command_services_exec_runs_stops_when_services_is_killed() -> None:
    services = [sys.executable, "-m", "lifecycle_dash.stack.services", "exec", "--"]
    report = "import os, time; print(os.getpid(), flush=True); time.sleep(120)"
    _kill_starter_and_see_the_child_go([*services, sys.executable, "-c", report])
