"""Daily RANGE partitions of the history tables, created ahead of time.

``ingest_transition`` and ``ingest_eventoccurrence`` are partitioned by ``observed_at`` (UTC
days, ``<table>_pYYYYMMDD``). There is deliberately no DEFAULT partition: it would silently
swallow rows that retention can then never drop by day. Partitions are created:

* at migrate time, for yesterday through ``DAYS_AHEAD`` days ahead (migration 0002);
* by the beat task ``ingest.partitions_ahead`` (tasks_maintenance.py), daily;
* lazily by the batch writer (``ensure_days``) if a batch falls on a day nobody prepared,
  so a dead beat degrades to a little DDL on the hot path instead of failed flushes.

DDL is serialised with a transaction-level advisory lock so concurrent creators (beat and
several writers after midnight) never race on the same ``CREATE TABLE``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction

__all__ = [
    "DAYS_AHEAD",
    "PARTITIONED_TABLES",
    "PartitionInfo",
    "create_partitions",
    "create_partitions_ahead",
    "ensure_days",
    "forget_known_days",
    "list_partitions",
    "partition_name",
]

PARTITIONED_TABLES = ("ingest_transition", "ingest_eventoccurrence")
DAYS_AHEAD = 7
# Arbitrary constant naming "partition DDL" for pg_advisory_xact_lock.
_LOCK_KEY = 7_405_221_013
_NAME = re.compile(r"^(?P<table>.+)_p(?P<day>\d{8})$")

# Days this process knows to exist for every partitioned table (saves a query per batch).
_known_days: set[date] = set()


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    table: str
    name: str
    day: date


def partition_name(*, table: str, day: date) -> str:
    return f"{table}_p{day:%Y%m%d}"


def _bound(day: date) -> str:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).isoformat()


def create_partitions(*, days: Iterable[date]) -> list[str]:
    """Create the missing partitions for these UTC days; returns the names created."""
    wanted = sorted(set(days))
    created: list[str] = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        existing = {(p.table, p.day) for p in list_partitions()}
        for table in PARTITIONED_TABLES:
            for day in wanted:
                if (table, day) in existing:
                    continue
                name = partition_name(table=table, day=day)
                cursor.execute(
                    f'CREATE TABLE "{name}" PARTITION OF "{table}" '
                    f"FOR VALUES FROM ('{_bound(day)}') TO ('{_bound(day + timedelta(days=1))}')"
                )
                created.append(name)
    _known_days.update(wanted)
    return created


def create_partitions_ahead(*, today: date, days_ahead: int = DAYS_AHEAD) -> list[str]:
    """Yesterday (late writers around midnight) through ``days_ahead`` days after today."""
    return create_partitions(days=(today + timedelta(days=n) for n in range(-1, days_ahead + 1)))


def ensure_days(*, days: Iterable[date]) -> None:
    """Make sure partitions exist for these days (cheap when this process already knows)."""
    missing = set(days) - _known_days
    if not missing:
        return
    present: dict[date, int] = {}
    for info in list_partitions():
        present[info.day] = present.get(info.day, 0) + 1
    complete = {day for day, count in present.items() if count == len(PARTITIONED_TABLES)}
    _known_days.update(complete)
    if missing - complete:
        create_partitions(days=missing - complete)


def forget_known_days() -> None:
    """Retention dropped partitions: stop trusting what this process remembered."""
    _known_days.clear()


def list_partitions() -> list[PartitionInfo]:
    """Every daily partition of the partitioned tables, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT parent.relname, child.relname FROM pg_inherits"
            " JOIN pg_class parent ON parent.oid = pg_inherits.inhparent"
            " JOIN pg_class child ON child.oid = pg_inherits.inhrelid"
            " JOIN pg_namespace ns ON ns.oid = child.relnamespace"
            " WHERE parent.relname = ANY(%s) AND ns.nspname = current_schema()",
            [list(PARTITIONED_TABLES)],
        )
        rows = cursor.fetchall()
    result: list[PartitionInfo] = []
    for table, name in rows:
        match = _NAME.match(name)
        if match is None or match.group("table") != table:
            continue
        day = datetime.strptime(match.group("day"), "%Y%m%d").date()
        result.append(PartitionInfo(table=table, name=name, day=day))
    result.sort(key=lambda p: (p.day, p.table))
    return result
