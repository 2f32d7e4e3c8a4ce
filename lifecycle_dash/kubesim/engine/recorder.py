"""Events as the cluster's two recorders write them (reference §6).

* ``legacy`` is client-go's ``tools/record`` (kubelet, node controller, taint manager): an
  identical event (same source, involved object incl. fieldPath, type, reason, message) becomes
  one object whose ``count`` and ``lastTimestamp`` are bumped (a MODIFIED on the Event).
* ``series`` is ``tools/events`` (kube-scheduler): the isomorphic key ignores the note; the 1st
  occurrence is created, the 2nd writes ``series{count: 2}``, later ones only count in memory
  and are written when the series ends (6 min without an occurrence) or on the 30 min
  heartbeat.

Events expire ``ttl`` after their last write, like the API server's ``--event-ttl`` (1 h).
The spam filter is not simulated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lifecycle_dash.kubesim.clock import format_micro_time, format_time
from lifecycle_dash.kubesim.engine.timeline import Timeline, Timer
from lifecycle_dash.kubesim.store import Store

SERIES_FINISH = 6 * 60.0
SERIES_HEARTBEAT = 30 * 60.0


@dataclass(slots=True)
class _Series:
    namespace: str
    name: str
    count: int
    last: datetime
    written: datetime
    finish: Timer | None = None


def pod_reference(pod: dict[str, Any], field_path: str | None = None) -> dict[str, Any]:
    meta = pod["metadata"]
    ref: dict[str, Any] = {
        "kind": "Pod",
        "namespace": meta["namespace"],
        "name": meta["name"],
        "uid": meta["uid"],
        "apiVersion": "v1",
        "resourceVersion": meta.get("resourceVersion", ""),
    }
    if field_path:
        ref["fieldPath"] = field_path
    return ref


class Recorder:
    def __init__(self, store: Store, timeline: Timeline, *, ttl: float = 3600.0) -> None:
        self.store = store
        self.timeline = timeline
        self.ttl = ttl
        self._legacy: dict[tuple[str, ...], tuple[str, str]] = {}
        self._series: dict[tuple[str, ...], _Series] = {}
        self._expiry: dict[tuple[str, str], datetime] = {}
        self._sweeper: Timer | None = None

    def start(self) -> None:
        self._sweeper = self.timeline.after(60.0, self._sweep)

    # ---- legacy recorder ---------------------------------------------------------------------

    def legacy(
        self,
        pod: dict[str, Any],
        *,
        type_: str,
        reason: str,
        message: str,
        component: str,
        host: str = "",
        field_path: str | None = None,
    ) -> None:
        now = self.timeline.now()
        meta = pod["metadata"]
        key = (component, host, meta["uid"], field_path or "", type_, reason, message)
        known = self._legacy.get(key)
        if known is not None:
            existing = self.store.get("events", *known)
            if existing is not None:
                updated = dict(existing)
                updated["count"] = int(existing.get("count") or 1) + 1
                updated["lastTimestamp"] = format_time(now)
                updated["metadata"] = dict(existing["metadata"])
                self.store.update("events", updated)
                self._expiry[known] = now + timedelta(seconds=self.ttl)
                return
        stamp = format_time(now)
        event: dict[str, Any] = {
            "metadata": {"name": self._name(meta, now), "namespace": meta["namespace"]},
            "involvedObject": pod_reference(pod, field_path),
            "reason": reason,
            "message": message,
            "source": {"component": component, **({"host": host} if host else {})},
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "type": type_,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": host,
        }
        created = self.store.create("events", event)
        ref = (created["metadata"]["namespace"], created["metadata"]["name"])
        self._legacy[key] = ref
        self._expiry[ref] = now + timedelta(seconds=self.ttl)

    # ---- events.k8s.io recorder --------------------------------------------------------------

    def series(
        self,
        pod: dict[str, Any],
        *,
        type_: str,
        reason: str,
        note: str,
        action: str,
        controller: str,
        instance: str,
        related: dict[str, Any] | None = None,
    ) -> None:
        now = self.timeline.now()
        meta = pod["metadata"]
        related_uid = related["metadata"]["uid"] if related else ""
        key = (type_, action, reason, controller, instance, meta["uid"], related_uid)
        known = self._series.get(key)
        if known is not None and self.store.get("events", known.namespace, known.name):
            known.count += 1
            known.last = now
            if known.count == 2 or (now - known.written).total_seconds() >= SERIES_HEARTBEAT:
                self._write_series(known)
            if known.finish is not None:
                known.finish.cancel()
            known.finish = self.timeline.after(SERIES_FINISH, lambda: self._finish(key))
            return
        event: dict[str, Any] = {
            "metadata": {"name": self._name(meta, now), "namespace": meta["namespace"]},
            "involvedObject": pod_reference(pod),
            "reason": reason,
            "message": note,
            "source": {},
            "type": type_,
            "eventTime": format_micro_time(now),
            "firstTimestamp": None,
            "lastTimestamp": None,
            "action": action,
            "reportingComponent": controller,
            "reportingInstance": instance,
        }
        if related is not None:
            event["related"] = pod_reference(related)
        created = self.store.create("events", event)
        entry = _Series(created["metadata"]["namespace"], created["metadata"]["name"], 1, now, now)
        entry.finish = self.timeline.after(SERIES_FINISH, lambda: self._finish(key))
        self._series[key] = entry
        self._expiry[(entry.namespace, entry.name)] = now + timedelta(seconds=self.ttl)

    def _write_series(self, entry: _Series) -> None:
        existing = self.store.get("events", entry.namespace, entry.name)
        if existing is None or entry.count < 2:
            return
        updated = dict(existing)
        updated["metadata"] = dict(existing["metadata"])
        updated["series"] = {
            "count": entry.count,
            "lastObservedTime": format_micro_time(entry.last),
        }
        self.store.update("events", updated)
        entry.written = self.timeline.now()
        self._expiry[(entry.namespace, entry.name)] = entry.written + timedelta(seconds=self.ttl)

    def _finish(self, key: tuple[str, ...]) -> None:
        entry = self._series.pop(key, None)
        if entry is not None:
            self._write_series(entry)

    # ---- housekeeping ------------------------------------------------------------------------

    def _name(self, meta: dict[str, Any], now: datetime) -> str:
        nanos = int(now.timestamp()) * 1_000_000_000 + now.microsecond * 1000
        while True:
            name = f"{meta['name']}.{nanos:x}"
            if self.store.get("events", meta["namespace"], name) is None:
                return name
            nanos += 1

    def _sweep(self) -> None:
        now = self.timeline.now()
        expired = [ref for ref, when in self._expiry.items() if when <= now]
        for ref in expired:
            del self._expiry[ref]
            self.store.delete("events", *ref)
        if expired:
            gone = set(expired)
            self._legacy = {k: v for k, v in self._legacy.items() if v not in gone}
        self._sweeper = self.timeline.after(60.0, self._sweep)
