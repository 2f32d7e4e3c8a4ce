from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.support.processes import (
    daphne_command,
    free_port,
    port_open,
    running,
    wait_until,
)

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def _test_redis_url() -> str:
    """Tests get their own Redis database: a dev `make run` on the same server keeps its
    queues, and no stale task of an earlier run reaches a test's worker (it is flushed)."""
    from urllib.parse import urlsplit, urlunsplit

    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    parts = urlsplit(url)
    db = os.environ.get("LIFECYCLE_DASH_TEST_REDIS_DB", "15")
    return urlunsplit(parts._replace(path=f"/{db}"))


# Before pytest-django reads the settings.
os.environ["REDIS_URL"] = _test_redis_url()
# One test database per session (dropped at its end), so two sessions never collide.
os.environ.setdefault("LIFECYCLE_DASH_TEST_DB_SUFFIX", f"_{os.getpid()}")


def pytest_sessionstart(session: pytest.Session) -> None:
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def test_database_url(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """The URL of the database pytest-django created, for processes started by tests."""
    from django.db import connection

    settings = connection.settings_dict
    password = quote(settings["PASSWORD"] or "")
    auth = f"{quote(settings['USER'])}:{password}@" if password else f"{quote(settings['USER'])}@"
    host = settings["HOST"] or ""
    if host.startswith("/"):
        yield f"postgres://{auth}/{settings['NAME']}?host={host}"
    else:
        yield f"postgres://{auth}{host}:{settings['PORT'] or 5432}/{settings['NAME']}"
    # Backends of killed child processes linger for a moment and would block DROP DATABASE.
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(scope="session")
def stack_env(test_database_url: str) -> dict[str, str]:
    from django.conf import settings

    return {
        **os.environ,
        "DATABASE_URL": test_database_url,
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "DJANGO_SETTINGS_MODULE": "lifecycle_dash.settings",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture(scope="session")
def live_web(stack_env: dict[str, str]) -> Iterator[str]:
    """daphne serving the product (HTTP + WebSocket) against the test database."""
    port = free_port()
    with running(daphne_command(port), env=stack_env, name="daphne") as process:
        assert wait_until(lambda: port_open(port), timeout=30), "daphne did not start"
        assert process.poll() is None
        yield f"http://127.0.0.1:{port}"


# Module scope, not session: Playwright's sync API keeps an event loop running in this thread
# while it lives, which would break the asyncio tests of later modules.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    # Playwright's sync API runs an event loop in this thread; Django's ORM in the same test
    # must still be allowed.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
