"""Cluster services: add, remove, record the API server's verdict on our credentials.

A cluster is created with its three watch streams (pods, events, endpointslices) in one
transaction, so the supervisor never sees a cluster half set up.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import connection, transaction

from lifecycle_dash.ingest.models import Cluster, Resource, WatchStream

__all__ = ["ClusterError", "cluster_add", "cluster_record_status", "cluster_remove"]


class ClusterError(ValueError):
    """A cluster definition that cannot work (reported to the user as is)."""


def cluster_add(
    *,
    name: str,
    source: str,
    kubeconfig: str = "",
    context: str = "",
    namespaces: Sequence[str] = (),
    exclude_namespaces: Sequence[str] = (),
) -> Cluster:
    if source not in Cluster.Source.values:
        raise ClusterError(f"unknown source {source!r}")
    if source in (Cluster.Source.KUBECONFIG, Cluster.Source.SIMULATOR) and not kubeconfig:
        raise ClusterError(f"a {source} cluster needs a kubeconfig")
    if source == Cluster.Source.IN_CLUSTER and kubeconfig:
        raise ClusterError("an in-cluster cluster uses the pod's service account, not a kubeconfig")
    overlap = set(namespaces) & set(exclude_namespaces)
    if overlap:
        raise ClusterError(f"namespaces both included and excluded: {', '.join(sorted(overlap))}")
    if Cluster.objects.filter(name=name).exists():
        raise ClusterError(f"a cluster named {name!r} already exists")
    cluster = Cluster(
        name=name,
        source=source,
        context=context,
        namespaces=list(namespaces),
        exclude_namespaces=list(exclude_namespaces),
    )
    cluster.set_kubeconfig(kubeconfig)
    cluster.full_clean()
    with transaction.atomic():
        cluster.save()
        WatchStream.objects.bulk_create(
            WatchStream(cluster=cluster, resource=resource) for resource in Resource.values
        )
    return cluster


def cluster_remove(*, name: str) -> bool:
    """Remove a cluster and everything stored about it; False if there was none."""
    cluster = Cluster.objects.filter(name=name).first()
    if cluster is None:
        return False
    with transaction.atomic():
        # The partitioned history has no foreign key (partitions): delete it explicitly.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM ingest_transition WHERE cluster_id = %s", [cluster.pk])
            cursor.execute("DELETE FROM ingest_eventoccurrence WHERE cluster_id = %s", [cluster.pk])
        cluster.delete()
    return True


def cluster_record_status(*, cluster_id: int, status: str, message: str = "", at: datetime) -> None:
    """What the API server said last (ok / unauthorized / forbidden / error)."""
    if status not in Cluster.Status.values:
        raise ClusterError(f"unknown status {status!r}")
    Cluster.objects.filter(pk=cluster_id).update(
        status=status, status_message=message[:4000], status_at=at
    )
