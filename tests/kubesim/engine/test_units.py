"""Annotation parsing, value languages, and the legacy recorder's aggregation."""

from __future__ import annotations

import asyncio

import pytest

from lifecycle_dash.kubesim.clock import SimClock
from lifecycle_dash.kubesim.engine.behaviour import parse_pod_behaviour, valid_image_reference
from lifecycle_dash.kubesim.engine.recorder import Recorder
from lifecycle_dash.kubesim.engine.timeline import Timeline
from lifecycle_dash.kubesim.engine.units import go_duration, parse_duration, parse_quantity
from lifecycle_dash.kubesim.store import Store

P = "kubesim.lifecycle-dash.io/"


def test_container_and_pod_annotations_are_parsed():
    behaviour = parse_pod_behaviour(
        {
            P + "app.crash-after": "30s",
            P + "app.ready-after": "1.5",
            P + "sidecar.ignore-sigterm": "true",
            P + "schedule-delay": "2m",
            "other.io/ignored": "x",
        }
    )
    assert behaviour.container("app").exit_after == 30
    assert behaviour.container("app").exit_code == 1  # crash-after implies a failure
    assert behaviour.container("app").ready_after == 1.5
    assert behaviour.container("sidecar").ignore_sigterm is True
    assert behaviour.container("unknown").ignore_sigterm is False
    assert behaviour.schedule_delay == 120


def test_exit_after_defaults_to_success_and_bad_values_are_ignored():
    behaviour = parse_pod_behaviour(
        {P + "job.exit-after": "5", P + "job.oom-after": "soon", P + "job.bogus": "1"}
    )
    assert behaviour.container("job").exit_after == 5
    assert behaviour.container("job").exit_code == 0
    assert behaviour.container("job").oom_after is None


def test_sigterm_exit_code_defaults_follow_the_shutdown_time():
    fast = parse_pod_behaviour({}).container("app")
    slow = parse_pod_behaviour({P + "app.shutdown-seconds": "3"}).container("app")
    assert fast.sigterm_exit_code == 143
    assert slow.sigterm_exit_code == 0


@pytest.mark.parametrize(
    ("image", "valid"),
    [
        ("nginx", True),
        ("nginx:1.27", True),
        ("registry.k8s.io/pause:3.10", True),
        ("localhost:5000/a/b:tag", True),
        ("Nginx:1.27", False),
        ("nginx:", False),
        ("nginx::1", False),
    ],
)
def test_image_reference_validation(image, valid):
    assert valid_image_reference(image) is valid


def test_value_languages():
    assert parse_duration("500ms") == 0.5
    assert parse_duration(7) == 7
    assert parse_quantity("250m") == 0.25
    assert parse_quantity("1Gi") == 1024**3
    assert [go_duration(s) for s in (10, 80, 300)] == ["10s", "1m20s", "5m0s"]
    with pytest.raises(ValueError, match="duration"):
        parse_duration("soon")


def test_identical_legacy_events_are_one_object_with_a_count():
    async def scenario():
        clock = SimClock(speed=1000)
        store = Store(clock)
        timeline = Timeline(clock)
        timeline.start()
        recorder = Recorder(store, timeline)
        pod = store.create("pods", {"metadata": {"name": "p"}, "spec": {"containers": []}})
        for message in ("same", "same", "different"):
            recorder.legacy(
                pod,
                type_="Warning",
                reason="BackOff",
                message=message,
                component="kubelet",
                host="node-1",
                field_path="spec.containers{app}",
            )
        timeline.stop()
        return store.list("events", "default")

    events = sorted(asyncio.run(scenario()), key=lambda e: e["message"])
    assert [(e["message"], e["count"]) for e in events] == [("different", 1), ("same", 2)]


def test_an_unknown_option_or_scenario_is_refused_up_front():
    from lifecycle_dash.kubesim.engine import Simulation

    clock = SimClock()
    store = Store(clock)
    with pytest.raises(ValueError, match="podz"):
        Simulation(store, clock, scenario="scale", podz="5")
    with pytest.raises(ValueError, match="unknown scenario"):
        Simulation(store, clock, scenario="chaos")
    sim = Simulation(store, clock, scenario="scale", pods="10", endpoint_delay="2")
    assert sim.ctx.options.endpoint_delay == 2.0
