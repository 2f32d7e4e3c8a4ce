"""Pod histories for the timeline and API tests, written through the real ingest processors.

Pods come from the shared pod factory (``tests/lifecycle/podfactory.py``), Events and
EndpointSlices are shaped as the kubelet and the endpointslice controller write them; every
object goes through ``ingest.processors`` (pods, events, endpointslices streams) exactly as a
watch would hand it over, so the timeline reads what production writes. Times are recent
(receive times must fall in the existing daily partitions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from lifecycle_dash.ingest.models import Cluster, WatchStream
from lifecycle_dash.ingest.processors import processor_for
from tests.lifecycle import podfactory as f

Json = dict[str, Any]
PULLED = (
    'Successfully pulled image "registry.example.com/team/app:1.4.2" in 1.2s '
    "(1.2s including waiting). Image size: 1000 bytes."
)


@dataclass(frozen=True)
class PodStory:
    uid: str
    namespace: str
    name: str
    base: datetime  # the pod's creationTimestamp
    grace: int
    requested_s: float | None  # deletion request, seconds after base
    exit_s: float | None  # container exit, seconds after base


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def event(
    story: PodStory,
    reason: str,
    message: str,
    at_s: float,
    *,
    container: str | None = "app",
    type_: str = "Normal",
    count: int = 1,
    first_s: float | None = None,
    component: str = "kubelet",
) -> Json:
    at = story.base + timedelta(seconds=at_s)
    first = story.base + timedelta(seconds=first_s if first_s is not None else at_s)
    field_path = f"spec.containers{{{container}}}" if container else ""
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{story.name}.{reason.lower()}{int(first.timestamp())}",
            "namespace": story.namespace,
            "uid": f"ev-{story.uid[:8]}-{reason.lower()}-{container or 'pod'}-{first:%H%M%S}",
            "resourceVersion": str(5000 + int(at_s * 10) + count),
            "creationTimestamp": _iso(first),
        },
        "involvedObject": {
            "kind": "Pod",
            "namespace": story.namespace,
            "name": story.name,
            "uid": story.uid,
            "apiVersion": "v1",
            **({"fieldPath": field_path} if field_path else {}),
        },
        "reason": reason,
        "message": message,
        "source": {"component": component, "host": "node-a-1"},
        "firstTimestamp": _iso(first),
        "lastTimestamp": _iso(at),
        "count": count,
        "type": type_,
        "eventTime": None,
        "reportingComponent": component,
        "reportingInstance": "node-a-1",
    }


def endpoint_slice(
    story: PodStory, *, rv: int, ready: bool, terminating: bool, present: bool = True
) -> Json:
    body: Json = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "web-8xk2p",
            "namespace": story.namespace,
            "uid": "3c0a1e2b-aaaa-4bbb-8ccc-0d0e0f101112",
            "resourceVersion": str(rv),
            "labels": {"kubernetes.io/service-name": "web"},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": [],
    }
    if present:
        body["endpoints"].append(
            {
                "addresses": ["10.244.1.17"],
                "conditions": {
                    "ready": ready,
                    "serving": not terminating or ready,
                    "terminating": terminating,
                },
                "targetRef": {
                    "kind": "Pod",
                    "namespace": story.namespace,
                    "name": story.name,
                    "uid": story.uid,
                },
                "nodeName": "node-a-1",
            }
        )
    return body


def _stream(cluster: Cluster, resource: str) -> WatchStream:
    stream, _ = WatchStream.objects.get_or_create(cluster=cluster, resource=resource)
    return WatchStream.objects.select_related("cluster").get(pk=stream.pk)


def feed(
    cluster: Cluster, resource: str, items: list[tuple[float, str, Json]], base: datetime
) -> None:
    """Hand (receive second, watch type, object) to the resource's processor and flush."""
    processor = processor_for(stream=_stream(cluster, resource), publisher=None)
    for received_s, event_type, obj in sorted(items, key=lambda item: item[0]):
        raw = orjson.dumps(obj)
        processor.handle(
            event_type=event_type,
            obj=orjson.loads(raw),
            raw_size=len(raw),
            received_at=base + timedelta(seconds=received_s),
        )
    processor.flush(resource_version=None)


def _seconds_since_t0(moment: datetime) -> float:
    return (moment - f.T0).total_seconds()


def sigkill_story(
    *,
    uid: str = "5a1e0000-0000-4000-8000-00000000beef",
    name: str = "web-7d9f8b6c5-sk1ll",
    exit_s: float = 50.0,
) -> PodStory:
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    return PodStory(uid, "shop", name, base, grace=10, requested_s=40.0, exit_s=exit_s)


def ingest_sigkill_pod(
    cluster: Cluster, story: PodStory, *, exit_code: int = 137, reason: str = "Error"
) -> None:
    """A Deployment pod deleted with grace 10 s at +40 s whose app exits at ``exit_s`` (by
    default: ignores SIGTERM, SIGKILLed with exit 137 at +50 s); endpoint terminating at
    +40.4 s and removed at +41 s, DELETED 1 s after the exit."""
    b = _seconds_since_t0(story.base)
    assert story.requested_s is not None
    assert story.exit_s is not None
    req, ex = story.requested_s, story.exit_s
    common: Json = {
        "uid": story.uid,
        "name": story.name,
        "namespace": story.namespace,
        "created": b,
    }
    pending = f.pending_unscheduled_pod(
        resource_version="100", conditions=f.standard_conditions(scheduled=False, at_=b), **common
    )
    scheduled = f.pod(
        resource_version="101",
        phase="Pending",
        container_statuses=[f.waiting("app", "ContainerCreating")],
        conditions=f.standard_conditions(ready=False, at_=b + 1, ready_at=b + 1),
        pod_ips=(),
        termination_grace=story.grace,
        **common,
    )
    running = f.pod(
        resource_version="102",
        container_statuses=[f.running("app", started_at=b + 4)],
        conditions=f.standard_conditions(at_=b + 1, ready_at=b + 6),
        termination_grace=story.grace,
        **common,
    )
    terminating = f.terminating_pod(
        resource_version="103",
        requested=b + req,
        grace=story.grace,
        container_statuses=[f.running("app", started_at=b + 4, ready=False)],
        conditions=f.standard_conditions(at_=b + 1, ready=False, ready_at=b + req + 1),
        **common,
    )
    exited = f.terminating_pod(
        resource_version="104",
        requested=b + req,
        grace=story.grace,
        phase="Failed",
        container_statuses=[
            f.terminated("app", exit_code, reason=reason, started_at=b + 4, finished_at=b + ex)
        ],
        conditions=f.standard_conditions(at_=b + 1, ready=False, ready_at=b + req + 1),
        **common,
    )
    gone = f.evolve(exited, lambda p: None, resource_version="105")
    feed(
        cluster,
        "pods",
        [
            (0.3, "ADDED", pending),
            (1.3, "MODIFIED", scheduled),
            (6.3, "MODIFIED", running),
            (req + 0.2, "MODIFIED", terminating),
            (ex + 0.4, "MODIFIED", exited),
            (ex + 1.0, "DELETED", gone),
        ],
        story.base,
    )
    events = [
        (
            1.2,
            event(
                story,
                "Scheduled",
                f"Successfully assigned shop/{story.name} to node-a-1",
                1,
                container=None,
                component="default-scheduler",
            ),
        ),
        (2.2, event(story, "Pulling", 'Pulling image "registry.example.com/team/app:1.4.2"', 2)),
        (
            3.2,
            event(
                story,
                "Pulled",
                PULLED,
                3,
            ),
        ),
        (4.2, event(story, "Created", "Created container app", 4)),
        (4.3, event(story, "Started", "Started container app", 4)),
        (
            20.2,
            event(
                story,
                "Unhealthy",
                "Readiness probe failed: HTTP probe failed with statuscode: 503",
                20,
                type_="Warning",
            ),
        ),
        (req + 0.3, event(story, "Killing", "Stopping container app", req)),
    ]
    feed(cluster, "events", [(s, "ADDED", obj) for s, obj in events], story.base)
    feed(
        cluster,
        "endpointslices",
        [
            (6.5, "ADDED", endpoint_slice(story, rv=200, ready=True, terminating=False)),
            (req + 0.4, "MODIFIED", endpoint_slice(story, rv=201, ready=False, terminating=True)),
            (
                req + 1.0,
                "MODIFIED",
                endpoint_slice(story, rv=202, ready=False, terminating=False, present=False),
            ),
        ],
        story.base,
    )


def running_story(
    *, uid: str = "7a1e0000-0000-4000-8000-0000000000a1", name: str = "api-5c6d7-r4nn1"
) -> PodStory:
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    return PodStory(uid, "shop", name, base, grace=30, requested_s=None, exit_s=None)


def ingest_running_pod(cluster: Cluster, story: PodStory) -> None:
    """A pod that started and runs (no termination)."""
    b = _seconds_since_t0(story.base)
    common: Json = {
        "uid": story.uid,
        "name": story.name,
        "namespace": story.namespace,
        "created": b,
    }
    feed(
        cluster,
        "pods",
        [
            (
                0.2,
                "ADDED",
                f.pending_unscheduled_pod(
                    resource_version="300",
                    conditions=f.standard_conditions(scheduled=False, at_=b),
                    **common,
                ),
            ),
            (
                5.2,
                "MODIFIED",
                f.pod(
                    resource_version="301",
                    container_statuses=[f.running("app", started_at=b + 4)],
                    conditions=f.standard_conditions(at_=b + 1, ready_at=b + 5),
                    **common,
                ),
            ),
        ],
        story.base,
    )
    feed(
        cluster,
        "events",
        [
            (
                1.1,
                "ADDED",
                event(
                    story,
                    "Scheduled",
                    "Successfully assigned",
                    1,
                    container=None,
                    component="default-scheduler",
                ),
            )
        ],
        story.base,
    )


def crashloop_story(
    *, uid: str = "c4a50000-0000-4000-8000-0000000000c1", name: str = "worker-6f7d8-cr4sh"
) -> PodStory:
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=4)
    return PodStory(uid, "shop", name, base, grace=30, requested_s=None, exit_s=None)


def ingest_crashloop_with_gap(cluster: Cluster, story: PodStory) -> None:
    """Running, then restart 1 (exit 1) at +20 s; the pods watch then loses its place (410
    Gone) and relists at +120..+122 s: restarts 2 and 3 happened unobserved."""
    b = _seconds_since_t0(story.base)
    common: Json = {
        "uid": story.uid,
        "name": story.name,
        "namespace": story.namespace,
        "created": b,
    }
    conditions = f.standard_conditions(at_=b + 1, ready=False, ready_at=b + 1)

    def looping(rv: str, restarts: int, finished: float) -> Json:
        return f.pod(
            resource_version=rv,
            container_statuses=[
                f.waiting(
                    "app",
                    "CrashLoopBackOff",
                    message="back-off 10s restarting failed container=app",
                    restart_count=restarts,
                    last_terminated=f.term(1, started=b + finished - 5, finished=b + finished),
                    container_id="containerd://4f3c2b1a0099",
                )
            ],
            conditions=conditions,
            **common,
        )

    processor = processor_for(stream=_stream(cluster, "pods"), publisher=None)

    def handle(received_s: float, event_type: str, obj: Json) -> None:
        raw = orjson.dumps(obj)
        processor.handle(
            event_type=event_type,
            obj=orjson.loads(raw),
            raw_size=len(raw),
            received_at=story.base + timedelta(seconds=received_s),
        )

    running = f.pod(
        resource_version="400",
        container_statuses=[f.running("app", started_at=b + 4, ready=False)],
        conditions=conditions,
        **common,
    )
    handle(4.5, "ADDED", running)
    processor.flush(resource_version=None)
    handle(20.5, "MODIFIED", looping("401", 1, 20))
    processor.flush(resource_version=None)
    processor.begin_relist(started_at=story.base + timedelta(seconds=120), reason="410 Gone")
    handle(121, "ADDED", looping("420", 3, 110))
    processor.end_relist(
        list_resource_version="420", finished_at=story.base + timedelta(seconds=122)
    )
    processor.flush(resource_version="420")
    feed(
        cluster,
        "events",
        [
            (
                25.0,
                "ADDED",
                event(
                    story,
                    "BackOff",
                    "Back-off restarting failed container app",
                    25,
                    type_="Warning",
                ),
            )
        ],
        story.base,
    )


def evicted_story(
    *, uid: str = "e71c0000-0000-4000-8000-0000000000e1", name: str = "cache-7c8d9-ev1ct"
) -> PodStory:
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    return PodStory(uid, "shop", name, base, grace=30, requested_s=None, exit_s=60.0)


def ingest_evicted_pod(cluster: Cluster, story: PodStory) -> None:
    """Running, then evicted by the kubelet for memory pressure at +50 s (exit 137 at +60 s)."""
    b = _seconds_since_t0(story.base)
    common: Json = {
        "uid": story.uid,
        "name": story.name,
        "namespace": story.namespace,
        "created": b,
    }
    running = f.pod(
        resource_version="500",
        container_statuses=[f.running("app", started_at=b + 4)],
        conditions=f.standard_conditions(at_=b + 1, ready_at=b + 6),
        **common,
    )
    evicted = f.pod(
        resource_version="501",
        phase="Failed",
        reason="Evicted",
        message="The node was low on resource: memory.",
        container_statuses=[
            f.terminated("app", 137, reason="Error", started_at=b + 4, finished_at=b + 60)
        ],
        conditions=f.standard_conditions(at_=b + 1, ready=False, ready_at=b + 50),
        **common,
    )
    feed(cluster, "pods", [(6.5, "ADDED", running), (60.5, "MODIFIED", evicted)], story.base)
    feed(
        cluster,
        "events",
        [
            (
                50.3,
                "ADDED",
                event(
                    story,
                    "Evicted",
                    "The node was low on resource: memory. Threshold quantity: 100Mi.",
                    50,
                    container=None,
                    type_="Warning",
                ),
            ),
            (50.4, "ADDED", event(story, "Killing", "Stopping container app", 50)),
        ],
        story.base,
    )
