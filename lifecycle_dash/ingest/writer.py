"""Batch SQL for the processors: COPY for history, one multi-row upsert per current-state table.

Every function takes an open cursor or a ``RoundTrip`` and is called inside the flush's single
transaction (``processors.py``); none commits. No ORM instance is built on this path: at tens of
thousands of events per second the per-object cost of the ORM is the bottleneck, so rows are
tuples and statements are a COPY (``ingest_transition``, ``ingest_eventoccurrence``,
``ingest_endpointobservation``) or one ``INSERT ... SELECT ... ON CONFLICT`` per table, queued
on a ``RoundTrip`` with the other statements that can go with it: from one
``jsonb_to_recordset(...)`` parameter for events, slices, termination and startup records, and
from a staging table filled by COPY for pods (why: the comment at ``_POD_STAGE``).

``save_checkpoint`` is the last statement of every flush: the resourceVersion commits with the
data it covers, and when the processor was created under a lease the update is conditional on
still owning it (a worker that lost its lease writes nothing: ``LeaseLostError`` rolls back).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

__all__ = [
    "LeaseLostError",
    "PodRow",
    "RoundTrip",
    "clean_json",
    "clean_row",
    "clean_text",
    "copy_endpoint_observations",
    "copy_occurrences",
    "copy_transitions",
    "delete_slices",
    "json_text",
    "save_checkpoint",
    "upsert_events",
    "upsert_pods",
    "upsert_slices",
    "upsert_startups",
    "upsert_terminations",
]


class LeaseLostError(Exception):
    """The stream's lease is held by someone else: this flush was rolled back."""


def json_text(value: Any) -> str:
    # MappingProxyType (frozen transition details) is not native to orjson.
    return clean_json(orjson.dumps(value, default=dict).decode())


# PostgreSQL text and jsonb cannot hold NUL; one hostile string must not fail a whole batch.
def clean_json(text: str) -> str:
    return text.replace("\\u0000", "\\ufffd") if "\\u0000" in text else text


def clean_text(value: str) -> str:
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def clean_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """The row with NUL replaced in every string (JSON texts included)."""
    return tuple(
        clean_json(clean_text(v)) if type(v) is str and ("\x00" in v or "\\u0000" in v) else v
        for v in row
    )


# --- COPY text format, preformatted ---------------------------------------------------------
# psycopg's ``write_row`` adapts every value in Python, a few microseconds per row; with
# several transitions per event that was the largest single cost of a flush. The hot rows are
# formatted here instead: strings escaped only when they contain a special character, JSON
# from orjson (which never emits raw control characters, so only backslashes need doubling),
# and each distinct timestamp formatted once per batch.

NULL = "\\N"
_COPY_ESCAPES = str.maketrans(
    {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": "\ufffd"}
)


def copy_text(value: str) -> str:
    """A text value as a COPY text field (NUL, which PostgreSQL cannot store, as U+FFFD)."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value or "\x00" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def copy_json(text: str) -> str:
    """orjson output as a COPY text field (``\\u0000`` made storable, backslashes doubled)."""
    if "\\" in text:
        return clean_json(text).replace("\\", "\\\\")
    return text


class CopyTimes:
    """Timestamps as COPY fields, each distinct one formatted once (a batch repeats them)."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[datetime, str] = {}

    def __call__(self, value: datetime | None) -> str:
        if value is None:
            return NULL
        text = self._seen.get(value)
        if text is None:
            # Equal instants in other zones hash alike; isoformat keeps the offset, so the
            # cached text denotes the same instant either way.
            text = self._seen[value] = value.isoformat()
        return text


TRANSITION_COLUMNS = (
    "observed_at, cluster_id, pod_uid, kind, subject, old, new, at, api_time, time_source, "
    "key, detail"
)


def copy_transitions(cursor: Any, lines: Sequence[str]) -> None:
    """``lines``: COPY text lines (``TRANSITION_COLUMNS``), as ``CopyText`` formats them."""
    if not lines:
        return
    with cursor.copy(f"COPY ingest_transition ({TRANSITION_COLUMNS}) FROM STDIN") as copy:
        copy.write("".join(lines))


OCCURRENCE_COLUMNS = (
    "observed_at, cluster_id, pod_uid, event_uid, ordinal, key, type, reason, container_name, "
    "message, at, earliest, latest, sort_at, time_source"
)


def copy_occurrences(cursor: Any, rows: Sequence[tuple[Any, ...]]) -> None:
    if not rows:
        return
    with cursor.copy(f"COPY ingest_eventoccurrence ({OCCURRENCE_COLUMNS}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(clean_row(row))


ENDPOINT_COLUMNS = (
    "cluster_id, pod_uid, namespace, slice_name, service_name, observed_at, ready, serving, "
    "terminating, removed, by_relist"
)


def copy_endpoint_observations(cursor: Any, rows: Sequence[tuple[Any, ...]]) -> None:
    if not rows:
        return
    with cursor.copy(f"COPY ingest_endpointobservation ({ENDPOINT_COLUMNS}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(clean_row(row))


@dataclass(slots=True)
class PodRow:
    uid: str
    namespace: str
    name: str
    node_name: str
    owner_kind: str
    owner_name: str
    phase: str
    status: str
    ready: str
    restarts: int
    last_restart_at: datetime | None
    pod_ip: str
    labels: str  # JSON text
    qos_class: str
    created_at: datetime | None
    deletion_requested_at: datetime | None
    deleted_at: datetime | None
    deleted_not_before: datetime | None
    deletion_source: str
    snapshot: str  # JSON text
    resource_version: str
    recent_resource_versions: str  # JSON text (a list)
    first_observed_at: datetime
    last_observed_at: datetime


_POD_COLUMNS = (
    ("uid", "text"),
    ("namespace", "text"),
    ("name", "text"),
    ("node_name", "text"),
    ("owner_kind", "text"),
    ("owner_name", "text"),
    ("phase", "text"),
    ("status", "text"),
    ("ready", "text"),
    ("restarts", "integer"),
    ("last_restart_at", "timestamptz"),
    ("pod_ip", "text"),
    ("labels", "jsonb"),
    ("qos_class", "text"),
    ("created_at", "timestamptz"),
    ("deletion_requested_at", "timestamptz"),
    ("deleted_at", "timestamptz"),
    ("deleted_not_before", "timestamptz"),
    ("deletion_source", "text"),
    ("snapshot", "jsonb"),
    ("resource_version", "text"),
    ("recent_resource_versions", "jsonb"),
    ("first_observed_at", "timestamptz"),
    ("last_observed_at", "timestamptz"),
)
_POD_NAMES = tuple(name for name, _ in _POD_COLUMNS)


class RoundTrip:
    """Statements sent to PostgreSQL in one message, their results read back in order.

    Why: a flush used to make some two dozen round trips (stage table, COPY, upsert, then the
    same again per record table, each read on its own). On a loaded machine every round trip
    waits twice for a CPU, once for the server's backend and once for this thread, which in a
    watch worker also waits for the GIL while the loop parses the next batch: a flush of 100
    events took over 100 ms that way. A flush now makes a handful: COPY of the history, one
    trip with the current-state upserts and what the analyses read, one with the analyses'
    records and the checkpoint, and the commit.

    Django's psycopg cursors bind parameters client-side (``ClientCursor``), so the statements
    go as one simple-protocol query; each result is read by the ``read`` its statement was
    added with. An error in any statement fails the whole transaction, as it would alone.
    """

    __slots__ = ("_params", "_readers", "_sql")

    def __init__(self) -> None:
        self._sql: list[str] = []
        self._params: list[Any] = []
        self._readers: list[Callable[[Any], None] | None] = []

    def __bool__(self) -> bool:
        return bool(self._sql)

    def add(
        self,
        sql: str,
        params: Sequence[Any] = (),
        read: Callable[[Any], None] | None = None,
    ) -> None:
        """Queue ``sql``; ``read(cursor)`` is called with the cursor on its result."""
        self._sql.append(sql)
        self._params.extend(params)
        self._readers.append(read)

    def run(self, cursor: Any) -> None:
        """Send what was queued (nothing if empty) and hand each result to its reader."""
        if not self._sql:
            return
        sql, params, readers = self._sql, self._params, self._readers
        self._sql, self._params, self._readers = [], [], []
        cursor.execute(";\n".join(sql), params)
        for index, read in enumerate(readers):
            if index:
                cursor.nextset()
            if read is not None:
                read(cursor)


def _rows_json(columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[Any]]) -> str:
    """Rows (values in ``columns`` order; jsonb ones as JSON text) as one JSON array of objects.

    One parameter for the whole table, so the upsert can share a round trip: quoting every
    value of array parameters costs the client more, and COPY needs round trips of its own.
    """
    names = [name for name, _ in columns]
    json_at = [i for i, (_, kind) in enumerate(columns) if kind == "jsonb"]
    fragment = orjson.Fragment
    objects = []
    for row in rows:
        values = list(row)
        for i in json_at:
            if values[i] is not None:
                values[i] = fragment(values[i])
        objects.append(dict(zip(names, values, strict=True)))
    # Aware datetimes serialize as RFC 3339 with their offset; NUL, which text and jsonb
    # cannot hold, becomes U+FFFD so that one hostile string cannot fail the batch.
    return clean_json(orjson.dumps(objects).decode())


def _upsert(
    trip: RoundTrip,
    *,
    table: str,
    columns: Sequence[tuple[str, str]],
    cluster_id: int,
    conflict: str,
    update: str,
    rows: Iterable[Sequence[Any]] = (),
    source: str = "",
    selects: dict[str, str] | None = None,
) -> None:
    """Queue one ``INSERT ... SELECT ... ON CONFLICT``: of ``rows``, sent as one JSON
    parameter (``jsonb_to_recordset``), or of the rows COPYed into the table ``source``."""
    names = ", ".join(name for name, _ in columns)
    chosen = ", ".join((selects or {}).get(name, name) for name, _ in columns)
    params: list[Any] = [cluster_id]
    if not source:
        shape = ", ".join(f"{name} {kind}" for name, kind in columns)
        source = f"jsonb_to_recordset(%s::jsonb) AS r({shape})"
        params.append(_rows_json(columns, rows))
    trip.add(
        # Sorted on the conflict key: concurrent flushes of different streams (termination
        # records are written by all three) then lock rows in one order and cannot deadlock.
        f"INSERT INTO {table} (cluster_id, {names}) SELECT %s, {chosen} FROM {source} "
        f"ORDER BY {conflict.removeprefix('cluster_id, ')} "
        f"ON CONFLICT ({conflict}) DO UPDATE SET {update}",
        params,
    )


_POD_UPDATE = ", ".join(
    f"{name} = EXCLUDED.{name}" for name in _POD_NAMES if name not in ("uid", "first_observed_at")
) + (", first_observed_at = LEAST(ingest_pod.first_observed_at, EXCLUDED.first_observed_at)")


def _pod_line(row: PodRow, times: CopyTimes) -> str:
    text = copy_text
    return "\t".join(
        (
            text(row.uid),
            text(row.namespace),
            text(row.name),
            text(row.node_name),
            text(row.owner_kind),
            text(row.owner_name),
            text(row.phase),
            text(row.status),
            text(row.ready),
            str(row.restarts),
            times(row.last_restart_at),
            text(row.pod_ip),
            copy_json(row.labels),
            text(row.qos_class),
            times(row.created_at),
            times(row.deletion_requested_at),
            times(row.deleted_at),
            times(row.deleted_not_before),
            text(row.deletion_source),
            copy_json(row.snapshot),
            text(row.resource_version),
            copy_json(row.recent_resource_versions),
            times(row.first_observed_at),
            times(row.last_observed_at),
        )
    )


# Pod rows carry the snapshot document (kilobytes each). For them, COPY into a staging
# table and an INSERT from it cost PostgreSQL a quarter less than one JSON parameter, which
# it must parse whole into one jsonb before taking it apart. The staging table is created if
# missing and emptied in one round trip within each flush's transaction, so poolers that hand
# out a server connection per transaction work too. Its jsonb columns are compressed as
# ingest_pod's snapshot is (lz4 where the server has it, ingest migration 0007): the datum
# then moves into ingest_pod as it is, compressed once; pglz had been a sixth of the
# server's work.
_POD_STAGE = "stage_ingest_pod"
_STAGE_SQL = "_lifecycle_dash_stage_sql"


def _pod_stage_sql(cursor: Any) -> str:
    """The statement that readies the staging table (built once per connection)."""
    raw = cursor.connection
    sql: str | None = getattr(raw, _STAGE_SQL, None)
    if sql is None:
        cursor.execute(
            "SELECT attcompression = 'l' FROM pg_attribute "
            "WHERE attrelid = 'ingest_pod'::regclass AND attname = 'snapshot'"
        )
        found = cursor.fetchone()
        compression = " COMPRESSION lz4" if found and found[0] else ""
        shape = ", ".join(
            f"{name} {kind}{compression if kind == 'jsonb' else ''}" for name, kind in _POD_COLUMNS
        )
        sql = f"CREATE TEMP TABLE IF NOT EXISTS {_POD_STAGE} ({shape}); TRUNCATE {_POD_STAGE}"
        setattr(raw, _STAGE_SQL, sql)
    return sql


def upsert_pods(
    cursor: Any,
    trip: RoundTrip,
    *,
    cluster_id: int,
    rows: Sequence[PodRow],
    times: CopyTimes | None = None,
) -> None:
    """COPY the batch's pod rows (JSON fields are orjson text) to the staging table now, and
    queue their upsert on ``trip``."""
    if not rows:
        return
    times = times or CopyTimes()
    cursor.execute(_pod_stage_sql(cursor))  # one round trip for both statements
    with cursor.copy(f"COPY {_POD_STAGE} ({', '.join(_POD_NAMES)}) FROM STDIN") as copy:
        copy.write("".join(_pod_line(row, times) + "\n" for row in rows))
    _upsert(
        trip,
        table="ingest_pod",
        columns=_POD_COLUMNS,
        source=_POD_STAGE,
        cluster_id=cluster_id,
        conflict="cluster_id, uid",
        update=_POD_UPDATE,
    )


EVENT_COLUMNS = (
    ("event_uid", "text"),
    ("name", "text"),
    ("namespace", "text"),
    ("resource_version", "text"),
    ("pod_uid", "text"),
    ("pod_name", "text"),
    ("pod_namespace", "text"),
    ("field_path", "text"),
    ("container_name", "text"),
    ("container_list", "text"),
    ("type", "text"),
    ("reason", "text"),
    ("message", "text"),
    ("message_truncated", "boolean"),
    ("action", "text"),
    ("source_component", "text"),
    ("source_host", "text"),
    ("reporting_controller", "text"),
    ("reporting_instance", "text"),
    ("count", "integer"),
    ("first_timestamp", "timestamptz"),
    ("last_timestamp", "timestamptz"),
    ("event_time", "timestamptz"),
    ("series_count", "integer"),
    ("series_last_observed_time", "timestamptz"),
    ("creation_timestamp", "timestamptz"),
    ("occurred_at", "timestamptz"),
    ("occurred_at_source", "text"),
    ("first_received_at", "timestamptz"),
    ("last_received_at", "timestamptz"),
)
_EVENT_UPDATE = ", ".join(
    f"{name} = EXCLUDED.{name}"
    for name, _ in EVENT_COLUMNS
    if name not in ("event_uid", "first_received_at")
)


def upsert_events(trip: RoundTrip, *, cluster_id: int, rows: Sequence[tuple[Any, ...]]) -> None:
    if not rows:
        return
    _upsert(
        trip,
        table="ingest_podevent",
        columns=EVENT_COLUMNS,
        rows=rows,
        cluster_id=cluster_id,
        conflict="cluster_id, event_uid",
        update=_EVENT_UPDATE,
    )


_SLICE_COLUMNS = (
    ("namespace", "text"),
    ("name", "text"),
    ("resource_version", "text"),
    ("compact", "jsonb"),
    ("last_observed_at", "timestamptz"),
)


def upsert_slices(trip: RoundTrip, *, cluster_id: int, rows: Sequence[tuple[Any, ...]]) -> None:
    if not rows:
        return
    _upsert(
        trip,
        table="ingest_endpointslicestate",
        columns=_SLICE_COLUMNS,
        rows=rows,
        cluster_id=cluster_id,
        conflict="cluster_id, namespace, name",
        update="resource_version = EXCLUDED.resource_version, compact = EXCLUDED.compact, "
        "last_observed_at = EXCLUDED.last_observed_at",
    )


def delete_slices(trip: RoundTrip, *, cluster_id: int, keys: Sequence[tuple[str, str]]) -> None:
    if not keys:
        return
    trip.add(
        "DELETE FROM ingest_endpointslicestate WHERE cluster_id = %s AND (namespace, name) IN "
        "(SELECT * FROM unnest(%s::text[], %s::text[]))",
        [cluster_id, [k[0] for k in keys], [k[1] for k in keys]],
    )


# Rows: (pod_uid, cause, verdicts joined by newlines, started_at, analysis JSON, computed_at).
_TERMINATION_COLUMNS = (
    ("pod_uid", "text"),
    ("cause", "text"),
    ("verdicts", "text"),
    ("started_at", "timestamptz"),
    ("analysis", "jsonb"),
    ("computed_at", "timestamptz"),
)


def upsert_terminations(
    trip: RoundTrip, *, cluster_id: int, rows: Sequence[tuple[Any, ...]]
) -> None:
    if not rows:
        return
    _upsert(
        trip,
        table="ingest_terminationrecord",
        columns=_TERMINATION_COLUMNS,
        rows=rows,
        cluster_id=cluster_id,
        conflict="cluster_id, pod_uid",
        update="cause = EXCLUDED.cause, verdicts = EXCLUDED.verdicts, "
        "started_at = EXCLUDED.started_at, analysis = EXCLUDED.analysis, "
        "computed_at = EXCLUDED.computed_at",
        selects={"verdicts": "string_to_array(verdicts, E'\\n')"},
    )


_STARTUP_COLUMNS = (
    ("pod_uid", "text"),
    ("pod_created_at", "timestamptz"),
    ("pod_startup_seconds", "double precision"),
    ("sli_seconds", "double precision"),
    ("within_slo", "boolean"),
    ("analysis", "jsonb"),
    ("computed_at", "timestamptz"),
)


def upsert_startups(trip: RoundTrip, *, cluster_id: int, rows: Sequence[tuple[Any, ...]]) -> None:
    if not rows:
        return
    _upsert(
        trip,
        table="ingest_startuprecord",
        columns=_STARTUP_COLUMNS,
        rows=rows,
        cluster_id=cluster_id,
        conflict="cluster_id, pod_uid",
        update=", ".join(
            f"{name} = EXCLUDED.{name}" for name, _ in _STARTUP_COLUMNS if name != "pod_uid"
        ),
    )


def save_checkpoint(
    trip: RoundTrip,
    *,
    stream_id: int,
    lease_owner: str,
    resource_version: str | None,
    checkpoint_at: datetime | None,
    events: int,
    events_per_second: float | None,
    last_event_at: datetime | None,
    flushed_at: datetime,
    bad_input: dict[str, int],
    relists: int,
    relist_at: datetime | None,
) -> None:
    """Queue the checkpoint's advance and the stream's stats: the flush's last statements,
    sent with its last round trip (``LeaseLostError`` when it runs, before the commit).

    In the same round trip, the transaction is told not to wait for the WAL flush at commit.
    That is safe here: a commit lost to a server crash loses this checkpoint with it (one
    transaction, and lost commits are always the newest), so the stream replays its events
    from the API server. It saves a disk flush per batch on the live path.
    """
    sql = (
        "UPDATE ingest_watchstream SET "
        "resource_version = COALESCE(%s, resource_version), "
        "checkpoint_at = CASE WHEN %s::text IS NULL THEN checkpoint_at "
        "ELSE COALESCE(%s, checkpoint_at) END, "
        "events_total = events_total + %s, "
        "events_per_second = COALESCE(%s, events_per_second), "
        "last_event_at = GREATEST(last_event_at, %s), "
        "last_flush_at = %s, bad_input = %s::jsonb, "
        "relists_total = relists_total + %s, "
        "last_relist_at = COALESCE(%s, last_relist_at) "
        "WHERE id = %s"
    )
    params: list[Any] = [
        resource_version,
        resource_version,
        checkpoint_at,
        events,
        events_per_second,
        last_event_at,
        flushed_at,
        json_text(bad_input),
        relists,
        relist_at,
        stream_id,
    ]
    if lease_owner:
        sql += " AND lease_owner = %s"
        params.append(lease_owner)

    def held(cursor: Any) -> None:
        if cursor.rowcount != 1:
            raise LeaseLostError(f"stream {stream_id}: lease no longer held by {lease_owner!r}")

    trip.add(sql, params, read=held)
    trip.add("SET LOCAL synchronous_commit = off")
