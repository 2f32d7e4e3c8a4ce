from __future__ import annotations

from typing import Any

import pytest

from lifecycle_dash.lifecycle.diff import diff
from lifecycle_dash.lifecycle.events import event_from_raw
from lifecycle_dash.lifecycle.snapshot import snapshot_from_pod
from lifecycle_dash.lifecycle.startup import SLO_SECONDS, analyze_startup
from lifecycle_dash.lifecycle.transitions import Transition
from tests.lifecycle import podfactory as f
from tests.lifecycle.test_events import kubelet_event, scheduler_event

UID = "3f1e6a52-8c1b-4d7e-9a0f-2b4c6d8e0f11"


def history(*observations: tuple[float, dict[str, Any]]):
    """Transitions from core's diff over snapshots observed at the given seconds."""
    transitions: list[Transition] = []
    before = None
    for observed_s, raw in observations:
        after = snapshot_from_pod(raw)
        transitions += diff(before, after, observed_at=f.at(observed_s))
        before = after
    assert before is not None
    return before, transitions


def k_event(reason: str, message: str, at_s: float, container: str = "app", init: bool = False):
    return event_from_raw(
        kubelet_event(reason, message, at=f.at(at_s), container=container, init=init, pod_uid=UID)
    )


def scheduled_event(at_s: float):
    raw = scheduler_event("Scheduled", "Successfully assigned shop/web to node-a-1", at=f.at(at_s))
    raw["involvedObject"]["uid"] = UID
    return event_from_raw(raw)


PENDING_UNSCHEDULED = f.pending_unscheduled_pod()
PENDING_CREATING = f.pod(
    phase="Pending",
    pod_ips=(),
    container_statuses=[f.waiting("app", "ContainerCreating")],
    conditions=[
        f.condition("PodReadyToStartContainers", "False", at_=1),
        f.condition("Initialized", "True", at_=1),
        f.condition("Ready", "False", reason="ContainersNotReady", at_=1),
        f.condition("ContainersReady", "False", reason="ContainersNotReady", at_=1),
        f.condition("PodScheduled", "True", at_=1),
    ],
)
RUNNING_UNREADY = f.pod(
    container_statuses=[f.running("app", started_at=4, ready=False, started=True)],
    conditions=f.standard_conditions(ready=False, at_=1),
)
RUNNING_READY = f.pod(
    container_statuses=[f.running("app", started_at=4)],
    conditions=[
        f.condition("PodReadyToStartContainers", "True", at_=2),
        f.condition("Initialized", "True", at_=1),
        f.condition("Ready", "True", at_=6),
        f.condition("ContainersReady", "True", at_=6),
        f.condition("PodScheduled", "True", at_=1),
    ],
)

PULL_EVENTS = [
    k_event("Pulling", 'Pulling image "registry.example.com/team/app:1.4.2"', 1),
    k_event(
        "Pulled",
        'Successfully pulled image "registry.example.com/team/app:1.4.2" in 1.8s '
        "(2.1s including waiting). Image size: 48213342 bytes.",
        3,
    ),
    k_event("Created", "Created container: app", 3),
    k_event("Started", "Started container app", 4),
]


def simple_startup():
    pod, transitions = history(
        (0.2, PENDING_UNSCHEDULED),
        (1.1, PENDING_CREATING),
        (4.3, RUNNING_UNREADY),
        (6.2, RUNNING_READY),
    )
    return analyze_startup(
        pod=pod, transitions=transitions, events=[scheduled_event(0.9), *PULL_EVENTS]
    )


def test_each_step_has_a_time_and_a_source():
    result = simple_startup()

    assert result.created.at == f.at(0)
    assert result.created.rule == "api:metadata.creationTimestamp"
    assert result.scheduled.at == f.at(0.9)
    assert result.scheduled.rule == "event:Scheduled.eventTime"
    assert result.sandbox_ready.at == f.at(2)
    assert result.sandbox_ready.rule == "api:PodReadyToStartContainers.lastTransitionTime"
    assert result.all_started.at == f.at(4)
    assert result.running_observed.at == f.at(4.3)
    assert result.running_observed.rule.startswith("observed:")
    assert result.ready.at == f.at(6)
    assert result.ready_observed.at == f.at(6.2)
    steps = [s.step for s in result.steps]
    assert steps == [
        "created",
        "scheduled",
        "sandbox_ready",
        "pull_started",
        "pulled",
        "container_started",
        "all_started",
        "running_observed",
        "ready",
    ]


def test_the_pull_duration_comes_from_the_pulled_message():
    [pull] = simple_startup().pulls

    assert pull.container == "app"
    assert pull.image == "registry.example.com/team/app:1.4.2"
    assert pull.pulled
    assert pull.started.at == f.at(1)
    assert pull.finished.at == f.at(3)
    assert pull.duration.value == pytest.approx(1.8)
    assert pull.duration.rule == "event:Pulled message duration"
    assert pull.duration_including_waiting.value == pytest.approx(2.1)
    assert pull.interval() == (f.at(0.9), f.at(3))


def test_api_sli_matches_clusterloader2_before_march_2026_and_excludes_the_pull():
    sli = simple_startup().api_sli

    assert sli.variant == "api"
    assert sli.create_to_schedule.value == pytest.approx(0.9)
    assert sli.schedule_to_run.value == pytest.approx(3.1)
    assert sli.run_to_watch.value == pytest.approx(0.3)
    assert sli.create_to_run.value == pytest.approx(4.0)
    assert sli.pod_startup.value == pytest.approx(4.3)
    assert sli.excluded.value == pytest.approx(2.1)
    assert sli.pod_startup_sli.value == pytest.approx(2.2)
    assert sli.within_slo is True


def test_watch_sli_uses_receive_times_only():
    result = simple_startup()
    sli = result.watch_sli

    assert sli is not None
    assert sli.create.at == f.at(0.2)
    assert sli.schedule.at == f.at(1.1)
    assert sli.run.at == sli.watch.at == f.at(4.3)
    assert sli.pod_startup.value == pytest.approx(4.1)
    assert sli.run_to_watch.value == 0
    assert sli.pod_startup_sli.value == pytest.approx(2.0)


def test_the_watch_variant_needs_the_pod_seen_before_it_ran():
    pod, transitions = history((50, RUNNING_READY))

    result = analyze_startup(pod=pod, transitions=transitions, events=PULL_EVENTS)

    assert result.watch_sli is None
    assert "first observed already Running" in result.watch_sli_rule
    assert result.api_sli.pod_startup.value == pytest.approx(50)
    assert result.api_sli.create_to_run.value == pytest.approx(4)


def test_slow_start_misses_the_slo():
    slow = f.pod(
        container_statuses=[f.running("app", started_at=9)], conditions=f.standard_conditions()
    )
    pod, transitions = history((0.1, PENDING_UNSCHEDULED), (9.4, slow))

    result = analyze_startup(pod=pod, transitions=transitions)

    value = result.api_sli.pod_startup_sli.value
    assert value == pytest.approx(9.4)
    assert value is not None
    assert value > SLO_SECONDS
    assert result.api_sli.within_slo is False
    assert result.scheduled.rule == "api:PodScheduled.lastTransitionTime"


def test_an_image_already_present_excludes_nothing():
    present = k_event(
        "Pulled",
        'Container image "registry.example.com/team/app:1.4.2" already present on machine',
        2,
    )
    pod, transitions = history((0.2, PENDING_UNSCHEDULED), (4.3, RUNNING_READY))

    result = analyze_startup(pod=pod, transitions=transitions, events=[present])

    [pull] = result.pulls
    assert not pull.pulled
    assert pull.interval() is None
    assert result.api_sli.excluded.value == 0


def test_a_pull_without_duration_falls_back_to_event_times():
    events = [
        k_event("Pulling", 'Pulling image "nginx:1.27"', 1),
        k_event("Pulled", 'Successfully pulled image "nginx:1.27"', 3),
    ]
    pod, transitions = history((0.2, PENDING_UNSCHEDULED), (4.3, RUNNING_READY))

    [pull] = analyze_startup(pod=pod, transitions=transitions, events=events).pulls

    assert pull.duration.value == 2
    assert pull.duration.rule == "event:Pulled time - Pulling time"
    assert pull.interval() == (f.at(1), f.at(3))


def test_init_containers_are_timed_and_excluded_from_the_sli_once():
    init_pod = f.sidecar_pod(
        container_statuses=[f.running("app", started_at=12)],
        init_container_statuses=[
            f.terminated("init-db", 0, started_at=3, finished_at=8),
            f.running("istio-proxy", started_at=9, image="registry.example.com/mesh/proxy:1.22"),
        ],
        conditions=[
            f.condition("PodReadyToStartContainers", "True", at_=2),
            f.condition("Initialized", "True", at_=10),
            f.condition("Ready", "True", at_=13),
            f.condition("ContainersReady", "True", at_=13),
            f.condition("PodScheduled", "True", at_=1),
        ],
    )
    pending = f.sidecar_pod(
        phase="Pending",
        container_statuses=[f.waiting("app", "PodInitializing")],
        init_container_statuses=[
            f.waiting("init-db", "PodInitializing"),
            f.waiting("istio-proxy", "PodInitializing"),
        ],
        conditions=[f.condition("PodScheduled", "True", at_=1)],
    )
    events = [
        k_event(
            "Pulling",
            'Pulling image "registry.example.com/team/migrate:2.0.0"',
            2,
            "init-db",
            init=True,
        ),
        k_event(
            "Pulled",
            'Successfully pulled image "registry.example.com/team/migrate:2.0.0" in 900ms '
            "(900ms including waiting). Image size: 1 bytes.",
            3,
            "init-db",
            init=True,
        ),
        # The app image pull overlaps the init phase: counted once.
        k_event("Pulling", 'Pulling image "registry.example.com/team/app:1.4.2"', 9),
        k_event(
            "Pulled",
            'Successfully pulled image "registry.example.com/team/app:1.4.2" in 2s '
            "(2s including waiting). Image size: 1 bytes.",
            11,
        ),
    ]
    pod, transitions = history((0.3, pending), (12.5, init_pod))

    result = analyze_startup(pod=pod, transitions=transitions, events=events)

    init_db, proxy = result.init_containers
    assert (init_db.started.at, init_db.finished.at) == (f.at(3), f.at(8))
    assert [(p.container, p.init_container) for p in result.pulls] == [
        ("app", False),
        ("init-db", True),
    ]
    assert proxy.sidecar
    assert proxy.started.at == f.at(9)
    assert proxy.finished.at is None
    assert result.initialized.at == f.at(10)
    # init phase [2, 10] (first init pull .. Initialized) + app pull [9, 11] -> union [2, 11]
    assert result.api_sli.excluded.value == pytest.approx(9)
    assert result.api_sli.pod_startup.value == pytest.approx(12.5)
    assert result.api_sli.pod_startup_sli.value == pytest.approx(3.5)
    assert [s.step for s in result.steps][3:8] == [
        "init_started",
        "init_finished",
        "init_started",
        "initialized",
        "pull_started",
    ]


def test_restarts_make_startup_times_upper_bounds_and_say_so():
    pod = snapshot_from_pod(f.crashloop_pod())

    result = analyze_startup(pod=pod)

    assert any("restarted 5 times" in n for n in result.notes)
    assert result.all_started.at is None
    assert result.api_sli.within_slo is None
    assert result.watch_sli is None


def test_the_analysis_serializes_for_storage():
    import orjson

    record = orjson.loads(orjson.dumps(simple_startup()))

    assert record["api_sli"]["pod_startup_sli"]["value"] == pytest.approx(2.2)
    assert record["pulls"][0]["duration"]["rule"] == "event:Pulled message duration"
