"""One subscription per process: the ``pod.changed`` batches reach every live connection of
the event loop from ONE channel of the channel layer, fanned out in memory.

The ingest sends each batch once, to the all-pods group (``ingest.publish``). When every
WebSocket had a channel of its own in a group, each batch was stored in Redis with the names
of all the process's channels in it, then put in a queue, woken and dispatched once per
connection (each parsing it again): with 500 dashboards a new pod took tens of seconds to
reach a page. Now the process's ``Hub`` owns one channel, joins the all-pods group once,
receives in a loop and, for each batch, parses it once (``changed_pods``, the one parser of these
messages) and calls every registered connection's ``hub_changed`` synchronously: dispatch
only, no awaits, so the hub's channel (``capacity`` messages in Redis) is drained as fast as
messages arrive. Connections do their own in-memory filtering there (a dashboard's prefilter
and access scope, a timeline's uid) and hand any I/O to tasks of their own
(``batching.rounds()``, renders). Consumers have no channel of their own.

Lifecycle: ``join`` registers a connection and returns once the hub's group membership is in
place (a connection joins before it reads its initial state, so a change in between is
re-read, not lost); the first join starts the receiving task. ``leave`` unregisters; the last
one out stops the task, which leaves the group. It waits ``STOP_TIMEOUT_SECONDS`` at most
for that, so a closing connection never hangs on a stuck layer (the next task then takes a
channel of its own). Membership is re-added every ``REFRESH_SECONDS`` (Channels drops members
older than ``group_expiry``). A failing layer (Redis restarting, a network blip) never ends
the hub: it logs, backs off, joins again and then calls every connection's ``hub_missed``,
since batches may have been lost meanwhile (dashboards re-read their page, timelines
re-render). A ``join`` while the layer is down fails after ``JOIN_TIMEOUT_SECONDS``, and the
browser retries, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from typing import Any, Protocol

from channels.layers import get_channel_layer

from lifecycle_dash.live.groups import all_pods_group
from lifecycle_dash.live.perloop import PerLoop

__all__ = ["Changes", "Hub", "HubMember", "HubUnavailable", "Listener", "changed_pods", "hub"]

log = logging.getLogger(__name__)

# Well under channels_redis' group_expiry (a day); also mends a membership lost without a
# failed receive (a flushed Redis) within minutes, for one cheap ZADD per process.
REFRESH_SECONDS = 600.0
JOIN_TIMEOUT_SECONDS = 4.0
# The receiving task's own cleanup is one Redis command (leaving the group).
STOP_TIMEOUT_SECONDS = 5.0
BACKOFF_FIRST_SECONDS = 0.2
BACKOFF_MAX_SECONDS = 10.0


class HubUnavailable(Exception):
    """The channel layer could not be joined in time."""


def changed_pods(event: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The pods a ``pod.changed`` message is about: one (flat fields) or many (``pods``)."""
    many = event.get("pods")
    if isinstance(many, list):
        for item in many:
            if isinstance(item, Mapping) and isinstance(item.get("uid"), str):
                yield item
    elif isinstance(event.get("uid"), str):
        yield event


class Changes:
    """One ``pod.changed`` batch, parsed once for every connection of the process."""

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.pods: Sequence[Mapping[str, Any]] = list(changed_pods(event))
        # Results listeners share within this batch (equal dashboards filter it once).
        self.memo: dict[Any, Any] = {}

    @cached_property
    def uids(self) -> frozenset[str]:
        return frozenset(str(fields["uid"]) for fields in self.pods)


class Listener(Protocol):
    def hub_changed(self, changes: Changes) -> None:
        """Called on the event loop for each batch; must not block nor raise."""

    def hub_missed(self) -> None:
        """Batches may have been lost (the layer failed): catch up."""


class Hub:
    def __init__(self, layer: Any = None, *, group: str | None = None) -> None:
        self._layer = layer
        self.group = group or all_pods_group()
        self.listeners: dict[Listener, None] = {}
        self.channel: str | None = None
        self.received = 0  # messages taken from the layer: one per batch, however many listen
        self.failures = 0
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._lock = asyncio.Lock()

    @property
    def layer(self) -> Any:
        if self._layer is None:
            self._layer = get_channel_layer()
        return self._layer

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def join(self, listener: Listener, *, timeout: float = JOIN_TIMEOUT_SECONDS) -> None:
        """Register ``listener``; returns once batches sent from now on will reach it."""
        self.listeners[listener] = None
        async with self._lock:
            if not self.running:
                self._ready.clear()
                self._task = asyncio.create_task(self._run(), name="live-hub")
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            await self.leave(listener)
            raise HubUnavailable(f"the channel layer could not be joined in {timeout} s") from None

    async def leave(self, listener: Listener) -> None:
        self.listeners.pop(listener, None)
        async with self._lock:
            if self.listeners or self._task is None:
                return
            task, self._task = self._task, None
            task.cancel()
            done, _ = await asyncio.wait([task], timeout=STOP_TIMEOUT_SECONDS)
            if not done:
                # The last connection's cleanup (maybe of an instance daphne cancelled) must
                # not wait on the layer forever. The next join starts a task on a channel of
                # its own, so the two never share one.
                log.error("live hub: its task did not stop in %.0f s", STOP_TIMEOUT_SECONDS)
                self.channel = None
            elif not task.cancelled() and task.exception() is not None:
                log.error("live hub: stopping failed", exc_info=task.exception())

    async def _run(self) -> None:
        layer = self.layer
        task = asyncio.current_task()
        assert task is not None
        backoff = BACKOFF_FIRST_SECONDS
        missed = False
        refresher: asyncio.Task[None] | None = None
        channel: str | None = None
        try:
            while True:
                if task.cancelling():
                    # Stopped, though the await that was cancelled returned or failed instead
                    # of raising CancelledError (a library swallowed it): stop all the same.
                    raise asyncio.CancelledError
                try:
                    if channel is None:
                        channel = self.channel = self.channel or await layer.new_channel()
                    if not self._ready.is_set():
                        await layer.group_add(self.group, channel)
                        self._ready.set()
                        if refresher is None:
                            refresher = asyncio.create_task(self._refresh(channel))
                        if missed:
                            missed = False
                            self._dispatch_missed()
                    message = await layer.receive(channel)
                except Exception as exc:
                    if task.cancelling():
                        raise asyncio.CancelledError from exc  # being stopped, not failing
                    self.failures += 1
                    log.warning(
                        "live hub: the channel layer failed (%r); joining again in %.1f s",
                        exc,
                        backoff,
                        exc_info=backoff == BACKOFF_FIRST_SECONDS,
                    )
                    self._ready.clear()
                    missed = True
                    await asyncio.sleep(backoff * random.uniform(0.5, 1.0))
                    backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)
                    continue
                self.received += 1
                backoff = BACKOFF_FIRST_SECONDS
                self._dispatch(message)
        finally:
            if self._task in (None, task):  # not a successor's, after leave gave up waiting
                self._ready.clear()
            if refresher is not None:
                refresher.cancel()
                await asyncio.wait([refresher])
            if channel is not None:
                with contextlib.suppress(Exception):
                    await layer.group_discard(self.group, channel)

    async def _refresh(self, channel: str) -> None:
        """Channels drops a group's members older than ``group_expiry``: stay younger."""
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                await self.layer.group_add(self.group, channel)
            except Exception as exc:
                # The receive loop meets the same failure and joins again once it passes.
                log.warning("live hub: refreshing the group membership failed (%r)", exc)

    def _dispatch(self, message: Mapping[str, Any]) -> None:
        if message.get("type") != "pod.changed":
            return
        changes = Changes(message)
        if not changes.pods:
            return
        for listener in list(self.listeners):
            try:
                listener.hub_changed(changes)
            except Exception:
                log.exception("live hub: a connection failed to take a batch")

    def _dispatch_missed(self) -> None:
        for listener in list(self.listeners):
            try:
                listener.hub_missed()
            except Exception:
                log.exception("live hub: a connection failed to catch up")


class HubMember:
    """A consumer that receives through the process's hub: no channel of its own."""

    channel_layer_alias = None
    joined = False

    def hub_changed(self, changes: Changes) -> None:
        raise NotImplementedError

    def hub_missed(self) -> None:
        raise NotImplementedError

    async def join_hub(self) -> None:
        self.joined = True  # before: a connect cancelled while joining still leaves
        await hub().join(self)

    async def leave_hub(self) -> None:
        if self.joined:
            self.joined = False
            await hub().leave(self)


_hubs: PerLoop[Hub] = PerLoop(Hub)


def hub() -> Hub:
    """The hub of the running event loop."""
    return _hubs.get()
