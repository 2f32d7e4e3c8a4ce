"""Hypothesis strategies for realistic pod JSON variants, built on the podfactory.

``pod_variants(uid=...)`` draws one pod object: phase / reason, scheduling, conditions,
init / sidecar / regular container states with restarts and last states, deletion. Draw
several with the same uid to get observations of one pod.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.lifecycle import podfactory as f

Json = dict[str, Any]

UID = "3f1e6a52-8c1b-4d7e-9a0f-2b4c6d8e0f11"

_times = st.integers(min_value=0, max_value=4000)
_restarts = st.one_of(st.integers(0, 6), st.integers(0, 40))
_reasons_waiting = st.sampled_from(
    [
        None,
        "ContainerCreating",
        "PodInitializing",
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "CreateContainerConfigError",
    ]
)
_reasons_terminated = st.sampled_from(
    [None, "", "Completed", "Error", "OOMKilled", "ContainerStatusUnknown", "StartError"]
)
_exit_codes = st.sampled_from([0, 1, 2, 128, 137, 143])


@st.composite
def last_terminated(draw: st.DrawFn) -> Json | None:
    if not draw(st.booleans()):
        return None
    start = draw(_times)
    return f.term(
        draw(_exit_codes),
        reason=draw(_reasons_terminated),
        started=start,
        finished=start + draw(st.integers(0, 600)),
        message=draw(st.sampled_from([None, "bye", "panic: boom"])),
        container_id=draw(st.sampled_from(["containerd://aa", "containerd://bb", None])),
    )


@st.composite
def container_status(draw: st.DrawFn, name: str) -> Json:
    kind = draw(st.sampled_from(["waiting", "running", "terminated", "none"]))
    common: dict[str, Any] = {
        "restart_count": draw(_restarts),
        "last_terminated": draw(last_terminated()),
        "ready": draw(st.booleans()),
        "started": draw(st.sampled_from([None, True, False])),
    }
    if kind == "waiting":
        return f.waiting(
            name,
            draw(_reasons_waiting),
            message=draw(st.sampled_from([None, "back-off 10s", "back-off 20s"])),
            **common,
        )
    if kind == "running":
        return f.running(
            name,
            started_at=draw(_times),
            container_id=draw(st.sampled_from(["containerd://c1", "containerd://c2"])),
            **common,
        )
    if kind == "terminated":
        start = draw(_times)
        return f.terminated(
            name,
            draw(_exit_codes),
            reason=draw(_reasons_terminated),
            started_at=start,
            finished_at=start + draw(st.integers(0, 300)),
            signal=draw(st.sampled_from([None, 0, 9, 15])),
            **common,
        )
    return f.no_state(name, **{k: v for k, v in common.items()})


@st.composite
def conditions(draw: st.DrawFn) -> list[Json]:
    out = []
    for type_ in [
        "PodScheduled",
        "PodReadyToStartContainers",
        "Initialized",
        "ContainersReady",
        "Ready",
        "DisruptionTarget",
        "example.com/lb",
    ]:
        if draw(st.integers(0, 4)) == 0:
            continue
        status = draw(st.sampled_from(["True", "False", "Unknown"]))
        reason = draw(
            st.sampled_from(
                [
                    None,
                    "ContainersNotReady",
                    "PodCompleted",
                    "SchedulingGated",
                    "Unschedulable",
                    "EvictionByEvictionAPI",
                ]
            )
        )
        out.append(
            f.condition(
                type_,
                status,
                reason=reason,
                message=draw(st.sampled_from([None, "m1", "m2"])),
                at_=draw(st.integers(0, 30)),
            )
        )
    if out and draw(st.integers(0, 6)) == 0:
        out.append(dict(out[0], status="Unknown"))  # a duplicate type: the first one counts
    return draw(st.permutations(out))


@st.composite
def pod_variants(draw: st.DrawFn, uid: str = UID, resource_version: str = "1") -> Json:
    with_init = draw(st.booleans())
    with_sidecar = draw(st.booleans())
    init_containers = []
    init_statuses = []
    if with_init:
        init_containers.append(f.init_container("init-db"))
    if with_sidecar:
        init_containers.append(f.init_container("proxy", sidecar=True))
    for c in init_containers:
        if draw(st.integers(0, 5)):
            init_statuses.append(draw(container_status(c["name"])))
    names = ["app", "worker"][: draw(st.integers(1, 2))]
    statuses = [draw(container_status(n)) for n in names if draw(st.integers(0, 5))]
    deleting = draw(st.booleans())
    grace = draw(st.sampled_from([0, 1, 5, 30]))
    requested = draw(st.integers(100, 110))
    node = draw(st.sampled_from([None, "node-a-1", "node-b-2"]))
    return f.pod(
        uid=uid,
        resource_version=resource_version,
        node=node,
        pod_ips=draw(st.sampled_from([(), ("10.0.0.1",), ("10.0.0.2", "fd00::2")])),
        phase=draw(st.sampled_from(["Pending", "Running", "Succeeded", "Failed", "Unknown", ""])),
        reason=draw(st.sampled_from([None, "Evicted", "NodeLost", "DeadlineExceeded"])),
        message=draw(st.sampled_from([None, "The node was low on resource: memory."])),
        init_containers=init_containers,
        init_container_statuses=init_statuses,
        containers=[f.container(n) for n in names],
        container_statuses=statuses,
        conditions=draw(conditions()),
        readiness_gates=draw(st.sampled_from([(), ("example.com/lb",)])),
        deletion_timestamp=requested + grace if deleting else None,
        deletion_grace=grace if deleting else None,
    )
