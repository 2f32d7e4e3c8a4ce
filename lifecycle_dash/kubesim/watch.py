"""One open watch stream: filter store changes, buffer them, write them as HTTP chunks.

``deliver`` runs synchronously inside the store's change (it must stay cheap): it filters by
namespace and selectors and appends the change's shared, pre-serialized line to a buffer. The
stream's own task wakes up, joins everything buffered since its last write into ONE chunk and
awaits ``drain``; so a burst of changes costs one socket write per loop iteration rather than
one per event, and a slow client exerts backpressure on its own stream only. A client that
falls ``max_backlog`` events behind is disconnected, as the API server does with watchers that
cannot keep up.

Selector semantics follow the watch cache: an object that starts matching arrives as ADDED, one
that stops matching as DELETED.

Faults (stall, malformed line, drop) act on streams through ``stall``, ``inject`` and ``abort``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson

from lifecycle_dash.kubesim import httpio, table
from lifecycle_dash.kubesim.clock import SimClock
from lifecycle_dash.kubesim.defaults import type_meta
from lifecycle_dash.kubesim.selectors import Predicate
from lifecycle_dash.kubesim.store import ADDED, DELETED, MODIFIED, Change

Recorder = Callable[[str, dict[str, Any]], None]

_PREFIX_LEN = {
    t: len(b'{"type":"' + t.encode() + b'","object":') for t in (ADDED, MODIFIED, DELETED)
}


def event_line(type_: str, obj_raw: bytes) -> bytes:
    return b'{"type":"' + type_.encode() + b'","object":' + obj_raw + b"}\n"


class TableMode:
    def __init__(self, version: str, include_object: str, clock: SimClock) -> None:
        self.version = version
        self.include_object = include_object
        self.clock = clock


class WatchStream:
    def __init__(
        self,
        writer: asyncio.StreamWriter,
        *,
        kind: str,
        namespace: str | None,
        predicate: Predicate | None,
        clock: SimClock,
        bookmarks: bool,
        bookmark_interval: float,
        timeout: float,
        table_mode: TableMode | None = None,
        recorder: Recorder | None = None,
        max_backlog: int = 500_000,
    ) -> None:
        self.writer = writer
        self.kind = kind
        self.namespace = namespace
        self.predicate = predicate
        self.clock = clock
        self.bookmarks = bookmarks
        self.bookmark_interval = bookmark_interval
        self.timeout = timeout
        self.table_mode = table_mode
        self.recorder = recorder
        self.max_backlog = max_backlog
        self.current_rv = 0
        self._buffer: list[bytes] = []
        self._wakeup = asyncio.Event()
        self._stalled_until = 0.0
        self._aborted = False
        self._closing = False
        self._loop = asyncio.get_running_loop()

    # ---- called synchronously by the store ---------------------------------------------------

    def deliver(self, change: Change) -> None:
        if self.namespace is not None and change.namespace != self.namespace:
            return
        type_ = change.type
        if self.predicate is not None:
            now_matches = self.predicate(change.obj)
            if type_ == MODIFIED:
                before = change.prev is not None and self.predicate(change.prev)
                if now_matches and not before:
                    type_ = ADDED
                elif before and not now_matches:
                    type_ = DELETED
                elif not now_matches:
                    return
            elif not now_matches:
                return
        if type_ == change.type and self.table_mode is None:
            self._push(change.line, change.obj)
        else:
            self._push(self._line(type_, change.obj, change.raw), change.obj)
        if len(self._buffer) > self.max_backlog:
            self.abort()

    # ---- building lines ----------------------------------------------------------------------

    def _line(self, type_: str, obj: dict[str, Any], raw: bytes) -> bytes:
        if self.table_mode is None:
            return event_line(type_, raw)
        mode = self.table_mode
        rendered = table.table(
            self.kind,
            [obj],
            now=mode.clock.now(),
            include_object=mode.include_object,
            version=mode.version,
            list_meta={"resourceVersion": obj["metadata"]["resourceVersion"]},
        )
        return event_line(type_, orjson.dumps(rendered))

    def push_initial(self, obj: dict[str, Any], raw: bytes) -> None:
        self._push(self._line(ADDED, obj, raw), obj)

    def push_changes(self, changes: list[Change]) -> None:
        for change in changes:
            self.deliver(change)

    def push_bookmark(self, rv: int, *, initial_events_end: bool = False) -> None:
        self._buffer.append(self._bookmark(rv, initial_events_end=initial_events_end))
        self._wakeup.set()

    def _bookmark(self, rv: int, *, initial_events_end: bool = False) -> bytes:
        api_version, kind_name = type_meta(self.kind)
        metadata: dict[str, Any] = {"resourceVersion": str(rv)}
        if initial_events_end:
            metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": kind_name, "apiVersion": api_version, "metadata": metadata}
        return orjson.dumps({"type": "BOOKMARK", "object": obj}) + b"\n"

    def _push(self, line: bytes, obj: dict[str, Any]) -> None:
        self._buffer.append(line)
        if self.recorder is not None:
            self.recorder(self.kind, obj)
        if not self._wakeup.is_set():
            self._wakeup.set()

    # ---- faults ------------------------------------------------------------------------------

    def stall(self, seconds: float) -> None:
        self._stalled_until = self._loop.time() + seconds
        self._wakeup.set()

    def inject(self, line: bytes) -> None:
        self._buffer.append(line)
        self._wakeup.set()

    def abort(self) -> None:
        """Cut the connection without ending the chunked stream (a network failure)."""
        self._aborted = True
        self._wakeup.set()
        self.writer.transport.abort()

    def close(self) -> None:
        """End the stream cleanly at the next opportunity (server shutdown)."""
        self._closing = True
        self._wakeup.set()

    # ---- the stream task ---------------------------------------------------------------------

    async def run(self, current_rv: Callable[[], int]) -> bool:
        """Stream until timeout, close or abort; True if the connection may be reused."""
        loop = self._loop
        deadline = loop.time() + self.timeout
        interval = self.clock.loop_delay(self.bookmark_interval)
        next_bookmark = loop.time() + interval if self.bookmarks else float("inf")
        writer = self.writer
        writer.write(httpio.stream_head(200))
        timer: asyncio.TimerHandle | None = None
        try:
            while True:
                stalled = loop.time() < self._stalled_until
                if not stalled and self._buffer:
                    data = b"".join(self._buffer)
                    self._buffer.clear()
                    writer.write(httpio.chunk(data))
                    await writer.drain()
                if self._aborted or writer.is_closing():
                    return False
                if self._closing:
                    break
                now = loop.time()
                # A bookmark promises that every change up to its resourceVersion was sent, so
                # it only goes out with nothing left in the buffer.
                settled = not stalled and not self._buffer
                if now >= deadline:
                    if not stalled:
                        # Flush and bookmark with no await in between, so the bookmark covers
                        # everything; the watch cache sends one just before the deadline too.
                        if self._buffer:
                            writer.write(httpio.chunk(b"".join(self._buffer)))
                            self._buffer.clear()
                        if self.bookmarks:
                            writer.write(httpio.chunk(self._bookmark(current_rv())))
                    break
                if settled and now >= next_bookmark:
                    writer.write(httpio.chunk(self._bookmark(current_rv())))
                    await writer.drain()
                    next_bookmark = now + interval
                if self._buffer and not stalled:
                    continue
                wake_at = min(deadline, next_bookmark)
                if stalled:
                    wake_at = min(deadline, self._stalled_until)
                self._wakeup.clear()
                if timer is not None:
                    timer.cancel()
                timer = loop.call_at(wake_at, self._wakeup.set)
                await self._wakeup.wait()
            writer.write(httpio.LAST_CHUNK)
            await writer.drain()
            return True
        except (ConnectionError, RuntimeError):
            return False
        finally:
            if timer is not None:
                timer.cancel()
