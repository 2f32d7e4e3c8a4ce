"""The change journal: every write to a pod, as committed, one JSON object per line.

    {"wall": 1795248103.186512, "type": "MODIFIED", "object": {...the whole pod...}}

The truth log (``engine/truth.py``) holds the instants the API never shows; this holds the
opposite, everything the API did show: each ADDED, MODIFIED and DELETED of a pod with its
object (``metadata.resourceVersion`` included), in storage order. It is the finest history
a watch could ever deliver, so a client's record of a pod can be compared with it change by
change. ``wall`` is the host's clock (``time.time()``), not the simulated one, because that
is the clock a client stamps its own receive times and observation gaps with.

Registered as a watcher of the store from resourceVersion 0, so it sees changes in order and
in the same synchronous round as the HTTP watchers, and it is not affected by the server's
faults (a dropped or stalled watch stream is an HTTP connection; this is not one).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import IO

from lifecycle_dash.kubesim.store import Change, Store


class ChangeJournal:
    def __init__(self, path: Path, *, kinds: tuple[str, ...] = ("pods",)) -> None:
        self.path = path
        self.kinds = kinds
        self._file: IO[bytes] | None = path.open("ab")
        self._store: Store | None = None

    def attach(self, store: Store) -> None:
        self._store = store
        for kind in self.kinds:
            store.watch(kind, store.resource_version, self)

    def deliver(self, change: Change) -> None:
        if self._file is None:
            return
        self._file.write(
            b'{"wall":%.6f,"type":"%s","object":%s}\n'
            % (time.time(), change.type.encode(), change.raw)
        )
        # Flushed per change: a reader (a test, while the simulation runs) sees whole lines.
        self._file.flush()

    def close(self) -> None:
        if self._store is not None:
            for kind in self.kinds:
                self._store.unwatch(kind, self)
            self._store = None
        if self._file is not None:
            self._file.close()
            self._file = None
