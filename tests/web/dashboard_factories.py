"""Pod rows for dashboard tests, written through the models (current state only)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from lifecycle_dash.ingest.models import Cluster, Pod

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
