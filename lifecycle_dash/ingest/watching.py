"""The watch loop: three stacked layers, as in kopf, feeding one stream processor.

Layer 1, ``run_stream``: the reconnect loop. Runs until the slice's deadline or a stop
request; any ``Transient`` failure (connection refused or reset, a read timeout, a 5xx, an
ERROR event other than 410) is recorded as the stream's last error and retried after an
exponential back-off with jitter. A database failure during a flush reloads the processor and
the committed checkpoint (nothing is acknowledged that was not committed). 401/403 and an
unusable configuration end the stream: retrying would only hammer the API server.

Layer 2, ``ListWatch``: list-then-watch. Without a checkpoint, or after a 410, LIST in pages
(``limit``/``continue``) between ``begin_relist`` and ``end_relist`` (the processor reconciles
what disappeared in the gap), then watch from the list's resourceVersion. Every watch starts
from the last resourceVersion handed to the processor, so a dropped connection resumes without
gaps; replays of already committed events are the processor's to make idempotent.

Layer 3, ``watch_lines``: one HTTP watch request with ``allowWatchBookmarks``, a server-side
``timeoutSeconds`` (the server ends the stream cleanly) and a client-side read timeout (a
stalled server or a half-open TCP connection raises instead of hanging forever). A reader
thread pulls HTTP chunks into a small bounded queue; the consumer splits them into lines. The
thread is what lets the consumer wake up every ``tick`` with no data -- to flush a partial
batch after 100 ms, renew the lease, notice a stop request -- without ever putting a timeout on
the socket itself (a socket read that times out cannot be resumed).

Hot path: one ``orjson.loads`` per line, a few dict lookups, ``processor.handle``. No client
model objects, one clock read per chunk (every line of a chunk arrived at the same instant).

Batches: flushed at ``flush_events`` handled events, when the committer is free and the
oldest unflushed event is ``flush_linger`` old, and on every BOOKMARK (whose resourceVersion
becomes the checkpoint even when nothing is pending, keeping quiet streams inside the history
window). A flush hands the batch to the stream's ``Committer``, whose thread writes it while
the loop reads on; the next flush first takes that write's outcome, so at most one batch is in
flight, checkpoints commit in order, and a failed write is acted on before anything after it
is written. While a write runs, the next batch keeps growing instead of queueing (group
commit), up to ``flush_events``: batch size follows the write's speed, so a quiet stream
commits each change within milliseconds and a busy one in large, efficient transactions.
``flush_linger`` only caps the rate of tiny transactions (each has a fixed cost of about a
millisecond in the worker and two in PostgreSQL).

Namespace filtering: an include list of exactly one namespace watches that namespace's
endpoint (works with namespace-scoped RBAC); otherwise the cluster-wide endpoint is watched and
both lists are applied client-side. One request per included namespace would need one
checkpoint per namespace, and a stream has one.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NoReturn, Protocol

import orjson
import urllib3
from django.db import Error as DatabaseError

from lifecycle_dash.ingest import kube
from lifecycle_dash.ingest.committer import Committer
from lifecycle_dash.ingest.writer import LeaseLostError

log = logging.getLogger(__name__)

_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError


class StreamProcessor(Protocol):
    """What the storage side does with events (see ``lifecycle_dash.ingest.processors``)."""

    def handle(
        self, *, event_type: str, obj: dict[str, Any], raw_size: int, received_at: datetime
    ) -> None: ...

    def bad_line(self, *, error: str, raw_prefix: bytes, received_at: datetime) -> None: ...

    def begin_relist(self, *, started_at: datetime, reason: str) -> None: ...

    def end_relist(self, *, list_resource_version: str, finished_at: datetime) -> None: ...

    def pending(self) -> int: ...

    def prepare(self) -> None:
        """Work on the batch so far that may run beside the write in flight (called before
        waiting for it, so that the two overlap; it reads no row that write touches)."""
        ...

    def take_batch(
        self, *, resource_version: str | None, complete_at: datetime | None = None
    ) -> Callable[[], Any]:
        """Close the batch handled so far (with no write in flight); return the write that
        commits it with the checkpoint (run by a ``Committer``, one at a time, in order)."""
        ...

    def discard_uncommitted(self) -> None:
        """A write failed: drop every state the database does not have."""
        ...


class LeaseLost(Exception):
    """Another worker holds the stream now: stop at once, write nothing more."""


class StreamContext(Protocol):
    """The service side of one running slice: storage, the lease, the stream's record."""

    def load(self) -> tuple[StreamProcessor, str | None]:
        """A fresh processor seeded from the database and the committed checkpoint RV."""
        ...

    def heartbeat(self, stats: WatchStats) -> None:
        """Renew the lease and record progress; raises ``LeaseLost``."""
        ...

    def record_error(self, message: str) -> None: ...


class Outcome(StrEnum):
    DEADLINE = "deadline"  # the slice ran its course: enqueue the successor
    STOPPED = "stopped"  # the worker is shutting down: flush, hand over
    LEASE_LOST = "lease_lost"  # someone else owns the stream: write nothing
    UNAUTHORIZED = "unauthorized"  # 401: stop until the cluster is edited
    FORBIDDEN = "forbidden"  # 403: same
    MISCONFIGURED = "misconfigured"  # kubeconfig unusable: same


@dataclass(slots=True)
class WatchSettings:
    slice_seconds: float = 300.0
    server_timeout: int = 240
    # Real API servers send a bookmark about every minute; silence well beyond that means a
    # stalled server or a half-open connection.
    read_timeout: float = 90.0
    connect_timeout: float = 10.0
    list_page_size: int = 500
    flush_events: int = 1000
    # How often the loop wakes when nothing arrives and nothing is pending (lease, stop
    # requests); with a batch pending it wakes in time for flush_linger or a freed committer.
    flush_interval: float = 0.1
    flush_linger: float = 0.02
    heartbeat_interval: float = 5.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0


@dataclass(slots=True)
class WatchStats:
    """Counters of one slice, reported on every heartbeat."""

    events: int = 0
    bad_lines: int = 0
    relists: int = 0
    reconnects: int = 0
    timeouts: int = 0  # client-side read timeouts (stalls, half-open connections, silence)
    flushes: int = 0
    last_event_at: datetime | None = None  # receive time of the newest event
    resource_version: str | None = None  # last committed checkpoint
    last_error: str = ""
    outcome_message: str = ""
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class StopSignal:
    """A stop request, settable from a signal handler; aborts the open HTTP stream at once."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._response: urllib3.BaseHTTPResponse | None = None
        self.reason = ""

    def set(self, reason: str = "stop requested") -> None:
        if not self._event.is_set():
            self.reason = reason
        self._event.set()
        response = self._response
        if response is not None:
            kube.abort_response(response)

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        return self._event.wait(seconds)

    def attach(self, response: urllib3.BaseHTTPResponse | None) -> None:
        self._response = response
        if response is not None and self._event.is_set():
            kube.abort_response(response)


class Stop(Exception):
    """Internal: unwind layers 2 and 3 because of a stop request or the deadline."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.value)
        self.outcome = outcome


class StorageTrouble(Exception):
    """A flush failed in the database: nothing after the committed checkpoint counts."""


class NamespaceFilter:
    """Which namespaces a stream keeps, and the one namespace to request, if any."""

    __slots__ = ("exclude", "include", "request_namespace")

    def __init__(self, include: list[str] | None = None, exclude: list[str] | None = None) -> None:
        self.include = frozenset(include or ())
        self.exclude = frozenset(exclude or ()) - self.include
        self.request_namespace = next(iter(self.include)) if len(self.include) == 1 else None

    @property
    def filters(self) -> bool:
        return bool(self.exclude) or len(self.include) > 1

    def keeps(self, namespace: str | None) -> bool:
        if self.include and namespace not in self.include:
            return False
        return namespace not in self.exclude


# ---- layer 3: one HTTP stream ----------------------------------------------------------------

_END = object()
_READ_SIZE = 256 * 1024


def _read_chunks(
    response: urllib3.BaseHTTPResponse, out: queue.Queue[Any], closed: threading.Event
) -> None:
    """Reader thread: ``(chunk, received_at)`` into ``out``, then ``_END`` or the exception.

    The receive time is taken here, as the bytes arrive: the consumer may be busy flushing
    for a while, and an event stamped when it got round to it would claim the stream was
    complete later than it was (the start of an observation gap, the checkpoint's time).
    """
    item: Any = _END
    try:
        chunks = (
            # Bounded pieces: a server may send a huge backlog as one chunk, and parsing must
            # overlap with receiving rather than wait for hundreds of megabytes.
            response.read_chunked(_READ_SIZE, decode_content=True)
            if getattr(response, "chunked", False)
            else iter(lambda: response.read1(_READ_SIZE), b"")
        )
        for chunk in chunks:
            received = (chunk, datetime.now(UTC))
            while True:
                try:
                    out.put(received, timeout=0.2)
                    break
                except queue.Full:
                    if closed.is_set():
                        return
            if closed.is_set():
                return
    except BaseException as exc:  # delivered to the consumer, which decides
        item = exc
    while not closed.is_set():
        try:
            out.put(item, timeout=0.2)
            return
        except queue.Full:
            continue


def _transient_from(exc: BaseException, read_timeout: float) -> kube.Transient:
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError) or "timed out" in str(exc):
        return kube.Silent(
            f"no data from the watch for {read_timeout:g} s (stalled server or half-open "
            "connection)"
        )
    return kube.Transient(f"watch connection lost: {type(exc).__name__}: {exc}")


def watch_lines(
    api: kube.KubeApi,
    resource: kube.Resource,
    *,
    namespace: str | None,
    resource_version: str,
    server_timeout: int,
    read_timeout: float,
    tick: Callable[[], float],
    stop: StopSignal,
) -> Generator[tuple[list[bytes], datetime] | None, None, None]:
    """Complete lines of one watch and when the chunk that completed them arrived, one list
    per chunk; ``None`` after ``tick()`` s of silence (asked before every wait).

    Ends when the server ends the stream. Raises ``kube.Transient`` on connection trouble or
    a read timeout, ``kube.Gone``/``Unauthorized``/``Forbidden`` on those HTTP codes.
    """
    response = api.open_watch(
        resource,
        namespace=namespace,
        resource_version=resource_version,
        server_timeout=server_timeout,
        read_timeout=read_timeout,
    )
    chunks: queue.Queue[Any] = queue.Queue(maxsize=64)
    closed = threading.Event()
    reader = threading.Thread(
        target=_read_chunks, args=(response, chunks, closed), name="watch-reader", daemon=True
    )
    stop.attach(response)
    reader.start()
    partial = b""
    get = chunks.get
    ended = False
    try:
        while True:
            try:
                chunk = get(timeout=tick())
            except queue.Empty:
                yield None
                continue
            if chunk is _END:
                ended = True
                return
            if isinstance(chunk, BaseException):
                if stop.is_set():
                    return
                raise _transient_from(chunk, read_timeout) from chunk
            data, received_at = chunk
            if partial:
                data = partial + data
            lines = data.split(b"\n")
            partial = lines.pop()
            yield lines, received_at
    finally:
        closed.set()
        stop.attach(None)
        if not ended:
            # Unblock the reader; a cleanly ended response may already be back in the pool,
            # where its socket is someone else's.
            kube.abort_response(response)
        with contextlib.suppress(Exception):
            response.close()
        reader.join(timeout=2.0)


# ---- layer 2: list, then watch; 410 means relist ---------------------------------------------


class ListWatch:
    """Keeps one stream's processor in step with the API server from ``resource_version``."""

    def __init__(
        self,
        *,
        api: kube.KubeApi,
        resource: kube.Resource,
        namespaces: NamespaceFilter,
        processor: StreamProcessor,
        resource_version: str | None,
        context: StreamContext,
        settings: WatchSettings,
        stats: WatchStats,
        stop: StopSignal,
        deadline: float,
        committer: Committer,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.resource = resource
        self.namespaces = namespaces
        self.processor = processor
        self.context = context
        self.settings = settings
        self.stats = stats
        self.stop = stop
        self.deadline = deadline
        self.clock = clock
        self.committer = committer
        # The checkpoint the write in flight commits, if it carries one.
        self.in_flight_rv: str | None = None
        # The newest RV whose event (and all before it) was handed to the processor.
        self.resource_version = resource_version
        self.committed = resource_version
        self.unflushed = 0
        self.first_unflushed_at = 0.0
        self.next_heartbeat = clock() + settings.heartbeat_interval
        self.received_data = False

    # ---- housekeeping between chunks ---------------------------------------------------------

    def check(self) -> None:
        """Stop requests, the deadline, the lease; called at least every ``tick``."""
        now = self.clock()
        if self.stop.is_set():
            raise Stop(Outcome.STOPPED)
        if now >= self.deadline:
            raise Stop(Outcome.DEADLINE)
        if now >= self.next_heartbeat:
            self.next_heartbeat = now + self.settings.heartbeat_interval
            self.context.heartbeat(self.stats)

    def flush(self, resource_version: str | None, *, complete_at: datetime | None = None) -> None:
        """Hand the batch to the committer (after the previous one's outcome is in)."""
        # Overlaps with the write still in flight.
        try:
            self.processor.prepare()
        except BaseException as exc:
            if self.committer.in_flight:
                # Its outcome does not matter: the stream reloads from the database.
                with contextlib.suppress(BaseException):
                    self.committer.result()
            self._failed(exc)
        self.settle()
        try:
            write = self.processor.take_batch(
                resource_version=resource_version, complete_at=complete_at
            )
        except BaseException as exc:
            self._failed(exc)  # closing a batch may read the database
        self.unflushed = 0
        self.in_flight_rv = resource_version
        self.committer.submit(write)

    def settle(self) -> None:
        """Wait for the write in flight and account for it: its checkpoint, or its failure."""
        if not self.committer.in_flight:
            return
        try:
            self.committer.result()
        except BaseException as exc:
            self._failed(exc)
        self.stats.flushes += 1
        rv = self.in_flight_rv
        if rv is not None:
            self.committed = rv
            self.stats.resource_version = rv

    def _failed(self, exc: BaseException) -> NoReturn:
        # Nothing after the last committed checkpoint counts; the processor's diff base may
        # hold what the failed transaction did not commit.
        self.processor.discard_uncommitted()
        self.unflushed = 0
        if isinstance(exc, LeaseLostError):
            # The write checks the lease in its own transaction and rolled back.
            raise LeaseLost(str(exc)) from exc
        if isinstance(exc, DatabaseError):
            raise StorageTrouble(f"{type(exc).__name__}: {exc}".strip()) from exc
        raise exc

    def tick(self) -> float:
        """How long the loop may wait for data before ``flush_if_due`` must run again."""
        if not self.unflushed:
            return self.settings.flush_interval
        linger = self.settings.flush_linger
        if self.committer.busy():
            # Poll for the write's end: the waiting batch goes as soon as the committer is free.
            return max(linger / 4, 0.001)
        return min(max(self.first_unflushed_at + linger - self.clock(), 0.001), linger)

    def flush_if_due(self) -> None:
        if self.committer.in_flight and not self.committer.busy():
            self.settle()  # a failure surfaces now, not at the next flush
        if not self.unflushed:
            return
        # Group commit: while the previous batch is still being written, this one keeps
        # growing (up to flush_events) instead of queueing behind it.
        full = self.unflushed >= self.settings.flush_events
        due = self.clock() - self.first_unflushed_at >= self.settings.flush_linger
        if full or (due and not self.committer.busy()):
            self.flush(self.resource_version)

    def final_flush(self) -> None:
        """Everything handled is committed when this returns."""
        self.settle()
        if self.unflushed or self.resource_version != self.committed:
            self.flush(self.resource_version)
            self.settle()

    # ---- the loop ----------------------------------------------------------------------------

    def run(self) -> None:
        """List if needed, then watch and re-watch until a Stop, a failure or ``Gone``.

        However it ends, the write in flight is settled first: the caller's next step (a
        final flush, a reconnect, a reload) must know what was committed.
        """
        try:
            self._run()
        except BaseException:
            self.settle()  # its failure, if any, replaces the cause: it is the one to act on
            raise

    def _run(self) -> None:
        while True:
            if self.resource_version is None:
                self.relist("no checkpoint")
            try:
                self.watch_once()
            except kube.Gone as exc:
                self.final_flush()
                log.info("%s: %s; relisting", self.resource.name, exc.message)
                self.resource_version = None
                self.relist(f"410: {exc.message}")

    def relist(self, reason: str) -> None:
        processor = self.processor
        settings = self.settings
        namespace = self.namespaces.request_namespace
        filtering = self.namespaces.filters
        keeps = self.namespaces.keeps
        self.stats.relists += 1
        processor.begin_relist(started_at=datetime.now(UTC), reason=reason)
        continue_token: str | None = None
        while True:
            self.check()
            try:
                body = self.api.list_page(
                    self.resource,
                    namespace=namespace,
                    limit=settings.list_page_size,
                    continue_token=continue_token,
                    read_timeout=max(settings.read_timeout, 30.0),
                )
            except kube.Gone as exc:
                # The continue token expired between pages: start over from a fresh snapshot.
                log.info("%s: list continue expired (%s); restarting", self.resource.name, exc)
                continue_token = None
                processor.begin_relist(started_at=datetime.now(UTC), reason=f"410: {exc}")
                continue
            page = _loads(body)
            received_at = datetime.now(UTC)
            items = page.get("items") or ()
            size = len(body) // len(items) if items else 0
            for item in items:
                if filtering and not keeps(item["metadata"].get("namespace")):
                    continue
                processor.handle(
                    event_type="ADDED", obj=item, raw_size=size, received_at=received_at
                )
            self.stats.events += len(items)
            if items:
                self.stats.last_event_at = received_at
            metadata = page.get("metadata") or {}
            list_rv = str(metadata.get("resourceVersion") or "")
            # During a relist the checkpoint must not move: the gap is not reconciled yet.
            if processor.pending() >= settings.flush_events:
                self.flush(None)
            continue_token = metadata.get("continue") or None
            if not continue_token:
                break
        # The relist's gap starts at the committed checkpoint's time: the write in flight
        # may move it.
        self.settle()
        processor.end_relist(list_resource_version=list_rv, finished_at=datetime.now(UTC))
        self.resource_version = list_rv
        self.flush(list_rv)

    def watch_once(self) -> None:
        """One watch request from ``resource_version``, dispatched to the processor."""
        processor = self.processor
        handle = processor.handle
        stats = self.stats
        flush_events = self.settings.flush_events
        filtering = self.namespaces.filters
        keeps = self.namespaces.keeps
        self.check()
        remaining = self.deadline - self.clock()
        assert self.resource_version is not None
        lines_of = watch_lines(
            self.api,
            self.resource,
            namespace=self.namespaces.request_namespace,
            resource_version=self.resource_version,
            server_timeout=int(min(self.settings.server_timeout, remaining + 1)),
            read_timeout=self.settings.read_timeout,
            tick=self.tick,
            stop=self.stop,
        )
        try:
            for chunk in lines_of:
                if chunk is not None and chunk[0]:
                    lines, received_at = chunk
                    handled = 0
                    rv = self.resource_version
                    for line in lines:
                        try:
                            event = _loads(line)
                            event_type = event["type"]
                            obj = event["object"]
                            if event_type == "ERROR":
                                self._error_event(obj)
                            metadata = obj["metadata"]
                            rv = metadata["resourceVersion"]
                            if event_type == "BOOKMARK":
                                self.resource_version = rv
                                # Complete up to rv when it arrived, not when the flush ran:
                                # the checkpoint's time starts the next observation gap.
                                self.flush(rv, complete_at=received_at)
                                continue
                        except (_JSONDecodeError, KeyError, TypeError) as exc:
                            if not line.strip():
                                continue
                            stats.bad_lines += 1
                            processor.bad_line(
                                error=f"{type(exc).__name__}: {exc}",
                                raw_prefix=line[:200],
                                received_at=received_at,
                            )
                            continue
                        if filtering and not keeps(metadata.get("namespace")):
                            self.resource_version = rv
                            continue
                        handle(
                            event_type=event_type,
                            obj=obj,
                            raw_size=len(line),
                            received_at=received_at,
                        )
                        self.resource_version = rv
                        if not self.unflushed:
                            self.first_unflushed_at = self.clock()
                        self.unflushed += 1
                        handled += 1
                        if self.unflushed >= flush_events:
                            self.flush(rv)
                    if handled:
                        stats.events += handled
                        stats.last_event_at = received_at
                    self.received_data = True
                self.flush_if_due()
                self.check()
        finally:
            lines_of.close()

    def _error_event(self, status: dict[str, Any]) -> None:
        code = status.get("code")
        message = str(status.get("message") or status.get("reason") or status)
        if code == 410:
            raise kube.Gone(message)
        if code == 401:
            raise kube.Unauthorized(message)
        if code == 403:
            raise kube.Forbidden(message)
        raise kube.Transient(f"ERROR event {code}: {message}", status=int(code or 0))


# ---- layer 1: reconnect, back off, recover -------------------------------------------------


@dataclass(slots=True)
class StreamResult:
    outcome: Outcome
    message: str
    stats: WatchStats


def _backoff(attempt: int, settings: WatchSettings) -> float:
    """Exponential, capped, with jitter so that many streams do not reconnect in step."""
    base = min(settings.backoff_max, settings.backoff_initial * (2 ** min(attempt, 16)))
    return random.uniform(base / 2, base)


def run_stream(
    *,
    api: kube.KubeApi,
    resource: kube.Resource,
    namespaces: NamespaceFilter,
    context: StreamContext,
    settings: WatchSettings,
    stop: StopSignal,
    clock: Callable[[], float] = time.monotonic,
) -> StreamResult:
    """Run one slice of a stream until its deadline, a stop request or a fatal answer.

    On DEADLINE and STOPPED everything handled has been flushed and the checkpoint committed
    when this returns; on LEASE_LOST nothing more was written.
    """
    committer = Committer(f"commit-{resource.name}")
    try:
        stats = WatchStats()
        deadline = clock() + settings.slice_seconds
        attempt = 0
        processor, checkpoint = context.load()
        stats.resource_version = checkpoint
        while True:
            layer = ListWatch(
                api=api,
                resource=resource,
                namespaces=namespaces,
                processor=processor,
                resource_version=checkpoint,
                context=context,
                settings=settings,
                stats=stats,
                stop=stop,
                deadline=deadline,
                committer=committer,
                clock=clock,
            )
            failure: str
            reload = False
            try:
                layer.run()
            except Stop as exc:
                try:
                    layer.final_flush()
                except StorageTrouble as trouble:
                    # Nothing lost: the next slice resumes from the last committed checkpoint.
                    stats.last_error = f"final flush failed: {trouble}"
                    context.record_error(stats.last_error)
                return StreamResult(exc.outcome, stop.reason if stop.is_set() else "", stats)
            except LeaseLost as exc:
                return StreamResult(Outcome.LEASE_LOST, str(exc), stats)
            except kube.Unauthorized as exc:
                return StreamResult(Outcome.UNAUTHORIZED, exc.message, stats)
            except kube.Forbidden as exc:
                return StreamResult(Outcome.FORBIDDEN, exc.message, stats)
            except kube.BadConfiguration as exc:
                return StreamResult(Outcome.MISCONFIGURED, exc.message, stats)
            except kube.Silent as exc:
                # Indistinguishable from a quiet stream: resume at once from the last RV, and keep
                # it out of the stream's last error (a quiet namespace is not a fault).
                stats.timeouts += 1
                log.info("%s watch: %s; resuming", resource.name, exc.message)
                try:
                    layer.final_flush()
                except StorageTrouble as trouble:
                    failure = f"{exc.message}; then {trouble}"
                    reload = True
                else:
                    processor = layer.processor
                    checkpoint = layer.committed
                    continue
            except kube.Transient as exc:
                failure = exc.message
                # Events handled before the failure are good: commit them before reconnecting.
                try:
                    layer.final_flush()
                except StorageTrouble as trouble:
                    failure = f"{failure}; then {trouble}"
                    reload = True
            except StorageTrouble as exc:
                failure = f"database: {exc}"
                reload = True
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                failure = f"{type(exc).__name__}: {exc}"
            if layer.received_data:
                attempt = 0
            stats.reconnects += 1
            stats.last_error = failure
            log.warning("%s watch: %s", resource.name, failure)
            delay = _backoff(attempt, settings)
            attempt += 1
            try:
                if reload:
                    _close_database_connection()
                    committer.close_connection()
                context.record_error(failure)
            except DatabaseError:
                reload = True
                _close_database_connection()
            except LeaseLost as exc:
                return StreamResult(Outcome.LEASE_LOST, str(exc), stats)
            if _sleep(delay, stop=stop, deadline=deadline, clock=clock):
                return StreamResult(Outcome.STOPPED, stop.reason, stats)
            if clock() >= deadline:
                return StreamResult(Outcome.DEADLINE, "", stats)
            if reload:
                # The processor's caches may hold what the failed transaction did not commit;
                # a new one seeds itself from the database, and we resume at its checkpoint.
                try:
                    processor, checkpoint = context.load()
                except LeaseLost as exc:
                    return StreamResult(Outcome.LEASE_LOST, str(exc), stats)
                except DatabaseError as exc:
                    stats.last_error = f"database: {exc}"
                    checkpoint = layer.committed
                    continue
                stats.resource_version = checkpoint
            else:
                processor = layer.processor
                checkpoint = layer.committed
    finally:
        committer.close()


def _sleep(
    seconds: float, *, stop: StopSignal, deadline: float, clock: Callable[[], float]
) -> bool:
    """Sleep until ``seconds`` pass, the deadline passes or a stop arrives (True)."""
    return stop.wait(max(0.0, min(seconds, deadline - clock())))


def _close_database_connection() -> None:
    from django.db import connection

    with contextlib.suppress(Exception):
        connection.close()
