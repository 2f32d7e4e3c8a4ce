"""Watch-event sequences of realistic pod lifecycles, built from the shared pod factory."""

from __future__ import annotations

from typing import Any

from tests.lifecycle import podfactory as f

Json = dict[str, Any]


def graceful_lifecycle(*, uid: str, name: str, rv: int = 100) -> list[tuple[str, Json]]:
    """Pending -> scheduled -> running/ready -> deletion requested -> exited -> DELETED."""
    pending = f.pending_unscheduled_pod(uid=uid, name=name, resource_version=str(rv))
    scheduled = f.pod(
        uid=uid,
        name=name,
        resource_version=str(rv + 1),
        phase="Pending",
        container_statuses=[f.waiting("app", "ContainerCreating")],
        conditions=f.standard_conditions(ready=False),
        pod_ips=(),
    )
    running = f.running_pod(uid=uid, name=name, resource_version=str(rv + 2))
    terminating = f.terminating_pod(
        uid=uid, name=name, resource_version=str(rv + 3), requested=100, grace=30
    )
    exited = f.terminating_pod(
        uid=uid,
        name=name,
        resource_version=str(rv + 4),
        requested=100,
        grace=30,
        phase="Succeeded",
        container_statuses=[f.terminated("app", 0, reason="Completed", finished_at=105)],
        conditions=f.standard_conditions(ready=False),
    )
    gone = f.evolve(exited, lambda p: None, resource_version=str(rv + 5))
    return [
        ("ADDED", pending),
        ("MODIFIED", scheduled),
        ("MODIFIED", running),
        ("MODIFIED", terminating),
        ("MODIFIED", exited),
        ("DELETED", gone),
    ]
