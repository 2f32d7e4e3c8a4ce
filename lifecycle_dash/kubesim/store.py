"""The simulator's object store: what etcd plus the API server's registry are to a cluster.

Design:

* One asyncio loop, one thread: no locks. Every change runs to completion synchronously.
* One global, monotonic resourceVersion counter across all kinds, like etcd's revision. A LIST
  returns the current counter; every create/update/delete takes the next value.
* Objects are plain dicts in the exact JSON shape of the Kubernetes API. The store owns the dicts
  it is given and hands out its own: treat what ``get``/``list`` return as read-only and pass a
  changed copy (``clone``) to ``update``. Each stored object is serialized once with orjson when it
  changes; LIST responses and watch lines reuse those bytes.
* Indexes: kind -> namespace -> name (namespace lists and point reads without scanning), and uid
  -> key. Nothing per change is O(number of objects).
* Watch history: per kind, a bounded ring of ``Change`` records. Live watchers share one watch
  line (``{"type":..,"object":..}\\n``) per change; the ring then keeps only the serialized
  object. A watch that starts at a resourceVersion older than the ring (or older than the last
  ``compact()``) gets 410. Defaulting on create (``defaults.py``) applies to every writer, as
  the API server's does.
* Watchers and subscribers are called synchronously after each change. Watchers (the HTTP layer)
  must only buffer; subscribers (the scenario engine) may write back to the store, which nests the
  new change inside the current notification round -- fine, because each change is complete
  before anyone is told about it.
"""

from __future__ import annotations

import builtins
import logging
import secrets
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import orjson

from lifecycle_dash.kubesim import errors
from lifecycle_dash.kubesim.clock import SimClock, format_time
from lifecycle_dash.kubesim.defaults import apply_create_defaults

log = logging.getLogger(__name__)

KINDS = ("pods", "events", "endpointslices", "namespaces")
CLUSTER_SCOPED = frozenset({"namespaces"})
ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"

# apimachinery's names.SimpleNameGenerator alphabet: no vowels, no confusable digits.
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")

Subscriber = Callable[[str, str, dict[str, Any]], None]
# Changes kept per kind for watch resumption: minutes of history at the churn the scenarios make.
DEFAULT_HISTORY = 50_000


class Change:
    """One committed change, as watchers receive it and the watch history keeps it.

    While the change is being delivered it carries the live dicts (``obj``, ``prev``) and the
    watch line serialized once for every watcher. Afterwards the history keeps only bytes:
    ``raw`` (shared with the stored object) and ``prev_raw`` (the previous version's ``raw``,
    itself held by the previous change), so retained history costs about one JSON document per
    change rather than a dict tree per version. Replays re-parse and re-frame lazily.
    """

    __slots__ = ("_line", "_obj", "_prev", "kind", "namespace", "prev_raw", "raw", "rv", "type")

    def __init__(
        self,
        rv: int,
        type_: str,
        kind: str,
        namespace: str,
        obj: dict[str, Any],
        prev: Stored | None,
        raw: bytes,
    ) -> None:
        self.rv = rv
        self.type = type_
        self.kind = kind
        self.namespace = namespace
        self.raw = raw
        self.prev_raw = prev.raw if prev is not None else None
        self._obj: dict[str, Any] | None = obj
        self._prev: dict[str, Any] | None = prev.obj if prev is not None else None
        self._line: bytes | None = b'{"type":"' + type_.encode() + b'","object":' + raw + b"}\n"

    @property
    def line(self) -> bytes:
        """``{"type":..,"object":..}\\n`` as sent on a watch stream."""
        if self._line is None:
            return b'{"type":"' + self.type.encode() + b'","object":' + self.raw + b"}\n"
        return self._line

    @property
    def obj(self) -> dict[str, Any]:
        if self._obj is None:
            parsed: dict[str, Any] = orjson.loads(self.raw)
            return parsed
        return self._obj

    @property
    def prev(self) -> dict[str, Any] | None:
        if self._prev is None and self.prev_raw is not None:
            parsed: dict[str, Any] = orjson.loads(self.prev_raw)
            return parsed
        return self._prev

    def settle(self) -> None:
        """Drop the live references once delivered; the history keeps bytes only."""
        self._obj = self._prev = self._line = None


class Watcher(Protocol):
    def deliver(self, change: Change) -> None: ...


class Stored:
    """A stored object and its serialized form."""

    __slots__ = ("obj", "raw")

    def __init__(self, obj: dict[str, Any], raw: bytes) -> None:
        self.obj = obj
        self.raw = raw


def clone(obj: dict[str, Any]) -> dict[str, Any]:
    """Deep copy of a JSON-shaped dict (faster than copy.deepcopy for these)."""
    result: dict[str, Any] = orjson.loads(orjson.dumps(obj))
    return result


class Store:
    def __init__(self, clock: SimClock, *, history: int = DEFAULT_HISTORY) -> None:
        self.clock = clock
        self.history_size = history
        self._rv = 0
        self._items: dict[str, dict[str, dict[str, Stored]]] = {k: {} for k in KINDS}
        self._counts: dict[str, int] = dict.fromkeys(KINDS, 0)
        self._by_uid: dict[str, tuple[str, str, str]] = {}
        self._history: dict[str, deque[Change]] = {k: deque() for k in KINDS}
        # Highest resourceVersion no longer covered by the history of each kind.
        self._floor: dict[str, int] = dict.fromkeys(KINDS, 0)
        self._watchers: dict[str, tuple[Watcher, ...]] = {k: () for k in KINDS}
        self._subscribers: list[Subscriber] = []
        # Bumped by compact(): continue tokens issued before a compaction expire (410).
        self.compactions = 0
        for name in _SYSTEM_NAMESPACES:
            self.create("namespaces", {"metadata": {"name": name}})

    # ---- reads -------------------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        return self._rv

    def count(self, kind: str) -> int:
        return self._counts[self._check_kind(kind)]

    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        stored = self._items[self._check_kind(kind)].get(self._ns(kind, namespace), {}).get(name)
        return stored.obj if stored is not None else None

    def get_stored(self, kind: str, namespace: str | None, name: str) -> Stored | None:
        return self._items[self._check_kind(kind)].get(self._ns(kind, namespace), {}).get(name)

    def get_by_uid(self, uid: str) -> tuple[str, dict[str, Any]] | None:
        key = self._by_uid.get(uid)
        if key is None:
            return None
        kind, namespace, name = key
        return kind, self._items[kind][namespace][name].obj

    def list(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return [stored.obj for stored in self.iter_stored(kind, namespace)]

    def iter_stored(self, kind: str, namespace: str | None = None) -> Iterator[Stored]:
        by_ns = self._items[self._check_kind(kind)]
        if namespace is not None and kind not in CLUSTER_SCOPED:
            yield from by_ns.get(namespace, {}).values()
            return
        for objects in by_ns.values():
            yield from objects.values()

    def snapshot(
        self, kind: str, namespace: str | None = None
    ) -> tuple[int, builtins.list[Stored]]:
        """A consistent, key-ordered copy of the index (references, not object copies)."""
        by_ns = self._items[self._check_kind(kind)]
        if namespace is not None and kind not in CLUSTER_SCOPED:
            spaces = [namespace] if namespace in by_ns else []
        else:
            # etcd orders keys as "<namespace>/<name>" strings.
            spaces = sorted(by_ns, key=lambda space: space + "/")
        items: builtins.list[Stored] = []
        for space in spaces:
            objects = by_ns[space]
            items.extend(objects[name] for name in sorted(objects))
        return self._rv, items

    # ---- writes ------------------------------------------------------------------------------

    def create(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        self._check_kind(kind)
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            meta = obj["metadata"] = {}
        namespace = self._ns(kind, meta.get("namespace"))
        if kind in CLUSTER_SCOPED:
            meta.pop("namespace", None)
        else:
            meta["namespace"] = namespace
        objects = self._items[kind].setdefault(namespace, {})
        name = meta.get("name")
        if not name:
            prefix = meta.get("generateName")
            if not prefix:
                raise errors.invalid(
                    kind,
                    "",
                    [("metadata.name", "Required value: name or generateName is required")],
                )
            name = _generate_name(prefix)
            while name in objects:
                name = _generate_name(prefix)
            meta["name"] = name
        if name in objects:
            raise errors.already_exists(kind, name)
        for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion"):
            meta.pop(key, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = format_time(self.clock.now())
        apply_create_defaults(kind, obj)
        self._rv += 1
        meta["resourceVersion"] = str(self._rv)
        raw = orjson.dumps(obj)
        objects[name] = Stored(obj, raw)
        self._counts[kind] += 1
        self._by_uid[meta["uid"]] = (kind, namespace, name)
        self._commit(Change(self._rv, ADDED, kind, namespace, obj, None, raw))
        return obj

    def update(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Replace the object with the same namespace/name; MODIFIED with a new resourceVersion.

        A ``metadata.resourceVersion`` in ``obj`` must match the stored one (optimistic
        concurrency, 409 Conflict otherwise); omit it to overwrite unconditionally. uid and
        creationTimestamp are immutable and copied from the stored object. An update that
        changes nothing is not written, as the API server does.
        """
        self._check_kind(kind)
        meta = obj.get("metadata")
        if not isinstance(meta, dict) or not meta.get("name"):
            raise errors.invalid(kind, "", [("metadata.name", "Required value: name is required")])
        namespace = self._ns(kind, meta.get("namespace"))
        name = meta["name"]
        objects = self._items[kind].get(namespace, {})
        current = objects.get(name)
        if current is None:
            raise errors.not_found(kind, name)
        old = current.obj
        old_meta = old["metadata"]
        given_rv = meta.get("resourceVersion")
        if given_rv and given_rv != old_meta["resourceVersion"]:
            raise errors.stale_update(kind, name)
        given_uid = meta.get("uid")
        if given_uid and given_uid != old_meta["uid"]:
            raise errors.conflict(
                kind,
                name,
                f"Precondition failed: UID in precondition: {given_uid}, "
                f"UID in object meta: {old_meta['uid']}",
            )
        meta["uid"] = old_meta["uid"]
        meta["creationTimestamp"] = old_meta["creationTimestamp"]
        if kind not in CLUSTER_SCOPED:
            meta["namespace"] = namespace
        old_rv = old_meta["resourceVersion"]
        meta["resourceVersion"] = old_rv
        # Compare serialized forms, not dicts: a caller that changed a nested part of the stored
        # dict in place would make a dict comparison see no change and lose the write.
        raw = orjson.dumps(obj)
        if raw == current.raw:
            return old
        self._rv += 1
        new_rv = str(self._rv)
        meta["resourceVersion"] = new_rv
        # The object's own resourceVersion occurs once in its JSON (other references name other
        # changes), so splicing the new one in saves a second serialization.
        old_token = b'"resourceVersion":"' + old_rv.encode() + b'"'
        if raw.count(old_token) == 1:
            raw = raw.replace(old_token, b'"resourceVersion":"' + new_rv.encode() + b'"')
        else:
            raw = orjson.dumps(obj)
        objects[name] = Stored(obj, raw)
        self._commit(Change(self._rv, MODIFIED, kind, namespace, obj, current, raw))
        return obj

    def delete(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """Remove at once (no grace logic; see ``deletion.request_pod_deletion`` for that).

        Returns the last state with the deletion's resourceVersion, as watchers see it in
        DELETED, or None when there was nothing to delete.
        """
        self._check_kind(kind)
        ns = self._ns(kind, namespace)
        objects = self._items[kind].get(ns)
        if objects is None or name not in objects:
            return None
        stored = objects.pop(name)
        if not objects and kind not in CLUSTER_SCOPED:
            del self._items[kind][ns]
        self._counts[kind] -= 1
        self._by_uid.pop(stored.obj["metadata"]["uid"], None)
        self._rv += 1
        last = dict(stored.obj)
        last["metadata"] = {**stored.obj["metadata"], "resourceVersion": str(self._rv)}
        raw = orjson.dumps(last)
        self._commit(Change(self._rv, DELETED, kind, ns, last, stored, raw))
        return last

    # ---- notification ------------------------------------------------------------------------

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(event_type, kind, obj)`` after every change; returns an unsubscribe."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def watch(self, kind: str, resource_version: int, watcher: Watcher) -> builtins.list[Change]:
        """Register ``watcher`` for changes after ``resource_version``.

        Returns the retained changes newer than ``resource_version`` (to be sent first, in
        order); later changes are delivered through ``watcher.deliver``. Raises a 410 ApiError
        when the history no longer reaches back that far.
        """
        self._check_kind(kind)
        floor = self._floor[kind]
        if resource_version < floor:
            raise errors.expired(f"too old resource version: {resource_version} ({floor})")
        backlog: builtins.list[Change] = []
        for change in reversed(self._history[kind]):
            if change.rv <= resource_version:
                break
            backlog.append(change)
        backlog.reverse()
        self._watchers[kind] = (*self._watchers[kind], watcher)
        return backlog

    def unwatch(self, kind: str, watcher: Watcher) -> None:
        self._watchers[kind] = tuple(w for w in self._watchers[kind] if w is not watcher)

    def watchers(self, kind: str | None = None) -> builtins.list[Watcher]:
        kinds = KINDS if kind is None else (kind,)
        return [w for k in kinds for w in self._watchers[k]]

    def compact(self) -> int:
        """Forget all history, as an etcd compaction would; returns the compaction revision."""
        for kind in KINDS:
            self._history[kind].clear()
            self._floor[kind] = self._rv
        self.compactions += 1
        return self._rv

    def oldest_resource_version(self, kind: str) -> int:
        """The oldest resourceVersion a watch of ``kind`` may still start from."""
        return self._floor[self._check_kind(kind)]

    # ---- internals ---------------------------------------------------------------------------

    def _commit(self, change: Change) -> None:
        history = self._history[change.kind]
        if len(history) >= self.history_size:
            self._floor[change.kind] = history.popleft().rv
        history.append(change)
        for watcher in self._watchers[change.kind]:
            watcher.deliver(change)
        if self._subscribers:
            obj = change.obj
            for callback in tuple(self._subscribers):
                try:
                    callback(change.type, change.kind, obj)
                except Exception:
                    log.exception("store subscriber failed on %s %s", change.type, change.kind)
        change.settle()

    def _check_kind(self, kind: str) -> str:
        if kind not in self._items:
            raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
        return kind

    @staticmethod
    def _ns(kind: str, namespace: str | None) -> str:
        if kind in CLUSTER_SCOPED:
            return ""
        return namespace or "default"


def _generate_name(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_GENERATE_ALPHABET) for _ in range(5))
