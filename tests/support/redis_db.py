"""A Redis database of its own for each test session.

Sessions started side by side from one checkout (or on one machine) must not share a
database: each flushes its database when it starts, and the Celery workers of one session's
`make run` would take the tasks of another's beat and run them against the wrong PostgreSQL
database. A session claims the first free database number by holding an exclusive lock on a
file named after it for as long as the process lives; the kernel releases it when the
process ends, however it ends, so a crashed session never keeps its number.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
from typing import IO
from urllib.parse import urlsplit

__all__ = ["claim_redis_db"]

# The open lock files: closing one (or losing it to the garbage collector) releases its claim.
_claims: list[IO[str]] = []


def _db_of(url: str) -> int:
    path = urlsplit(url).path.strip("/")
    return int(path) if path.isdigit() else 0


def claim_redis_db(url: str, *, databases: int = 16) -> int:
    """A database number of the server at ``url`` that no other session on this machine
    holds, never the one ``url`` itself names (a developer's `make run` uses it)."""
    server = re.sub(r"[^A-Za-z0-9.-]+", "_", urlsplit(url).netloc.rpartition("@")[2]) or "local"
    for db in range(databases - 1, 0, -1):
        if db == _db_of(url):
            continue
        path = os.path.join(tempfile.gettempdir(), f"lifecycle-dash-test-redis-{server}-{db}.lock")
        try:
            lock = open(path, "a")  # noqa: SIM115 - held open for the whole session
        except OSError:
            continue
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        _claims.append(lock)
        return db
    raise RuntimeError(f"every Redis database of {url} is held by another test session")
