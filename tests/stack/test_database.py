from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection


@pytest.mark.django_db
def test_it_writes_and_reads_postgresql() -> None:
    assert connection.vendor == "postgresql"
    user_model = get_user_model()
    user_model.objects.create_user(username="sre", password="x-long-password")
    assert user_model.objects.get(username="sre").check_password("x-long-password")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version_num')::int")
        (version,) = cursor.fetchone()
    assert version >= 130000
