"""Pods for dashboard tests: rows written through the models (``make_pod``: current state
only, fast, any column value) or through the real ingest path (``Feed``: pod JSON ->
processor -> one transaction -> ``pod.changed`` published after commit)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from lifecycle_dash.ingest.models import Cluster, Pod, WatchStream
from lifecycle_dash.ingest.processors import processor_for
from lifecycle_dash.ingest.publish import PodPublisher

NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)


def make_cluster(name: str = "prod") -> Cluster:
    cluster, _ = Cluster.objects.get_or_create(
        name=name, defaults={"source": Cluster.Source.SIMULATOR}
    )
    return cluster


def make_pod(cluster: Cluster, name: str, **fields: Any) -> Pod:
    now = fields.pop("now", None) or datetime.now(UTC)
    values: dict[str, Any] = {
        "uid": str(uuid.uuid4()),
        "namespace": "default",
        "node_name": "node-1",
        "owner_kind": "ReplicaSet",
        "owner_name": name.rsplit("-", 1)[0],
        "phase": "Running",
        "status": "Running",
        "ready": "1/1",
        "restarts": 0,
        "labels": {"app": name.rsplit("-", 1)[0]},
        "created_at": now - timedelta(minutes=30),
        "first_observed_at": now - timedelta(minutes=30),
        "last_observed_at": now,
        "snapshot": {},
    }
    values.update(fields)
    return Pod.objects.create(cluster=cluster, name=name, **values)


class Feed:
    """One cluster's pod stream through the real processor and publisher."""

    def __init__(self) -> None:
        self.cluster_name = f"c-{uuid.uuid4().hex[:10]}"
        cluster = Cluster.objects.create(name=self.cluster_name, source=Cluster.Source.SIMULATOR)
        stream = WatchStream.objects.create(cluster=cluster, resource="pods")
        stream = WatchStream.objects.select_related("cluster").get(pk=stream.pk)
        self.publisher = PodPublisher(min_interval=0)
        self.processor = processor_for(stream=stream, publisher=self.publisher)
        self.rv = 1000

    def send(self, *events: tuple[str, dict[str, Any]]) -> None:
        for event_type, obj in events:
            self.rv += 1
            obj["metadata"]["resourceVersion"] = str(self.rv)
            raw = orjson.dumps(obj)
            self.processor.handle(
                event_type=event_type,
                obj=orjson.loads(raw),
                raw_size=len(raw),
                received_at=datetime.now(UTC),
            )
        self.processor.flush(resource_version=None)
        assert self.publisher.wait_idle(5)
