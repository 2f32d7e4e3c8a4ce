"""The simulator's HTTP server: connections, watch streams, the fault control endpoint.

Everything runs on the one asyncio loop shared with the store and the scenario engine. Each
connection is a task that reads requests one after another (HTTP/1.1 keep-alive); a watch
takes over its connection until the stream ends.

Faults (``POST /kubesim/faults/<name>``, same bearer token as the API):

``drop-watches``          abort every open watch connection mid-stream
``compact``               drop all watch history; older resourceVersions then get 410
``stall-watches?seconds``  stop writing to open watches (without closing) for N seconds
``malformed-watch-line``  write one line of broken JSON to every open watch
``restart?delay``         close the listener and all connections, reopen on the same port
                          after ``delay`` seconds, keeping the store
``forbid?rule``           add a 403 rule ``verb:resource[:namespace]`` (``*`` wildcards)
``allow``                 remove all 403 rules

``GET /kubesim/state`` reports the resourceVersion, object counts, open watches and 403 rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

import orjson

from lifecycle_dash.kubesim import errors, httpio
from lifecycle_dash.kubesim.api import Api, ApiConfig, Response, WatchPlan, error_response
from lifecycle_dash.kubesim.store import Store
from lifecycle_dash.kubesim.watch import TableMode, WatchStream

log = logging.getLogger(__name__)

MALFORMED_LINE = b'{"type":"MODIFIED","object":{"kind":"Pod","metadata":{"name":\n'
FAULTS = (
    "drop-watches",
    "compact",
    "stall-watches",
    "malformed-watch-line",
    "restart",
    "forbid",
    "allow",
)


class ApiServer:
    def __init__(
        self,
        store: Store,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        bookmark_interval: float = 60.0,
        forbidden: list[str] | None = None,
        default_watch_timeout: tuple[float, float] = (1800.0, 3600.0),
        record_served: bool = False,
    ) -> None:
        self.store = store
        self.host = host
        self.port = port
        self.token = token or secrets.token_urlsafe(24)
        self.config = ApiConfig(
            token=self.token,
            forbidden=list(forbidden or []),
            default_watch_timeout=default_watch_timeout,
            bookmark_interval=bookmark_interval,
        )
        # Every object served (lists, gets, watch events, write responses), for tests that
        # validate the simulator's output against the Kubernetes schema.
        self.served: list[tuple[str, dict[str, Any]]] | None = [] if record_served else None
        self.api = Api(
            store,
            self.config,
            server_address=lambda: f"{self.host}:{self.port}",
            recorder=self._record if record_served else None,
        )
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self._watches: set[WatchStream] = set()
        self._background: set[asyncio.Task[None]] = set()
        self._handlers: set[asyncio.Task[Any]] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def watch_count(self) -> int:
        return len(self._watches)

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._on_connection, self.host, self.port, limit=1024 * 1024, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        await self._close_listener()
        for stream in list(self._watches):
            stream.close()
        await asyncio.sleep(0)
        self._abort_connections()
        for task in list(self._background):
            task.cancel()
        # Let connection handlers see their aborted sockets and finish, so none is left to be
        # cancelled by the loop's shutdown.
        handlers = [task for task in self._handlers if not task.done()]
        if handlers:
            await asyncio.wait(handlers, timeout=2)

    async def restart(self, delay: float) -> None:
        await self._close_listener()
        self._abort_connections()
        await asyncio.sleep(delay)
        await self.start()

    # ---- faults ------------------------------------------------------------------------------

    def drop_watches(self) -> int:
        streams = list(self._watches)
        for stream in streams:
            stream.abort()
        return len(streams)

    def stall_watches(self, seconds: float) -> int:
        for stream in self._watches:
            stream.stall(seconds)
        return len(self._watches)

    def malformed_watch_line(self) -> int:
        for stream in self._watches:
            stream.inject(MALFORMED_LINE)
        return len(self._watches)

    def compact(self) -> int:
        return self.store.compact()

    def trigger(self, name: str, *, seconds: float = 5.0, rule: str = "") -> dict[str, Any]:
        """Apply a fault now; the result describes what it touched."""
        if name == "drop-watches":
            return {"fault": name, "watches": self.drop_watches()}
        if name == "compact":
            return {"fault": name, "resourceVersion": str(self.compact())}
        if name == "stall-watches":
            return {"fault": name, "watches": self.stall_watches(seconds), "seconds": seconds}
        if name == "malformed-watch-line":
            return {"fault": name, "watches": self.malformed_watch_line()}
        if name == "restart":
            self._spawn(self.restart(seconds))
            return {"fault": name, "delay": seconds}
        if name == "forbid":
            if not rule:
                raise errors.bad_request("forbid needs rule=verb:resource[:namespace]")
            self.config.forbidden.append(rule)
            return {"fault": name, "rules": self.config.forbidden}
        if name == "allow":
            self.config.forbidden.clear()
            return {"fault": name, "rules": []}
        raise errors.not_found_path(name)

    # ---- connections -------------------------------------------------------------------------

    def _record(self, kind: str, obj: dict[str, Any]) -> None:
        if self.served is not None:
            self.served.append((kind, obj))

    def _spawn(self, coroutine: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _close_listener(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    def _abort_connections(self) -> None:
        for writer in list(self._connections):
            writer.transport.abort()
        self._connections.clear()

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._connections.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        try:
            while not writer.is_closing():
                try:
                    request = await httpio.read_request(reader)
                except httpio.BadHttpRequest as exc:
                    body = orjson.dumps(errors.bad_request(str(exc)).status())
                    writer.write(httpio.response(400, body, keep_alive=False))
                    await writer.drain()
                    break
                if request is None:
                    break
                if not await self._serve(request, writer) or not request.keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except Exception:
            log.exception("kubesim connection failed")
        finally:
            self._connections.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _serve(self, request: httpio.Request, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection must not be reused."""
        if request.path.startswith("/kubesim/"):
            result: Response | WatchPlan = self._control(request)
        else:
            result = self.api.handle(request)
        if isinstance(result, WatchPlan):
            return await self._run_watch(result, writer)
        writer.write(
            httpio.response_head(
                result.code,
                len(result.body),
                content_type=result.content_type,
                keep_alive=request.keep_alive,
            )
        )
        writer.write(result.body)
        await writer.drain()
        return True

    def _control(self, request: httpio.Request) -> Response:
        try:
            self.api.authenticate(request)
            parts = request.path.strip("/").split("/")
            if parts[:2] == ["kubesim", "state"] and request.method == "GET":
                return Response(200, orjson.dumps(self.state()))
            if len(parts) != 3 or parts[1] != "faults" or request.method != "POST":
                raise errors.not_found_path(request.path)
            seconds = float(request.query.get("seconds", request.query.get("delay", "5")))
            result = self.trigger(parts[2], seconds=seconds, rule=request.query.get("rule", ""))
            return Response(200, orjson.dumps(result))
        except errors.ApiError as error:
            return error_response(error)
        except ValueError as exc:
            return error_response(errors.bad_request(str(exc)))

    def state(self) -> dict[str, Any]:
        return {
            "resourceVersion": str(self.store.resource_version),
            "objects": {
                kind: self.store.count(kind)
                for kind in ("pods", "events", "endpointslices", "namespaces")
            },
            "watches": len(self._watches),
            "forbidden": self.config.forbidden,
        }

    async def _run_watch(self, plan: WatchPlan, writer: asyncio.StreamWriter) -> bool:
        store = self.store
        stream = WatchStream(
            writer,
            kind=plan.kind,
            namespace=plan.namespace,
            predicate=plan.predicate,
            clock=store.clock,
            bookmarks=plan.bookmarks,
            bookmark_interval=self.config.bookmark_interval,
            timeout=plan.timeout,
            table_mode=(
                TableMode(plan.table_version, plan.include_object, store.clock)
                if plan.table_version
                else None
            ),
            recorder=self._record if self.served is not None else None,
        )
        if plan.resource_version in ("", "0"):
            # Snapshot and registration happen in one synchronous step: no change can fall
            # between the synthetic ADDEDs and the live stream.
            rv, items = store.snapshot(plan.kind, plan.namespace)
            for stored in items:
                if plan.predicate is None or plan.predicate(stored.obj):
                    stream.push_initial(stored.obj, stored.raw)
            store.watch(plan.kind, rv, stream)
            if plan.send_initial_events and plan.bookmarks:
                stream.push_bookmark(rv, initial_events_end=True)
        else:
            try:
                backlog = store.watch(plan.kind, int(plan.resource_version), stream)
            except errors.ApiError as error:
                # As the API server does: HTTP 200, then a single ERROR event, then the end.
                line = orjson.dumps({"type": "ERROR", "object": error.status()}) + b"\n"
                writer.write(httpio.stream_head(200) + httpio.chunk(line) + httpio.LAST_CHUNK)
                await writer.drain()
                return True
            stream.push_changes(backlog)
        self._watches.add(stream)
        try:
            return await stream.run(lambda: store.resource_version)
        finally:
            store.unwatch(plan.kind, stream)
            self._watches.discard(stream)
