"""The built-in simulated cluster as `make run` uses it when no real cluster is configured.

Each run starts a fresh simulator (new objects, resourceVersions from 1, a new port), so the
"simulator" cluster row is kept (its history stays browsable) but pointed at the new server
with its checkpoints cleared: the first slice then lists, and pods of the previous run are
recorded as deleted "observed by relist", which is exactly what happened to them.
"""

from __future__ import annotations

from django.db import transaction

from lifecycle_dash.ingest.clusters import cluster_add
from lifecycle_dash.ingest.models import Cluster, WatchStream

SIMULATOR_CLUSTER = "simulator"


def simulator_cluster_register(*, kubeconfig: str) -> Cluster:
    cluster = Cluster.objects.filter(name=SIMULATOR_CLUSTER).first()
    if cluster is None:
        return cluster_add(
            name=SIMULATOR_CLUSTER, source=Cluster.Source.SIMULATOR, kubeconfig=kubeconfig
        )
    with transaction.atomic():
        cluster.set_kubeconfig(kubeconfig)
        cluster.enabled = True
        cluster.status = Cluster.Status.PENDING
        cluster.status_message = ""
        cluster.save()
        WatchStream.objects.filter(cluster=cluster).update(resource_version="")
    return cluster
