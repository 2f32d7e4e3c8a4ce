from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from django.db import connection

from tests.support.test_databases import drop_orphaned_test_databases

pytestmark = pytest.mark.django_db


def _databases(prefix: str) -> set[str]:
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{prefix}_%"])
        return {name for (name,) in cursor.fetchall()}


def _create(name: str) -> None:
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')


def test_a_killed_sessions_database_is_dropped_and_a_live_ones_kept(
    django_db_blocker: Any,
) -> None:
    prefix = "test_orphan_probe"
    # A pid that certainly existed and certainly is gone: a child that has been reaped.
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead_pid = int(gone.stdout)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with django_db_blocker.unblock():
            _create(f"{prefix}_{dead_pid}")
            _create(f"{prefix}_{live.pid}")
            _create(f"{prefix}_keep")  # not a session's database: never touched
            try:
                dropped = drop_orphaned_test_databases(prefix)
                assert dropped == [f"{prefix}_{dead_pid}"]
                assert _databases(prefix) == {f"{prefix}_{live.pid}", f"{prefix}_keep"}
            finally:
                with connection._nodb_cursor() as cursor:
                    for name in _databases(prefix):
                        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        live.kill()
        live.wait()
