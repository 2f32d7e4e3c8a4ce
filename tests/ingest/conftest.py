from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lifecycle_dash.ingest.models import Cluster, WatchStream
from lifecycle_dash.ingest.publish import PodPublisher

# Receive times are "now" (partitions exist from yesterday to a week ahead), fixed per run.
BASE = datetime.now(UTC).replace(microsecond=0)


def at(seconds: float) -> datetime:
    """A receive time ``seconds`` after BASE."""
    return BASE + timedelta(seconds=seconds)


@pytest.fixture
def cluster(db: None) -> Cluster:
    return Cluster.objects.create(name="prod-eu", source=Cluster.Source.SIMULATOR)


@pytest.fixture
def publisher() -> Iterator[PodPublisher]:
    publisher = PodPublisher()
    yield publisher
    publisher.close(timeout=5)


@pytest.fixture
def stream_for(cluster: Cluster) -> Any:
    def make(resource: str) -> WatchStream:
        stream, _ = WatchStream.objects.get_or_create(cluster=cluster, resource=resource)
        return WatchStream.objects.select_related("cluster").get(pk=stream.pk)

    return make
