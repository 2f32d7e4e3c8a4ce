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
from tests.support.redis_db import claim_redis_db
from tests.support.test_databases import drop_orphaned_test_databases

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def _test_redis_url(url: str) -> str:
    """``LIFECYCLE_DASH_TEST_REDIS_DB`` when set, else a database no other session holds."""
    from urllib.parse import urlsplit, urlunsplit

    db = os.environ.get("LIFECYCLE_DASH_TEST_REDIS_DB") or str(claim_redis_db(url))
    os.environ["LIFECYCLE_DASH_TEST_REDIS_DB"] = db
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


def _use_test_redis() -> None:
    """Tests get their own Redis database, flushed at the start of a session (one per
    session: see ``tests.support.redis_db``).

    A dev `make run` against the same server keeps its queues (a test worker never takes its
    watch slices), and no stale task of an earlier session reaches a test's worker.
    pytest-django has configured Django before this conftest is imported, so the settings
    that hold the URL are rewritten here, before anything has connected.
    """
    from django.conf import settings

    url = _test_redis_url(settings.REDIS_URL)
    settings.REDIS_URL = url
    settings.CELERY_BROKER_URL = url
    settings.CELERY_RESULT_BACKEND = url
    layer: dict[str, Any] = settings.CHANNEL_LAYERS["default"]
    # The layer's own options (pool size, socket timeout) ride on its URL's query: kept.
    from urllib.parse import urlsplit

    options = urlsplit(layer["CONFIG"]["hosts"][0]).query
    layer["CONFIG"]["hosts"] = [urlsplit(url)._replace(query=options).geturl()]
    settings.CACHES["default"]["LOCATION"] = url
    os.environ["REDIS_URL"] = url


_use_test_redis()


@pytest.fixture(autouse=True)
def _channel_layer_per_test() -> Iterator[None]:
    """Each test gets its own channel layer object.

    A channels_redis layer keeps asyncio locks (``receive_lock``, ``receive_clean_locks``)
    for the one event loop a process runs in production. Tests run one loop each, and a lock
    that a receive on an earlier test's loop left held, or bound to that loop, then failed
    every later receive in the process with "is bound to a different event loop": a CI run
    lost ten live tests to it.
    """
    yield
    from channels.layers import channel_layers

    channel_layers.backends.clear()


def pytest_sessionstart(session: pytest.Session) -> None:
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.REDIS_URL).flushdb()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None, django_db_blocker: Any
) -> None:
    """One test database per session (dropped at its end): two sessions never collide.

    Databases of earlier sessions that were killed before their end are dropped first.
    """
    from django.conf import settings

    test: dict[str, Any] = settings.DATABASES["default"].setdefault("TEST", {})  # type: ignore[assignment]
    prefix = test.get("NAME") or "test_lifecycle_dash"
    with django_db_blocker.unblock():
        drop_orphaned_test_databases(prefix)
    test["NAME"] = f"{prefix}_{os.getpid()}"


@pytest.fixture(autouse=True)
def _history_emptied_after_transactional_tests(
    request: pytest.FixtureRequest, django_db_blocker: Any
) -> Iterator[None]:
    """Empty the partitioned history tables after a test that commits.

    pytest-django flushes the tables of managed models after such a test; the transitions
    and event occurrences are partitioned tables under unmanaged models, which it skips.
    Their rows would outlive the test and show up in a later test that counts the whole
    table, depending on the order the tests ran in.
    """
    yield
    marker = request.node.get_closest_marker("django_db")
    transactional = (
        "transactional_db" in request.fixturenames
        or "live_server" in request.fixturenames
        or (marker is not None and bool(marker.kwargs.get("transaction")))
    )
    if not transactional:
        return
    from django.db import connection

    from lifecycle_dash.ingest.partitions import PARTITIONED_TABLES

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(PARTITIONED_TABLES)}")


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
    # must still be allowed. Only while the browser lives: child processes started later
    # (check --deploy, say) must not inherit it.
    had_unsafe = "DJANGO_ALLOW_ASYNC_UNSAFE" in os.environ
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
        try:
            yield chromium
        finally:
            chromium.close()
            if not had_unsafe:
                os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
