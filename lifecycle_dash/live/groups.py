"""The Channels group the live updates travel in.

One group: the ingest sends every ``pod.changed`` batch to it once, and each web process's
hub (``live.hub``) is its one member there and fans the batch out in memory. Per-cluster or
per-pod groups would only multiply the sends: every process needs every batch anyway, for its
unfiltered dashboards and its timelines.
"""

from __future__ import annotations


def all_pods_group() -> str:
    return "pods.all"
