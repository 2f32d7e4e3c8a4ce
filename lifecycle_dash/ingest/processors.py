"""Stream processors: raw watch objects -> rows, one transaction per batch.

One processor per (cluster, resource) stream, created by ``processor_for(stream=...)`` and fed
by the watch side (``watching.py``): ``handle`` for every ADDED/MODIFIED/DELETED object,
``bad_line`` for unparseable lines, ``begin_relist``/``end_relist`` around a (re)list, and
``flush`` every 1,000 events / 100 ms / bookmark. ``handle`` parses (snapshot, event or
slice extraction, all in ``lifecycle``); for pods it also diffs against the cache when it
can (``PodProcessor``). ``flush`` writes everything (``writer.py``) plus the checkpoint in ONE
transaction, then publishes. The watch loop splits ``flush`` in two: ``take_batch`` closes
the batch in the loop's thread and returns its write, which a ``Committer`` runs in a thread
of its own while ``handle`` goes on (the write touches only its batch, or for events and
slices the diff base, which ``handle`` does not touch).

Idempotency (nothing doubled on replays) rests on three facts, not on a unique index (a
partitioned table's unique index must contain the partition key, and a replay's receive time
differs from the original's):

1. The checkpoint resourceVersion commits in the same transaction as the rows it covers, so
   the watch side never resumes from a point before committed data except through a relist.
2. The diff base (last snapshot per pod, last version per Event, last version per slice) is
   the committed state plus the batches handled since: it is loaded from the database on
   demand (``_load``: only for what is not in it, with no write in flight), moves forward
   only with the batches whose rows are written, and is dropped entirely when a write fails
   (``_reset``), so the next batch diffs against the database again.
   ``snapshots.py`` stores a pod snapshot losslessly for this reason.
3. The lifecycle diff of a state against itself is empty: a replayed or relisted pod version
   equal to the committed one yields no transition; a replayed Event version adds no
   occurrence (``occurrences_between``); an unchanged slice adds no observation. A DELETED
   for a pod already deleted is ignored.

Relist reconciliation: pods alive in the database (or cache) but absent from a completed
list are recorded deleted "observed by relist", between the last time the stream was known
complete (``checkpoint_at``) and the end of the list; their final state is unknown. The
unobserved window itself is stored as an ``ObservationGap``.

Checkpoint: ``flush(resource_version=X)`` commits X; ``flush(resource_version=None)`` commits
the resourceVersion of the last object handled outside a relist (objects arrive in storage
order, so it is a valid resume point), or the list's resourceVersion after ``end_relist``;
during a relist it leaves the checkpoint where it was (listed objects are not in RV order).
A flush whose processor was created under a lease commits only while the stream's
``lease_owner`` is still ours (``LeaseLostError`` otherwise); database failures surface as
``django.db`` errors and drop the cache (see 2. above).

Cost per event (the target is tens of thousands per second per worker process): every
event is parsed and diffed, but a pod's row (kubectl columns, snapshot JSON) is built once
per batch from its last state, the snapshot JSON re-encodes only the parts that changed
(``snapshots.DocumentMemo``), transitions and pod rows go to PostgreSQL as preformatted COPY
text, the startup record is final once the pod has been Ready, and records of pods first seen
in the batch are analysed from the history in hand instead of being read back.

Bad input never raises out of ``handle``: it is counted by kind on the ``WatchStream``
(``bad_input``) and logged with cluster, resource and resourceVersion; the rest of the batch
is kept.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

import orjson
from django.db import connection, transaction

from lifecycle_dash.ingest import flushstats, partitions, writer
from lifecycle_dash.ingest.gctuning import tune_gc_for_ingest
from lifecycle_dash.ingest.models import Pod, Resource, WatchStream
from lifecycle_dash.ingest.publish import PodPublisher, get_publisher, pod_message
from lifecycle_dash.ingest.snapshots import DocumentMemo, snapshot_from_document
from lifecycle_dash.ingest.terminations import (
    EVENT_COLUMNS_SQL,
    EVENT_FIELDS,
    StartupRecompute,
    TerminationRecompute,
    event_from_row,
)
from lifecycle_dash.lifecycle import (
    PodSnapshot,
    SnapshotCache,
    Transition,
    TransitionKind,
    diff,
    format_rfc3339,
    kubectl_columns,
)
from lifecycle_dash.lifecycle.endpoints import (
    SERVICE_NAME_LABEL,
    EndpointObservation,
    diff_endpoint_slices,
)
from lifecycle_dash.lifecycle.events import PodEvent, event_from_raw, occurrences_between
from lifecycle_dash.lifecycle.transitions import freeze_detail

__all__ = [
    "MAX_OBJECT_BYTES",
    "EventProcessor",
    "FlushResult",
    "LeaseLostError",
    "PodProcessor",
    "SliceProcessor",
    "StreamProcessor",
    "processor_for",
]

log = logging.getLogger(__name__)

LeaseLostError = writer.LeaseLostError

# The API server's object size limit (reference §8); larger is not something it sends.
MAX_OBJECT_BYTES = 1_572_864
_EVENT_TYPES = frozenset({"ADDED", "MODIFIED", "DELETED"})
_TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})
# Event reasons that are evidence in a termination analysis (reference §3.5, §3.6).
_TERMINATION_REASONS = frozenset(
    {
        "Killing",
        "FailedPreStopHook",
        "FailedKillPod",
        "ExceededGracePeriod",
        "Evicted",
        "Preempted",
        "Preempting",
        "TaintManagerEviction",
        "NodeNotReady",
        "DeadlineExceeded",
    }
)
# Event reasons that are evidence in a startup analysis (scheduling, image pulls).
_STARTUP_REASONS = frozenset({"Scheduled", "Pulling", "Pulled"})
# Bound on cached Event versions; evicted ones are reloaded from the database on demand.
_EVENT_CACHE_MAX = 200_000
_EWMA = 0.3
# Per pod, how many processed resourceVersions are remembered to recognise replays. Replays
# come from the watch history (minutes), so a pod's last few dozen versions cover them.
_RECENT_VERSIONS = 32
# Pods whose encoded snapshot parts are kept (``DocumentMemo``), like the SnapshotCache.
_DOCUMENT_MEMO_MAX = 200_000


class StreamProcessor(Protocol):
    def handle(
        self, *, event_type: str, obj: dict[str, Any], raw_size: int, received_at: datetime
    ) -> None: ...

    def bad_line(self, *, error: str, raw_prefix: bytes, received_at: datetime) -> None: ...

    def begin_relist(self, *, started_at: datetime, reason: str) -> None: ...

    def end_relist(self, *, list_resource_version: str, finished_at: datetime) -> None: ...

    def pending(self) -> int: ...

    def prepare(self) -> None: ...

    def flush(
        self, *, resource_version: str | None, complete_at: datetime | None = None
    ) -> FlushResult: ...

    def take_batch(
        self, *, resource_version: str | None, complete_at: datetime | None = None
    ) -> Callable[[], FlushResult]: ...

    def discard_uncommitted(self) -> None: ...


@dataclass(frozen=True, slots=True)
class FlushResult:
    events: int
    resource_version: str  # the committed checkpoint after this flush
    transitions: int = 0
    pods: int = 0
    occurrences: int = 0
    endpoint_observations: int = 0
    terminations: int = 0
    startups: int = 0
    gaps: int = 0
    published: int = 0
    seconds: float = 0.0


@dataclass(slots=True)
class _Counts:
    transitions: int = 0
    pods: int = 0
    occurrences: int = 0
    endpoint_observations: int = 0
    terminations: int = 0
    startups: int = 0


@dataclass(slots=True)
class _Relist:
    started_at: datetime
    reason: str
    seen: set[Any] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class _RelistEnd:
    seen: frozenset[Any]
    finished_at: datetime
    # The stream was known complete up to here (None: it never was, e.g. the first list).
    complete_until: datetime | None


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _iso(value: datetime | None) -> str | None:
    return None if value is None else format_rfc3339(value)


@dataclass(slots=True)
class _Batch:
    """What ``take_batch`` closed: the items and the checkpoint they commit with."""

    items: list[Any]
    events: int
    resource_version: str | None
    checkpoint_at: datetime | None
    flushed_at: datetime
    newest: datetime | None
    gap: tuple[datetime, datetime, str] | None
    relists: int
    relist_at: datetime | None
    bad: dict[str, int]
    rate: float | None


class _BaseProcessor:
    """Counters, relists, checkpoint and the one-transaction flush shared by all resources."""

    resource: str = ""
    _items: list[Any]

    def __init__(self, *, stream: WatchStream, publisher: PodPublisher | None = None) -> None:
        cluster = stream.cluster
        self.stream_id = stream.pk
        self.cluster_id = cluster.pk
        self.cluster_name = cluster.name
        self.lease_owner = stream.lease_owner
        self._include = frozenset(cluster.namespaces)
        self._exclude = frozenset(cluster.exclude_namespaces)
        self._publisher = publisher
        self._bad: dict[str, int] = {
            str(k): int(v) for k, v in (stream.bad_input or {}).items() if isinstance(v, int)
        }
        self._checkpoint_rv = stream.resource_version
        self._checkpoint_at = stream.checkpoint_at
        self._next_rv: str | None = None
        self._relist: _Relist | None = None
        self._relist_end: _RelistEnd | None = None
        self._gap: tuple[datetime, datetime, str] | None = None
        self._relists_done = 0
        self._relist_at: datetime | None = None
        self._handled = 0
        self._newest: datetime | None = None
        self._last_flush = time.monotonic()
        self._rate: float | None = None

    # --- the watch side's interface ---------------------------------------------------------

    def handle(
        self, *, event_type: str, obj: dict[str, Any], raw_size: int, received_at: datetime
    ) -> None:
        self._handled += 1
        if self._newest is None or received_at > self._newest:
            self._newest = received_at
        rv = ""
        try:
            meta = obj.get("metadata") if isinstance(obj, dict) else None
            if not isinstance(meta, dict):
                self._bad_input("not_an_object" if not isinstance(obj, dict) else "no_metadata")
                return
            raw_rv = meta.get("resourceVersion")
            rv = raw_rv if isinstance(raw_rv, str) else ""
            if self._relist is None and rv:
                self._next_rv = rv
            if event_type not in _EVENT_TYPES:
                self._bad_input("unknown_event_type", rv=rv, detail=event_type[:40])
                return
            if raw_size > MAX_OBJECT_BYTES:
                self._bad_input("oversized", rv=rv, detail=f"{raw_size} bytes")
            namespace = meta.get("namespace")
            if isinstance(namespace, str) and not self._watches(namespace):
                return
            self._accept(deleted=event_type == "DELETED", obj=obj, rv=rv, received_at=received_at)
        except Exception:
            # A bug in extraction must not stop the stream: count it, keep the batch.
            log.exception(
                "ingest: processing failed cluster=%s resource=%s resourceVersion=%s",
                self.cluster_name,
                self.resource,
                rv,
            )
            self._bad_input("processing_error", rv=rv, log_it=False)

    def bad_line(self, *, error: str, raw_prefix: bytes, received_at: datetime) -> None:
        self._bad_input("unparseable", detail=f"{error[:200]} {raw_prefix[:80]!r}")

    def begin_relist(self, *, started_at: datetime, reason: str) -> None:
        if self._relist is None:
            self._relist = _Relist(started_at=started_at, reason=reason)
        else:
            # A list restarted (e.g. 410 on an expired continue token): start counting again.
            self._relist.seen.clear()

    def end_relist(self, *, list_resource_version: str, finished_at: datetime) -> None:
        relist = self._relist
        if relist is None:
            return
        self._relist = None
        self._relist_end = _RelistEnd(
            seen=frozenset(relist.seen),
            finished_at=finished_at,
            complete_until=self._checkpoint_at,
        )
        if self._checkpoint_at is not None:
            self._gap = (self._checkpoint_at, finished_at, relist.reason)
        self._relists_done += 1
        self._relist_at = finished_at
        self._next_rv = list_resource_version
        self._on_relist_end(self._relist_end)

    def pending(self) -> int:
        return self._handled

    def prepare(self) -> None:
        """Work on the batch so far that may run beside the write in flight, done before
        waiting for it so that the two overlap (optional: ``take_batch`` finishes it)."""

    def flush(
        self, *, resource_version: str | None, complete_at: datetime | None = None
    ) -> FlushResult:
        """Commit the batch and the checkpoint. ``complete_at``: when the stream was known
        complete up to ``resource_version`` (a bookmark's receive time)."""
        try:
            write = self.take_batch(resource_version=resource_version, complete_at=complete_at)
            return write()
        except Exception:
            self.discard_uncommitted()
            raise

    def take_batch(
        self, *, resource_version: str | None, complete_at: datetime | None = None
    ) -> Callable[[], FlushResult]:
        """Close the batch handled so far and return its write (the transaction of ``flush``).

        Call it with no write in flight: closing a batch may read the database (pods not yet
        in the diff base, a relist's reconciliation), which must hold every earlier batch.
        The write may then run in another thread while ``handle`` goes on with the next batch
        (``ingest.committer``): it touches only the batch it was given. Writes must run one at
        a time, in the order taken. If this or a write fails, call ``discard_uncommitted``
        before anything else: the diff base and what was handled since hold state the
        database does not have.
        """
        rv = resource_version
        if rv is None and self._relist is None:
            rv = self._next_rv
        flushed_at = datetime.now(UTC)
        checkpoint_at = self._relist_at if self._relist_end is not None else self._newest
        if complete_at is not None and (checkpoint_at is None or complete_at > checkpoint_at):
            checkpoint_at = complete_at
        if rv is not None and checkpoint_at is None:
            checkpoint_at = flushed_at
        events = self._handled
        now = time.monotonic()
        elapsed = now - self._last_flush
        if events and elapsed > 0:
            rate = events / elapsed
            self._rate = rate if self._rate is None else _EWMA * rate + (1 - _EWMA) * self._rate
        items = self._close_items()
        batch = _Batch(
            items=items,
            events=events,
            resource_version=rv,
            checkpoint_at=checkpoint_at,
            flushed_at=flushed_at,
            newest=self._newest,
            gap=self._gap,
            relists=self._relists_done,
            relist_at=self._relist_at,
            bad=dict(self._bad),
            rate=self._rate,
        )
        self._handled = 0
        self._newest = None
        self._gap = None
        self._relist_end = None
        self._relists_done = 0
        self._relist_at = None
        self._last_flush = now
        return partial(self._write_batch, batch)

    def discard_uncommitted(self) -> None:
        """After a failed write: forget everything not committed; the watch side replays."""
        self._reset()
        if not connection.in_atomic_block:
            # A dropped connection stays broken until closed; the next flush reconnects.
            connection.close_if_unusable_or_obsolete()

    def _write_batch(self, batch: _Batch) -> FlushResult:
        started = time.monotonic()
        rv = batch.resource_version
        partitions.ensure_days(days={batch.flushed_at.date(), *self._days(batch.items)})
        # The raw psycopg cursor (needed for COPY) raises psycopg errors: translate them to
        # django.db errors like every other query, and mark the connection as errored.
        try:
            with (
                connection.wrap_database_errors,
                transaction.atomic(),
                connection.cursor() as wrapper,
            ):
                cursor = wrapper.cursor  # the psycopg cursor: COPY needs it
                counts = _Counts()
                last = writer.RoundTrip()
                messages = self._write(cursor, last, batch.items, counts=counts)
                gaps = self._write_gap(last, batch.gap)
                writer.save_checkpoint(
                    last,
                    stream_id=self.stream_id,
                    lease_owner=self.lease_owner,
                    resource_version=rv,
                    checkpoint_at=batch.checkpoint_at,
                    events=batch.events,
                    events_per_second=batch.rate,
                    last_event_at=batch.newest,
                    flushed_at=batch.flushed_at,
                    bad_input=batch.bad,
                    relists=batch.relists,
                    relist_at=batch.relist_at,
                )
                last.run(cursor)
        except Exception:
            if not connection.in_atomic_block:
                # This thread's connection, if the write runs in a committer's thread.
                connection.close_if_unusable_or_obsolete()
            raise
        if rv is not None:
            self._checkpoint_rv = rv
            self._checkpoint_at = batch.checkpoint_at
        self._after_commit(batch.items)
        flushstats.observe_flush(
            cluster=self.cluster_name,
            resource=self.resource,
            seconds=time.monotonic() - started,
            events=batch.events,
        )
        published = 0
        if messages:
            publisher = self._publisher if self._publisher is not None else get_publisher()
            published = publisher.submit(messages)
        return FlushResult(
            events=batch.events,
            resource_version=self._checkpoint_rv,
            transitions=counts.transitions,
            pods=counts.pods,
            occurrences=counts.occurrences,
            endpoint_observations=counts.endpoint_observations,
            terminations=counts.terminations,
            startups=counts.startups,
            gaps=gaps,
            published=published,
            seconds=time.monotonic() - started,
        )

    # --- shared helpers ---------------------------------------------------------------------

    def _watches(self, namespace: str) -> bool:
        if self._include and namespace not in self._include:
            return False
        return namespace not in self._exclude

    def _bad_input(self, kind: str, *, rv: str = "", detail: str = "", log_it: bool = True) -> None:
        self._bad[kind] = self._bad.get(kind, 0) + 1
        if log_it:
            log.warning(
                "ingest: bad input (%s) cluster=%s resource=%s resourceVersion=%s %s",
                kind,
                self.cluster_name,
                self.resource,
                rv or "-",
                detail,
            )

    def _write_gap(self, trip: writer.RoundTrip, gap: tuple[datetime, datetime, str] | None) -> int:
        if gap is None:
            return 0
        started, ended, reason = gap
        trip.add(
            "INSERT INTO ingest_observationgap "
            "(cluster_id, resource, started_at, ended_at, reason, created_at) "
            "VALUES (%s, %s, %s, %s, %s, now())",
            [self.cluster_id, self.resource, started, ended, f"relist: {reason}"[:2000]],
        )
        return 1

    def _reset(self) -> None:
        """After a failed flush: forget everything not committed; the watch side replays."""
        self._handled = 0
        self._newest = None
        self._gap = None
        self._relist = None
        self._relist_end = None
        self._relists_done = 0
        self._relist_at = None
        self._next_rv = None
        self._drop_state()

    # --- per resource -----------------------------------------------------------------------

    def _accept(
        self, *, deleted: bool, obj: dict[str, Any], rv: str, received_at: datetime
    ) -> None:
        raise NotImplementedError

    def _on_relist_end(self, end: _RelistEnd) -> None:
        """Queue the reconciliation of a finished relist (runs in the next flush)."""

    def _days(self, items: list[Any]) -> Iterable[Any]:
        """Days the batch's rows fall on (their partitions must exist)."""
        return ()

    def _write(
        self, cursor: Any, last: writer.RoundTrip, items: list[Any], *, counts: _Counts
    ) -> list[dict[str, Any]]:
        """Write the batch's rows; what can wait for the flush's last round trip (records,
        before the checkpoint) goes on ``last``. Returns the messages to publish."""
        raise NotImplementedError

    def _write_records(
        self,
        cursor: Any,
        reads: writer.RoundTrip,
        last: writer.RoundTrip,
        counts: _Counts,
        *,
        dirty: Iterable[str],
        starting: Iterable[str] = (),
        known_dirty: Mapping[str, PodSnapshot] | None = None,
        known_starting: Mapping[str, PodSnapshot] | None = None,
        history: Mapping[str, Sequence[Transition]] | None = None,
    ) -> None:
        """Send ``reads`` (the batch's upserts) with the evidence reads of the termination
        (``dirty``) and startup (``starting``) records to recompute; queue those on ``last``."""
        terminations = TerminationRecompute(
            reads, cluster_id=self.cluster_id, pod_uids=dirty, known=known_dirty, history=history
        )
        startups = StartupRecompute(
            reads,
            cluster_id=self.cluster_id,
            pod_uids=starting,
            known=known_starting,
            history=history,
        )
        reads.run(cursor)
        now = datetime.now(UTC)
        counts.terminations = terminations.write(last, now=now)
        counts.startups = startups.write(last, now=now)

    def _close_items(self) -> list[Any]:
        """The items of the batch being taken (the processor starts a new one)."""
        items, self._items = self._items, []
        return items

    def _after_commit(self, items: list[Any]) -> None:
        """The written batch is committed: the cache may keep it."""

    def _drop_state(self) -> None:
        raise NotImplementedError


# --- pods --------------------------------------------------------------------------------


@dataclass(slots=True)
class _PodEntry:
    snapshot: PodSnapshot
    first_observed_at: datetime
    last_observed_at: datetime
    deleted: bool = False
    # Versions already processed, newest last (bounded by _RECENT_VERSIONS).
    versions: list[str] = field(default_factory=list)
    # Ready was observed once: the startup (and its record) is complete.
    started: bool = False

    def saw(self, resource_version: str) -> None:
        self.versions.append(resource_version)
        if len(self.versions) > _RECENT_VERSIONS:
            del self.versions[: len(self.versions) - _RECENT_VERSIONS]


@dataclass(frozen=True, slots=True)
class _PodItem:
    snapshot: PodSnapshot
    deleted: bool
    received_at: datetime


@dataclass(slots=True)
class _PodChange:
    entry: _PodEntry
    deleted_at: datetime | None = None
    deleted_not_before: datetime | None = None
    deletion_source: str = ""


@dataclass(slots=True)
class _PodBatch:
    """One batch of the pods stream, diffed as it is handled (see ``PodProcessor``).

    Built in the watch loop's thread; once taken, read only by its write.
    """

    lines: list[str] = field(default_factory=list)  # transitions, as COPY text
    times: writer.CopyTimes = field(default_factory=writer.CopyTimes)
    changes: dict[str, _PodChange] = field(default_factory=dict)
    rows: dict[str, writer.PodRow] = field(default_factory=dict)  # of changes, once built
    dirty: set[str] = field(default_factory=set)  # termination records to recompute
    starting: set[str] = field(default_factory=set)  # startup records to recompute
    # Pods first seen in this batch: their whole history is here, no need to read it back.
    fresh: dict[str, list[Transition]] = field(default_factory=dict)
    days: set[Any] = field(default_factory=set)
    # Waiting for the database: items of pods not in the diff base (and every item after
    # a relist's end, whose reconciliation must see the base as of that point), in order.
    waiting: list[_PodItem | _RelistEnd] = field(default_factory=list)
    waiting_uids: set[str] = field(default_factory=set)
    barrier: bool = False
    # Filled when taken: the snapshots the records are analysed from.
    known_dirty: dict[str, PodSnapshot] = field(default_factory=dict)
    known_starting: dict[str, PodSnapshot] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)


class PodProcessor(_BaseProcessor):
    """Pods: snapshot and diff at ``handle`` time, so a batch's write is only the database.

    The diff base (``_cache``) belongs to the watch loop's thread. A pod already in it is
    diffed, and its transitions formatted, as its event is handled: that work overlaps with
    the write of the previous batch instead of lengthening the serial write chain. A pod not
    in it waits (with every later item of that pod) until ``prepare``, which the watch loop
    calls before it waits for the previous write: it loads the waiting pods in one query,
    processes their items in stream order and builds each changed pod's row once per batch,
    from its last state. After a relist's end everything waits for ``take_batch``, which
    runs with no write in flight. The write itself copies, upserts and analyses what it was
    given and touches no processor state; pods recorded deleted leave the diff base only
    once that is committed.
    """

    resource = Resource.PODS.value

    def __init__(self, *, stream: WatchStream, publisher: PodPublisher | None = None) -> None:
        super().__init__(stream=stream, publisher=publisher)
        self._cache: dict[str, _PodEntry] = {}
        self._cluster_text = str(self.cluster_id)  # as COPY writes it, once, not per event
        self._batch = _PodBatch()
        # Reuses the unchanged parts of each pod's previous object (equal results, faster).
        self._parser = SnapshotCache(max_pods=200_000)
        self._documents = DocumentMemo()
        # Appended by the committer's thread (deque.append is atomic), drained by the loop's.
        self._committed_deletions: deque[list[str]] = deque()

    def _accept(
        self, *, deleted: bool, obj: dict[str, Any], rv: str, received_at: datetime
    ) -> None:
        snapshot = self._parser.snapshot(obj)
        if deleted:
            self._parser.forget(snapshot.uid)  # its document memo goes after the commit
        uid = snapshot.uid
        if not uid:
            self._bad_input("missing_uid", rv=rv, detail="; ".join(snapshot.problems[:3]))
            return
        if snapshot.problems:
            self._bad_input("malformed_fields", rv=rv, detail="; ".join(snapshot.problems[:3]))
        if self._relist is not None:
            self._relist.seen.add(uid)
        item = _PodItem(snapshot, deleted, received_at)
        batch = self._batch
        batch.days.add(received_at.date())
        if batch.barrier or uid in batch.waiting_uids or uid not in self._cache:
            batch.waiting.append(item)
            batch.waiting_uids.add(uid)
        else:
            self._apply(item, batch)

    def _on_relist_end(self, end: _RelistEnd) -> None:
        batch = self._batch
        batch.days.add(end.finished_at.date())
        batch.waiting.append(end)
        batch.barrier = True

    def _days(self, items: list[Any]) -> Iterable[Any]:
        return items[0].days if items else ()

    def _drop_state(self) -> None:
        self._cache.clear()
        self._batch = _PodBatch()
        self._parser.clear()
        self._documents.clear()
        self._committed_deletions.clear()

    def prepare(self) -> None:
        """Catch up on the waiting pods and build the rows of the pods changed so far.

        Runs while the previous write may still be in flight. That is safe for the waiting
        pods: a pod is in no write until it is in the diff base, so the database's row of a
        pod that is not there cannot be changing. A relist's reconciliation, which reads all
        live pods, waits for ``take_batch``.
        """
        batch = self._batch
        if batch.waiting and not batch.barrier:
            self._resolve(batch)
        self._build_rows(batch)

    def _resolve(self, batch: _PodBatch) -> None:
        """Load the waiting pods in one query, then process the waiting items in order."""
        waiting, batch.waiting = batch.waiting, []
        uids, batch.waiting_uids = batch.waiting_uids, set()
        batch.barrier = False
        with connection.cursor() as cursor:
            self._load(cursor, uids)
            for item in waiting:
                if isinstance(item, _RelistEnd):
                    self._reconcile(cursor, item, batch)
                else:
                    self._apply(item, batch)

    def _build_rows(self, batch: _PodBatch) -> None:
        rows = batch.rows
        for uid, change in batch.changes.items():
            if uid not in rows:
                rows[uid] = self._pod_row(change)

    def _close_items(self) -> list[Any]:
        """Process the waiting items and hand over the batch (the loop's thread, no write
        in flight: the database holds everything committed before)."""
        self._forget_committed_deletions()
        batch = self._batch
        self._batch = _PodBatch()
        if batch.waiting:
            self._resolve(batch)
        if not batch.changes:
            return []
        self._build_rows(batch)
        cache = self._cache
        batch.known_dirty = {uid: cache[uid].snapshot for uid in batch.dirty if uid in cache}
        batch.known_starting = {uid: cache[uid].snapshot for uid in batch.starting if uid in cache}
        batch.deleted = [uid for uid, c in batch.changes.items() if c.entry.deleted]
        return [batch]

    def _forget_committed_deletions(self) -> None:
        # Deleted pods never come back under the same uid; a stray replay reloads the row.
        deletions = self._committed_deletions
        while deletions:
            for uid in deletions.popleft():
                entry = self._cache.get(uid)
                if entry is not None and entry.deleted:
                    del self._cache[uid]
                    self._documents.forget(uid)
        if len(self._documents) > _DOCUMENT_MEMO_MAX:
            self._documents.clear()  # encoded again on demand: a bound, not a loss

    def _after_commit(self, items: list[Any]) -> None:
        if items and items[0].deleted:
            self._committed_deletions.append(items[0].deleted)

    def _load(self, cursor: Any, uids: Iterable[str]) -> None:
        wanted = [uid for uid in set(uids) if uid not in self._cache]
        if not wanted:
            return
        cursor.execute(
            "SELECT uid, snapshot::text, first_observed_at, last_observed_at, "
            "deleted_at IS NOT NULL, recent_resource_versions::text, "
            "EXISTS (SELECT FROM ingest_startuprecord s WHERE s.cluster_id = p.cluster_id "
            "AND s.pod_uid = p.uid AND s.analysis->'ready_observed'->>'at' IS NOT NULL) "
            "FROM ingest_pod p WHERE cluster_id = %s AND uid = ANY(%s)",
            [self.cluster_id, wanted],
        )
        for uid, document, first, last, deleted, versions, started in cursor.fetchall():
            snapshot = snapshot_from_document(orjson.loads(document))
            self._cache[uid] = _PodEntry(
                snapshot, first, last, deleted, orjson.loads(versions), started
            )

    def _apply(self, item: _PodItem, batch: _PodBatch) -> None:
        """Diff one handled object against the base and add what it changes to ``batch``."""
        snapshot = item.snapshot
        uid = snapshot.uid
        entry = self._cache.get(uid)
        if entry is not None and entry.deleted:
            return  # replay of a pod already recorded deleted
        before = entry.snapshot if entry is not None else None
        rv = snapshot.resource_version
        if entry is not None and rv and rv in entry.versions and not item.deleted:
            return  # this version was processed already (a replay)
        transitions = diff(before, snapshot, observed_at=item.received_at, deleted=item.deleted)
        if entry is None:
            entry = _PodEntry(snapshot, item.received_at, item.received_at)
            self._cache[uid] = entry
            batch.fresh[uid] = []
        else:
            entry.snapshot = snapshot
            entry.last_observed_at = item.received_at
        if rv:
            entry.saw(rv)
        change = batch.changes.get(uid)
        if change is None:
            change = batch.changes[uid] = _PodChange(entry)
        else:
            batch.rows.pop(uid, None)  # built from an earlier state
        if item.deleted:
            entry.deleted = True
            change.deleted_at = item.received_at
            change.deletion_source = Pod.DeletionSource.WATCH
        if not transitions:
            return
        _append_transitions(batch.lines, self._cluster_text, transitions, batch.times)
        fresh = batch.fresh.get(uid)
        if fresh is not None:
            fresh.extend(transitions)
        if not entry.started:
            # The startup ends with the first Ready: later flaps and restarts are not
            # part of it, and recomputing the record for them would only move its times.
            for t in transitions:
                if t.kind is TransitionKind.PHASE and t.new == "Running":
                    batch.starting.add(uid)
                elif t.kind is TransitionKind.POD_READY and t.new is True:
                    batch.starting.add(uid)
                    entry.started = True
        if (
            item.deleted
            or snapshot.deletion_timestamp is not None
            or snapshot.phase in _TERMINAL_PHASES
            or snapshot.reason
        ):
            batch.dirty.add(uid)

    def _write(
        self, cursor: Any, last: writer.RoundTrip, items: list[Any], *, counts: _Counts
    ) -> list[dict[str, Any]]:
        if not items:
            return []
        batch: _PodBatch = items[0]
        cluster_id = self.cluster_id
        writer.copy_transitions(cursor, batch.lines)
        counts.transitions = len(batch.lines)
        pod_rows = list(batch.rows.values())
        reads = writer.RoundTrip()
        writer.upsert_pods(cursor, reads, cluster_id=cluster_id, rows=pod_rows, times=batch.times)
        counts.pods = len(pod_rows)
        self._write_records(
            cursor,
            reads,
            last,
            counts,
            dirty=batch.dirty,
            starting=batch.starting,
            known_dirty=batch.known_dirty,
            known_starting=batch.known_starting,
            history=batch.fresh,
        )
        return [
            pod_message(
                cluster=self.cluster_name,
                uid=row.uid,
                namespace=row.namespace,
                name=row.name,
                status=row.status,
                ready=row.ready,
                restarts=row.restarts,
                deleted=row.deleted_at is not None,
            )
            for row in pod_rows
        ]

    def _reconcile(self, cursor: Any, end: _RelistEnd, batch: _PodBatch) -> None:
        cursor.execute(
            "SELECT uid FROM ingest_pod WHERE cluster_id = %s AND deleted_at IS NULL",
            [self.cluster_id],
        )
        alive = {uid for (uid,) in cursor.fetchall()}
        alive.update(uid for uid, entry in self._cache.items() if not entry.deleted)
        gone = sorted(alive - end.seen)
        self._load(cursor, gone)
        for uid in gone:
            entry = self._cache.get(uid)
            if entry is None or entry.deleted:
                continue
            not_before = entry.last_observed_at
            if end.complete_until is not None and end.complete_until > not_before:
                not_before = end.complete_until
            transitions = [
                replace(
                    t,
                    detail=freeze_detail(
                        {
                            **t.detail,
                            "observed_by": "relist",
                            "not_before": _iso(not_before),
                            "not_after": _iso(end.finished_at),
                        }
                    ),
                )
                for t in diff(entry.snapshot, None, observed_at=end.finished_at, deleted=True)
            ]
            entry.deleted = True
            change = batch.changes.get(uid)
            if change is None:
                change = batch.changes[uid] = _PodChange(entry)
            batch.rows.pop(uid, None)
            change.deleted_at = end.finished_at
            change.deleted_not_before = not_before
            change.deletion_source = Pod.DeletionSource.RELIST
            _append_transitions(batch.lines, self._cluster_text, transitions, batch.times)
            batch.dirty.add(uid)

    def _pod_row(self, change: _PodChange) -> writer.PodRow:
        entry = change.entry
        snapshot = entry.snapshot
        columns = kubectl_columns(snapshot, now=entry.last_observed_at)
        # Clamped to the column (int4): each count is an int32, their sum need not be.
        restarts = min(columns.restart_count, 2**31 - 1)
        # The "(5m ago)" part is rendered from this time; kubectl's rule picks the container.
        last_restart = columns.last_restart_at if restarts else None
        deleted_at = change.deleted_at
        if entry.deleted and deleted_at is None:
            deleted_at = entry.last_observed_at
        return writer.PodRow(
            uid=snapshot.uid,
            namespace=snapshot.namespace,
            name=snapshot.name,
            node_name=snapshot.node_name,
            owner_kind=snapshot.owner_kind,
            owner_name=snapshot.owner_name,
            phase=snapshot.phase,
            status=columns.status[:128],
            ready=columns.ready[:16],
            restarts=restarts,
            last_restart_at=last_restart,
            pod_ip=snapshot.pod_ip,
            labels=self._documents.labels(snapshot),
            qos_class=snapshot.qos_class,
            created_at=snapshot.creation_timestamp,
            deletion_requested_at=snapshot.deletion_requested_at,
            deleted_at=deleted_at,
            deleted_not_before=change.deleted_not_before,
            deletion_source=change.deletion_source,
            snapshot=self._documents.document(snapshot),
            resource_version=snapshot.resource_version,
            recent_resource_versions=orjson.dumps(entry.versions).decode(),
            first_observed_at=entry.first_observed_at,
            last_observed_at=entry.last_observed_at,
        )


def _append_transitions(
    lines: list[str],
    cluster: str,
    transitions: Sequence[Transition],
    times: writer.CopyTimes,
) -> None:
    """COPY text lines (``writer.TRANSITION_COLUMNS``) for ``transitions``.

    ``cluster`` is the cluster id as text. The key holds uid, subject and resourceVersion;
    old/new/detail are orjson text (NUL as ``\\u0000``, made storable by ``copy_json``).
    The kinds and time sources are StrEnums, written as the strings they are.
    """
    if not transitions:
        return
    dumps = orjson.dumps
    text = writer.copy_text
    json = writer.copy_json
    null = writer.NULL
    # One diff: one pod, one receive time.
    first = transitions[0]
    uid, observed, observed_text = first.pod_uid, first.observed_at, times(first.observed_at)
    uid_text = text(uid)
    for t in transitions:
        old, new, detail, api_time = t.old, t.new, t.detail, t.api_time
        at = t.at
        lines.append(
            "\t".join(
                (
                    observed_text if t.observed_at is observed else times(t.observed_at),
                    cluster,
                    uid_text if t.pod_uid is uid else text(t.pod_uid),
                    t.kind,
                    text(t.subject) if t.subject else "",
                    null if old is None else json(dumps(old).decode()),
                    null if new is None else json(dumps(new).decode()),
                    observed_text if at is observed else times(at),
                    null if api_time is None else times(api_time),
                    t.time_source,
                    text(t.key),
                    json(dumps(detail, default=dict).decode()) if detail else "{}",
                )
            )
            + "\n"
        )


# --- events ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _EventItem:
    event: PodEvent
    received_at: datetime


@dataclass(slots=True)
class _EventEntry:
    event: PodEvent
    first_received_at: datetime
    last_received_at: datetime


class EventProcessor(_BaseProcessor):
    resource = Resource.EVENTS.value

    def __init__(self, *, stream: WatchStream, publisher: PodPublisher | None = None) -> None:
        super().__init__(stream=stream, publisher=publisher)
        self._cache: dict[str, _EventEntry] = {}
        self._items: list[_EventItem] = []

    def _accept(
        self, *, deleted: bool, obj: dict[str, Any], rv: str, received_at: datetime
    ) -> None:
        event = event_from_raw(obj)
        if event.involved_kind and event.involved_kind != "Pod":
            return  # not about a pod (the watch should select involvedObject.kind=Pod)
        if not event.key_base.strip("/"):
            self._bad_input("missing_uid", rv=rv, detail="; ".join(event.problems[:3]))
            return
        if not event.involved_uid:
            self._bad_input("missing_involved_uid", rv=rv)
            return
        if event.problems and any("missing" not in p for p in event.problems):
            self._bad_input("malformed_fields", rv=rv, detail="; ".join(event.problems[:3]))
        # DELETED is the TTL expiry: the object's last version, processed like an update.
        self._items.append(_EventItem(event, received_at))

    def _days(self, items: list[Any]) -> Iterable[Any]:
        return {item.received_at.date() for item in items}

    def _drop_state(self) -> None:
        self._cache.clear()
        self._items.clear()

    def _after_commit(self, items: list[Any]) -> None:
        if len(self._cache) > _EVENT_CACHE_MAX:
            oldest = sorted(self._cache.items(), key=lambda kv: kv[1].last_received_at)
            for key, _ in oldest[: len(oldest) // 2]:
                del self._cache[key]

    def _load(self, cursor: Any, keys: Iterable[str]) -> None:
        wanted = [key for key in set(keys) if key not in self._cache]
        if not wanted:
            return
        cursor.execute(
            f"SELECT event_uid, {EVENT_COLUMNS_SQL}, first_received_at, last_received_at "
            "FROM ingest_podevent WHERE cluster_id = %s AND event_uid = ANY(%s)",
            [self.cluster_id, wanted],
        )
        width = len(EVENT_FIELDS)
        for row in cursor.fetchall():
            event = event_from_row(row[0], row[1 : 1 + width])
            self._cache[row[0]] = _EventEntry(event, row[1 + width], row[2 + width])

    def _write(
        self, cursor: Any, last: writer.RoundTrip, items: list[Any], *, counts: _Counts
    ) -> list[dict[str, Any]]:
        self._load(cursor, (item.event.key_base for item in items))
        latest: dict[str, _EventEntry] = {}
        rows: list[tuple[Any, ...]] = []
        dirty: set[str] = set()
        starting: set[str] = set()
        cluster_id = self.cluster_id
        for item in items:
            event = item.event
            key = event.key_base
            entry = self._cache.get(key)
            previous = entry.event if entry is not None else None
            occurrences = occurrences_between(previous, event)
            if previous is None or event.total_count >= previous.total_count:
                if entry is None:
                    entry = self._cache[key] = _EventEntry(
                        event, item.received_at, item.received_at
                    )
                else:
                    entry.event = event
                    entry.last_received_at = item.received_at
                latest[key] = entry
            for o in occurrences:
                rows.append(
                    (
                        item.received_at,
                        cluster_id,
                        event.involved_uid,
                        key,
                        o.ordinal,
                        o.key,
                        o.type[:16],
                        o.reason[:128],
                        o.container_name[:253],
                        o.message,
                        o.at,
                        o.earliest,
                        o.latest,
                        o.sort_time or item.received_at,
                        o.time_source,
                    )
                )
            if occurrences and event.reason in _TERMINATION_REASONS:
                dirty.add(event.involved_uid)
            if occurrences and event.reason in _STARTUP_REASONS:
                starting.add(event.involved_uid)
        writer.copy_occurrences(cursor, rows)
        counts.occurrences = len(rows)
        reads = writer.RoundTrip()
        writer.upsert_events(
            reads,
            cluster_id=cluster_id,
            rows=[_event_row(key, entry) for key, entry in latest.items()],
        )
        self._write_records(cursor, reads, last, counts, dirty=dirty, starting=starting)
        return []


def _event_row(key: str, entry: _EventEntry) -> tuple[Any, ...]:
    event = entry.event
    values = [getattr(event, name) for name in EVENT_FIELDS]
    return (key, *values, entry.first_received_at, entry.last_received_at)


# --- endpointslices ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SliceItem:
    key: tuple[str, str]
    compact: dict[str, Any]
    deleted: bool
    resource_version: str
    received_at: datetime


def _compact_slice(obj: dict[str, Any]) -> dict[str, Any]:
    """The part of a slice ``diff_endpoint_slices`` reads (it re-validates everything)."""
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    service = labels.get(SERVICE_NAME_LABEL) if isinstance(labels, dict) else None
    endpoints = obj.get("endpoints")
    compact_endpoints: Any = endpoints
    if isinstance(endpoints, list):
        compact_endpoints = [
            {"targetRef": e.get("targetRef"), "conditions": e.get("conditions")}
            if isinstance(e, dict)
            else e
            for e in endpoints
        ]
    return {
        "metadata": {
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "labels": {SERVICE_NAME_LABEL: service} if isinstance(service, str) else {},
        },
        "endpoints": compact_endpoints,
    }


class SliceProcessor(_BaseProcessor):
    resource = Resource.ENDPOINTSLICES.value

    def __init__(self, *, stream: WatchStream, publisher: PodPublisher | None = None) -> None:
        super().__init__(stream=stream, publisher=publisher)
        # (namespace, name) -> last compact version; None = known not to exist.
        self._cache: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._items: list[_SliceItem | _RelistEnd] = []

    def _accept(
        self, *, deleted: bool, obj: dict[str, Any], rv: str, received_at: datetime
    ) -> None:
        meta = obj["metadata"]
        name, namespace = meta.get("name"), meta.get("namespace")
        if not isinstance(name, str) or not name or not isinstance(namespace, str):
            self._bad_input("missing_name", rv=rv)
            return
        key = (namespace, name)
        if self._relist is not None:
            self._relist.seen.add(key)
        self._items.append(_SliceItem(key, _compact_slice(obj), deleted, rv, received_at))

    def _on_relist_end(self, end: _RelistEnd) -> None:
        self._items.append(end)

    def _drop_state(self) -> None:
        self._cache.clear()
        self._items.clear()

    def _load(self, cursor: Any, keys: Iterable[tuple[str, str]]) -> None:
        wanted = [key for key in set(keys) if key not in self._cache]
        if not wanted:
            return
        for key in wanted:
            self._cache[key] = None
        cursor.execute(
            "SELECT namespace, name, compact::text FROM ingest_endpointslicestate "
            "WHERE cluster_id = %s AND (namespace, name) IN "
            "(SELECT * FROM unnest(%s::text[], %s::text[]))",
            [self.cluster_id, [k[0] for k in wanted], [k[1] for k in wanted]],
        )
        for namespace, name, compact in cursor.fetchall():
            self._cache[(namespace, name)] = orjson.loads(compact)

    def _write(
        self, cursor: Any, last: writer.RoundTrip, items: list[Any], *, counts: _Counts
    ) -> list[dict[str, Any]]:
        self._load(cursor, (i.key for i in items if isinstance(i, _SliceItem)))
        observations: list[tuple[EndpointObservation, bool]] = []
        upserts: dict[tuple[str, str], tuple[Any, ...]] = {}
        deletes: set[tuple[str, str]] = set()
        for item in items:
            if isinstance(item, _RelistEnd):
                self._reconcile(cursor, item, observations, upserts, deletes)
                continue
            before = self._cache.get(item.key)
            if item.deleted:
                # DELETED carries the last state: everything in it (or in ours) is gone.
                found = diff_endpoint_slices(
                    before if before is not None else item.compact,
                    None,
                    observed_at=item.received_at,
                    deleted=True,
                )
                self._cache[item.key] = None
                upserts.pop(item.key, None)
                deletes.add(item.key)
            else:
                if before == item.compact:
                    continue
                found = diff_endpoint_slices(before, item.compact, observed_at=item.received_at)
                self._cache[item.key] = item.compact
                deletes.discard(item.key)
                upserts[item.key] = (
                    item.key[0],
                    item.key[1],
                    item.resource_version,
                    orjson.dumps(item.compact).decode(),
                    item.received_at,
                )
            observations.extend((o, False) for o in found)
        rows = [
            (
                self.cluster_id,
                o.pod_uid,
                o.namespace,
                o.slice_name,
                o.service_name,
                o.observed_at,
                o.ready,
                o.serving,
                o.terminating,
                o.removed,
                by_relist,
            )
            for o, by_relist in observations
        ]
        writer.copy_endpoint_observations(cursor, rows)
        counts.endpoint_observations = len(rows)
        reads = writer.RoundTrip()
        writer.delete_slices(reads, cluster_id=self.cluster_id, keys=sorted(deletes))
        writer.upsert_slices(reads, cluster_id=self.cluster_id, rows=list(upserts.values()))
        self._write_records(
            cursor,
            reads,
            last,
            counts,
            dirty={o.pod_uid for o, _ in observations if o.withdrawn or o.terminating},
        )
        return []

    def _reconcile(
        self,
        cursor: Any,
        end: _RelistEnd,
        observations: list[tuple[EndpointObservation, bool]],
        upserts: dict[tuple[str, str], tuple[Any, ...]],
        deletes: set[tuple[str, str]],
    ) -> None:
        cursor.execute(
            "SELECT namespace, name FROM ingest_endpointslicestate WHERE cluster_id = %s",
            [self.cluster_id],
        )
        known = {(ns, name) for ns, name in cursor.fetchall()}
        known.update(key for key, value in self._cache.items() if value is not None)
        gone = sorted(known - end.seen)
        self._load(cursor, gone)
        for key in gone:
            before = self._cache.get(key)
            if before is None:
                continue
            found = diff_endpoint_slices(before, None, observed_at=end.finished_at, deleted=True)
            observations.extend((o, True) for o in found)
            self._cache[key] = None
            upserts.pop(key, None)
            deletes.add(key)


_PROCESSORS: dict[str, type[_BaseProcessor]] = {
    Resource.PODS.value: PodProcessor,
    Resource.EVENTS.value: EventProcessor,
    Resource.ENDPOINTSLICES.value: SliceProcessor,
}


def processor_for(*, stream: WatchStream, publisher: PodPublisher | None = None) -> StreamProcessor:
    """The processor for one stream; its diff base is loaded from the database on demand.

    ``publisher`` defaults to the process-wide one (``publish.get_publisher``). The process's
    garbage collector is tuned for ingest on the first call (``gctuning``).
    """
    tune_gc_for_ingest()
    try:
        kind = _PROCESSORS[stream.resource]
    except KeyError:
        raise ValueError(f"no processor for resource {stream.resource!r}") from None
    processor: StreamProcessor = kind(stream=stream, publisher=publisher)
    return processor
