from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.db import connection


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
