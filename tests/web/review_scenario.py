"""The simulator's ``demo`` scenario, played in-process and written through the ingest processors.

What a watcher of pods, Events and EndpointSlices receives (the store's change feed, with the
simulated receive instant) goes to ``ingest.processors`` stream by stream, exactly as the
watch loop hands it over; the served pod objects are kept per pod so tests can ask what
``kubectl get pods`` would have printed at any instant (the ground truth for time travel).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from lifecycle_dash.ingest.models import Cluster, WatchStream
from lifecycle_dash.ingest.processors import processor_for
from lifecycle_dash.lifecycle.kubectl import kubectl_status
from lifecycle_dash.lifecycle.snapshot import snapshot_from_pod
from tests.support.scenario_play import play

Json = dict[str, Any]
_RESOURCES = ("pods", "events", "endpointslices")


@dataclass
class Played:
    start: datetime
    end: datetime
    received: list[tuple[datetime, str, str, Json]]
    # pod uid -> [(instant, served object or None once deleted)]
    served: dict[str, list[tuple[datetime, Json | None]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def names(self) -> dict[str, str]:
        out = {}
        for _, _change, kind, obj in self.received:
            if kind == "pods":
                out[obj["metadata"]["uid"]] = obj["metadata"]["name"]
        return out

    def status_at(self, uid: str, at: datetime) -> str | None:
        """STATUS of the object the simulator served at ``at`` (None: not served then)."""
        history = self.served.get(uid, [])
        i = bisect.bisect_right([moment for moment, _ in history], at) - 1
        served = history[i][1] if i >= 0 else None
        if served is None:
            return None
        return kubectl_status(snapshot_from_pod(served))


def play_demo(*, seconds: float = 330.0, start: datetime | None = None) -> Played:
    """Play the demo scenario from ``start`` (default: real now - seconds, so it ends about
    now), in virtual time: the same history on every run, however busy the machine."""
    if start is None:
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=seconds)
    demo = play("demo", seconds, start=start)
    received = [change for change in demo.received if change[2] in _RESOURCES]
    played = Played(start=start, end=demo.clock.now(), received=received)
    for at, change, kind, obj in received:
        if kind == "pods":
            played.served[obj["metadata"]["uid"]].append((at, None if change == "DELETED" else obj))
    return played


def ingest(played: Played, *, cluster: Cluster) -> None:
    """Hand every received change to its stream's processor, flushing in batches."""
    processors = {}
    for resource in _RESOURCES:
        stream, _ = WatchStream.objects.get_or_create(cluster=cluster, resource=resource)
        stream = WatchStream.objects.select_related("cluster").get(pk=stream.pk)
        processors[resource] = processor_for(stream=stream, publisher=None)
    for batch, (at, change, kind, obj) in enumerate(played.received, start=1):
        raw = orjson.dumps(obj)
        processors[kind].handle(
            event_type=change, obj=orjson.loads(raw), raw_size=len(raw), received_at=at
        )
        if batch % 200 == 0:
            # Flush pods first so Events and slices find their pods, as the live loop does.
            for resource in _RESOURCES:
                processors[resource].flush(resource_version=None)
    for resource in _RESOURCES:
        processors[resource].flush(resource_version=None)
