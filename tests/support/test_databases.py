"""Test databases left behind by test sessions that were killed before their teardown.

Each session creates ``<name>_<pid>`` and drops it at its end; a session killed with SIGKILL
(or a machine reset) never gets there, and over weeks a developer's server fills with them.
A new session drops those whose process no longer exists. Only this machine's pids can be
checked, which is why only databases of dead local pids are touched.
"""

from __future__ import annotations

import os
import re

from django.db import connection


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def drop_orphaned_test_databases(prefix: str) -> list[str]:
    """Drop ``<prefix>_<pid>`` databases whose pid is not a live process; return their names."""
    pattern = re.compile(rf"{re.escape(prefix)}_(\d+)")
    dropped: list[str] = []
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{prefix}_%"])
        for (name,) in cursor.fetchall():
            match = pattern.fullmatch(name)
            if match is None or _alive(int(match.group(1))):
                continue
            # WITH (FORCE): a killed session's stray backends would otherwise block the drop.
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            dropped.append(name)
    return dropped
