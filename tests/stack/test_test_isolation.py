from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.support.processes import BASE_DIR, wait_until


def test_the_session_uses_its_own_redis_database_everywhere() -> None:
    from channels.layers import get_channel_layer

    from lifecycle_dash.celery import app

    db = "/" + os.environ.get("LIFECYCLE_DASH_TEST_REDIS_DB", "15")
    assert settings.REDIS_URL.endswith(db)
    assert app.conf.broker_url == settings.REDIS_URL
    # The layer's address adds connection options (pool size, read timeout) as a query.
    address = get_channel_layer().hosts[0]["address"]
    assert address.partition("?")[0] == settings.REDIS_URL


@pytest.mark.django_db
def test_the_session_has_its_own_test_database() -> None:
    name = connection.settings_dict["NAME"]
    assert name.startswith("test_")
    assert name.endswith(f"_{os.getpid()}")


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for a reaper."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def test_a_helper_process_stops_when_the_run_that_started_it_is_killed() -> None:
    starter = (
        "import os, sys, time\n"
        "from tests.support.processes import running\n"
        "child = [sys.executable, '-c', 'import time; time.sleep(120)']\n"
        "with running(child, env=dict(os.environ), name='killed-starter-child') as process:\n"
        "    print(process.pid, flush=True)\n"
        "    time.sleep(120)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", starter], cwd=BASE_DIR, stdout=subprocess.PIPE, text=True
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
