"""The writer's round trips against PostgreSQL: several statements in one message."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from django.db import connection

from lifecycle_dash.ingest import writer
from lifecycle_dash.ingest.models import Cluster, StartupRecord


@pytest.mark.django_db
def test_a_round_trip_hands_each_statement_its_own_result() -> None:
    seen: list[Any] = []
    trip = writer.RoundTrip()
    assert not trip
    trip.add("SELECT %s::int + 1", [1], lambda cursor: seen.append(cursor.fetchone()[0]))
    trip.add("SELECT 'unread'")
    trip.add(
        "SELECT x FROM generate_series(1, %s) AS x",
        [3],
        lambda cursor: seen.append([row[0] for row in cursor]),
    )
    trip.add("SELECT 1 WHERE false", read=lambda cursor: seen.append(cursor.rowcount))
    with connection.cursor() as wrapper:
        trip.run(wrapper.cursor)
        assert not trip  # sent: the trip is empty again
        trip.run(wrapper.cursor)  # and sends nothing
    assert seen == [2, [1, 2, 3], 0]


@pytest.mark.django_db
def test_rows_sent_as_json_keep_quotes_backslashes_and_lose_only_nul() -> None:
    cluster = Cluster.objects.create(name="writer", source="simulator")
    hostile = 'it\'s a \\path\\ with "quotes", a tab\t, a newline\n and a NUL \x00 here'
    trip = writer.RoundTrip()
    writer.upsert_startups(
        trip,
        cluster_id=cluster.pk,
        rows=[
            (
                "u-1",
                datetime(2024, 5, 1, 12, tzinfo=UTC),
                4.5,
                None,
                True,
                orjson.dumps({"note": hostile}).decode(),  # NUL as \u0000
                datetime(2024, 5, 1, 12, 1, tzinfo=UTC),
            )
        ],
    )
    with connection.cursor() as wrapper:
        trip.run(wrapper.cursor)
    record = StartupRecord.objects.get(cluster=cluster, pod_uid="u-1")
    assert record.analysis == {"note": hostile.replace("\x00", "\ufffd")}
    assert record.pod_startup_seconds == 4.5
    assert record.sli_seconds is None
    assert record.within_slo is True
    assert record.pod_created_at == datetime(2024, 5, 1, 12, tzinfo=UTC)
