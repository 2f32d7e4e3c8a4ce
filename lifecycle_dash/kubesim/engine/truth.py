"""The ground-truth log: instants the Kubernetes API never exposes.

One JSON object per line, written as it happens::

    {"at": "2026-11-21T05:00:12.500000Z", "offset": 12.5, "what": "sigterm",
     "uid": "...", "namespace": "shop", "pod": "web-7d9f8-bx2kq", "container": "app", ...}

``what`` is one of ``termination_start`` (the kubelet saw the deletion), ``start``,
``prestop_start``, ``prestop_end``, ``prestop_failed``,
``prestop_abandoned``, ``sigterm``, ``sigkill``, ``exit``, ``crash``, ``oom``, ``restart``,
``liveness_kill``, ``poststart_failed``, ``endpoint_terminating``, ``endpoint_not_serving``,
``endpoint_removed``, ``evicted``, ``preempted``, ``taint_eviction``, ``deleted``,
``force_deleted``. ``offset`` is simulated seconds since the simulation
started; with the same scenario, seed and speed the sequence of ``(offset, what, namespace,
pod, container)`` is identical between runs (uids are the store's and differ).
"""

from __future__ import annotations

from collections import deque
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson

from lifecycle_dash.kubesim.clock import format_micro_time
from lifecycle_dash.kubesim.engine.timeline import Timeline

KEEP = 200_000


class Truth:
    def __init__(self, timeline: Timeline, path: Path | None = None, *, keep: bool = True) -> None:
        self.timeline = timeline
        self.path = path
        self.keep = keep
        # The newest records, for tests and in-process readers; the file has them all.
        self.records: deque[dict[str, Any]] = deque(maxlen=KEEP)
        self._file: IO[bytes] | None = path.open("ab") if path is not None else None

    def record(
        self,
        what: str,
        pod: dict[str, Any],
        container: str | None = None,
        *,
        at: datetime | None = None,
        **extra: Any,
    ) -> None:
        moment = at or self.timeline.now()
        meta = pod["metadata"]
        entry: dict[str, Any] = {
            "at": format_micro_time(moment),
            "offset": round(self.timeline.offset(moment), 6),
            "what": what,
            "uid": meta.get("uid", ""),
            "namespace": meta.get("namespace", ""),
            "pod": meta.get("name", ""),
            "container": container,
            **extra,
        }
        if self.keep:
            self.records.append(entry)
        if self._file is not None:
            self._file.write(orjson.dumps(entry) + b"\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
