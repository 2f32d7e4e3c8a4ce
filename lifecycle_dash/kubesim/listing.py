"""Chunked LIST (``limit``/``continue``) over consistent snapshots.

The first page of a paged list takes a snapshot of the matching objects (references to the
stored dicts, which are never mutated in place) and later pages read from it, so every page shows
the same resourceVersion, as etcd serves pages at the first page's revision. The continue token
encodes that resourceVersion, the snapshot and the position. Snapshots live for ``ttl`` seconds
(five minutes, like etcd's default compaction interval), at most ``max_snapshots`` are kept, and
a ``compact()`` of the store expires them all: an expired token is a 410.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import time
from collections import OrderedDict
from dataclasses import dataclass

import orjson

from lifecycle_dash.kubesim import errors
from lifecycle_dash.kubesim.selectors import Predicate
from lifecycle_dash.kubesim.store import Store, Stored

_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter."
)


@dataclass(slots=True)
class _Snapshot:
    rv: int
    items: list[Stored]
    compactions: int
    created: float


@dataclass(slots=True)
class Page:
    rv: int
    items: list[Stored]
    continue_token: str
    remaining: int | None


class Pager:
    def __init__(self, *, ttl: float = 300.0, max_snapshots: int = 64) -> None:
        self.ttl = ttl
        self.max_snapshots = max_snapshots
        self._snapshots: OrderedDict[int, _Snapshot] = OrderedDict()
        self._ids = itertools.count(1)

    def page(
        self,
        store: Store,
        kind: str,
        namespace: str | None,
        predicate: Predicate | None,
        *,
        limit: int,
        continue_token: str | None,
    ) -> Page:
        if continue_token:
            snapshot_id, start = self._decode(continue_token)
            snapshot = self._snapshots.get(snapshot_id)
            if (
                snapshot is None
                or snapshot.compactions != store.compactions
                or time.monotonic() - snapshot.created > self.ttl
            ):
                self._snapshots.pop(snapshot_id, None)
                raise errors.expired(_EXPIRED)
        else:
            rv, items = store.snapshot(kind, namespace)
            if predicate is not None:
                items = [s for s in items if predicate(s.obj)]
            if limit <= 0 or len(items) <= limit:
                return Page(rv, items, "", None)
            snapshot_id = next(self._ids)
            snapshot = _Snapshot(rv, items, store.compactions, time.monotonic())
            self._snapshots[snapshot_id] = snapshot
            while len(self._snapshots) > self.max_snapshots:
                self._snapshots.popitem(last=False)
            start = 0
        end = len(snapshot.items) if limit <= 0 else start + limit
        page_items = snapshot.items[start:end]
        if end >= len(snapshot.items):
            self._snapshots.pop(snapshot_id, None)
            return Page(snapshot.rv, page_items, "", None)
        token = self._encode(snapshot.rv, snapshot_id, end)
        remaining = None if predicate is not None else len(snapshot.items) - end
        return Page(snapshot.rv, page_items, token, remaining)

    @staticmethod
    def _encode(rv: int, snapshot_id: int, start: int) -> str:
        payload = orjson.dumps({"v": "kubesim/v1", "rv": rv, "id": snapshot_id, "start": start})
        return base64.urlsafe_b64encode(payload).decode().rstrip("=")

    @staticmethod
    def _decode(token: str) -> tuple[int, int]:
        try:
            padded = token + "=" * (-len(token) % 4)
            payload = orjson.loads(base64.urlsafe_b64decode(padded))
            return int(payload["id"]), int(payload["start"])
        except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise errors.bad_request(f"continue key is not valid: {exc}") from exc
