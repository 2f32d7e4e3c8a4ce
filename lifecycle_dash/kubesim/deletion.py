"""API-server semantics of a pod DELETE (graceful deletion).

Follows apiserver ``rest.BeforeDelete`` and the pod strategy's ``CheckGracefulDelete``:

* grace = DeleteOptions.gracePeriodSeconds, else spec.terminationGracePeriodSeconds (else 0);
  forced to 0 when the pod is unscheduled or already Succeeded/Failed; negative becomes 1.
* The first graceful delete sets deletionTimestamp = now + grace and deletionGracePeriodSeconds
  = grace and bumps generation: the object stays (MODIFIED).
* A later delete may only shorten the grace, keeping deletionTimestamp - grace equal to the first
  request time; an equal or longer grace changes nothing.
* A grace of 0 persists that update (MODIFIED) and then removes the object (DELETED), as the
  registry's two writes do.

The scenario engine calls ``request_pod_deletion`` for evictions, preemption and the taint
manager; the simulated kubelet finishes a graceful deletion itself with ``store.delete`` after
writing the terminal status.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lifecycle_dash.kubesim import errors
from lifecycle_dash.kubesim.clock import format_time, parse_time
from lifecycle_dash.kubesim.store import Store


def request_pod_deletion(
    store: Store,
    namespace: str,
    name: str,
    grace_period_seconds: int | None = None,
    *,
    uid: str | None = None,
    resource_version: str | None = None,
) -> dict[str, Any]:
    """Apply a DELETE request; return the pod as the API returns it (marked or last state).

    ``uid``/``resource_version`` are DeleteOptions preconditions (409 Conflict on mismatch).
    """
    pod = store.get("pods", namespace, name)
    if pod is None:
        raise errors.not_found("pods", name)
    meta = pod["metadata"]
    if uid is not None and uid != meta["uid"]:
        raise errors.conflict(
            "pods",
            name,
            f"Precondition failed: UID in precondition: {uid}, UID in object meta: {meta['uid']}",
        )
    if resource_version is not None and resource_version != meta["resourceVersion"]:
        raise errors.conflict(
            "pods",
            name,
            f"Precondition failed: ResourceVersion in precondition: {resource_version}, "
            f"ResourceVersion in object meta: {meta['resourceVersion']}",
        )
    if grace_period_seconds is not None and grace_period_seconds < 0:
        grace_period_seconds = 1

    if meta.get("deletionTimestamp") is not None:
        old_grace = meta.get("deletionGracePeriodSeconds")
        if not old_grace:
            return _remove(store, namespace, name, pod)
        if grace_period_seconds is None or grace_period_seconds >= old_grace:
            return pod
        requested = parse_time(meta["deletionTimestamp"]) - timedelta(seconds=old_grace)
        marked = _marked(pod, requested, grace_period_seconds, bump_generation=False)
    else:
        grace = _pod_grace(pod, grace_period_seconds)
        marked = _marked(pod, store.clock.now(), grace, bump_generation=True)
    updated = store.update("pods", marked)
    if updated["metadata"]["deletionGracePeriodSeconds"] == 0:
        return _remove(store, namespace, name, updated)
    return updated


def _pod_grace(pod: dict[str, Any], requested: int | None) -> int:
    spec = pod.get("spec") or {}
    if requested is not None:
        grace = requested
    else:
        grace = int(spec.get("terminationGracePeriodSeconds") or 0)
    if not spec.get("nodeName"):
        grace = 0
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        grace = 0
    return max(grace, 1) if grace < 0 else grace


def _marked(
    pod: dict[str, Any], requested_at: Any, grace: int, *, bump_generation: bool
) -> dict[str, Any]:
    marked = dict(pod)
    meta = dict(pod["metadata"])
    meta["deletionTimestamp"] = format_time(requested_at + timedelta(seconds=grace))
    meta["deletionGracePeriodSeconds"] = grace
    if bump_generation and meta.get("generation", 0) > 0:
        meta["generation"] += 1
    marked["metadata"] = meta
    return marked


def _remove(store: Store, namespace: str, name: str, pod: dict[str, Any]) -> dict[str, Any]:
    removed = store.delete("pods", namespace, name)
    return removed if removed is not None else pod
