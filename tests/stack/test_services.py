from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.support.processes import BASE_DIR, free_port

SERVICES = [sys.executable, "-m", "lifecycle_dash.stack.services"]


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=BASE_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_it_fails_fast_with_one_line_naming_database_url() -> None:
    closed = free_port()
    started = time.monotonic()
    result = _run([*SERVICES, "check"], DATABASE_URL=f"postgres://postgres@127.0.0.1:{closed}/x")
    assert result.returncode == 2
    assert time.monotonic() - started < 15
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: DATABASE_URL=postgres://postgres@127.0.0.1:{closed}/x")
    assert "unreachable" in lines[0]


def test_it_fails_fast_with_one_line_naming_redis_url() -> None:
    closed = free_port()
    result = _run([*SERVICES, "check"], REDIS_URL=f"redis://127.0.0.1:{closed}/0")
    assert result.returncode == 2
    lines = [line for line in result.stderr.strip().splitlines() if line.startswith("error")]
    assert lines == [lines[0]]
    assert lines[0].startswith("error: REDIS_URL=")
    assert "Traceback" not in result.stderr


def test_a_malformed_database_url_is_named_not_traced() -> None:
    result = _run([*SERVICES, "check"], DATABASE_URL="mysql://somewhere/x")
    assert result.returncode == 2
    assert (
        result.stderr.strip() == "error: DATABASE_URL=mysql://somewhere/x is not a postgres:// URL"
    )


@pytest.mark.slow
@pytest.mark.parametrize("target", ["run", "test"])
def test_make_fails_fast_when_database_url_points_at_a_closed_port(target: str) -> None:
    closed = free_port()
    started = time.monotonic()
    result = _run(
        ["make", "--no-print-directory", target], DATABASE_URL=f"postgres://x@127.0.0.1:{closed}/db"
    )
    assert result.returncode != 0
    assert time.monotonic() - started < 30
    ours = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(ours) == 1
    assert "DATABASE_URL=" in ours[0]
    assert "Traceback" not in result.stderr


def test_exec_passes_the_resolved_urls_and_the_exit_status() -> None:
    code = "import os, sys; print(os.environ['DATABASE_URL']); sys.exit(7)"
    result = _run([*SERVICES, "exec", "--", sys.executable, "-c", code])
    assert result.returncode == 7
    assert result.stdout.strip().startswith(("postgres://", "postgresql://"))


@pytest.mark.slow
@pytest.mark.integration
def test_it_starts_embedded_servers_when_none_is_found() -> None:
    # The same path a machine without PostgreSQL and Redis takes, forced here.
    probe = (
        "import os, psycopg, redis\n"
        "from lifecycle_dash.stack.services import _pg_connect_kwargs\n"
        "with psycopg.connect(**_pg_connect_kwargs(os.environ['DATABASE_URL'])) as c:\n"
        "    c.execute('CREATE TABLE IF NOT EXISTS probe (v int)')\n"
        "    c.execute('INSERT INTO probe VALUES (42)')\n"
        "    print(c.execute('SELECT max(v) FROM probe').fetchone()[0])\n"
        "r = redis.Redis.from_url(os.environ['REDIS_URL'])\n"
        "r.set('probe', 'ok'); print(r.get('probe').decode())\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    result = subprocess.run(
        [*SERVICES, "exec", "--", sys.executable, "-c", probe],
        cwd=BASE_DIR,
        env={**env, "LIFECYCLE_DASH_SERVICES": "embedded"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["42", "ok"]
    assert "postgres: embedded" in result.stderr
    assert "redis: embedded" in result.stderr
    assert not (BASE_DIR / "var" / "services.env").exists()
