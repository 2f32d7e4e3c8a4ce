"""The pure layout: domain objects in, coordinates and words out (no database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from lifecycle_dash.lifecycle import PodSnapshot, TimeSource, Transition, TransitionKind
from lifecycle_dash.web.swimlanes import GUTTER, WIDTH, Swimlanes, source_label, swimlanes

T = datetime(2026, 11, 21, 5, 0, tzinfo=UTC)


@dataclass
class Occ:
    sort_at: datetime
    at: datetime | None
    earliest: datetime | None = None
    latest: datetime | None = None
    type: str = "Warning"
    reason: str = "Unhealthy"
    container_name: str = "app"
    message: str = "Liveness probe failed"
    time_source: str = "event:lastTimestamp"


def state(seconds: float, new: str) -> Transition:
    at = T + timedelta(seconds=seconds)
    return Transition(
        pod_uid="u",
        kind=TransitionKind.CONTAINER_STATE,
        subject="app",
        old=None,
        new=new,
        observed_at=at,
        key=f"u|state|{seconds}",
        api_time=at,
        time_source=TimeSource.API,
    )


def layout(start_s: float, end_s: float, occurrences: list[Occ]) -> Swimlanes:
    return swimlanes(
        snapshot=PodSnapshot(uid="u"),
        transitions=[state(0, "waiting:ContainerCreating"), state(10, "running")],
        occurrences=occurrences,
        endpoints=[],
        gaps=[],
        first_observed_at=T,
        start=T + timedelta(seconds=start_s),
        end=T + timedelta(seconds=end_s),
        now=T + timedelta(seconds=100),
    )


def test_zooming_clips_segments_to_the_plot_and_drops_markers_outside() -> None:
    lanes = layout(
        5,
        50,
        [
            Occ(T + timedelta(seconds=20), T + timedelta(seconds=20)),
            Occ(T + timedelta(seconds=70), T + timedelta(seconds=70)),
        ],
    )
    (app,) = [lane for lane in lanes.lanes if lane.key == "ctr-app"]
    waiting, running = app.segments
    assert waiting.x == GUTTER
    assert running.x + running.width == pytest.approx(lanes.plot_right)
    assert running.label == "running"
    (marker,) = app.markers
    assert "Unhealthy (Warning) 05:00:20: Liveness probe failed" in marker.title


def test_an_occurrence_known_only_within_bounds_is_drawn_as_a_range() -> None:
    occ = Occ(T + timedelta(seconds=30), None, T + timedelta(seconds=20), T + timedelta(seconds=30))
    lanes = layout(0, 60, [occ])
    (app,) = [lane for lane in lanes.lanes if lane.key == "ctr-app"]
    (marker,) = app.markers
    assert marker.shape == "range"
    assert marker.x2 > marker.x
    assert "between 05:00:20 and 05:00:30" in marker.title


@pytest.mark.parametrize("span", [timedelta(seconds=30), timedelta(hours=5), timedelta(days=40)])
def test_ticks_stay_inside_the_plot_and_are_few(span: timedelta) -> None:
    lanes = swimlanes(
        snapshot=PodSnapshot(uid="u"),
        transitions=[],
        occurrences=[],
        endpoints=[],
        gaps=[],
        first_observed_at=T,
        start=T,
        end=T + span,
        now=T + span,
    )
    xs = [tick.x for tick in lanes.ticks]
    assert 2 <= len(xs) <= 9
    assert all(GUTTER <= x <= WIDTH for x in xs)
    assert xs == sorted(xs)


@pytest.mark.parametrize(
    ("rule", "label"),
    [
        (
            "api:deletionTimestamp-deletionGracePeriodSeconds",
            "API: deletionTimestamp \N{MINUS SIGN} grace",
        ),
        ("event:Killing.firstTimestamp", "event Killing"),
        ("observed:endpointslice receive time", "observed: EndpointSlice receive time"),
        ("estimate:killing (no preStop: the stop signal follows at once)", "estimate"),
        (
            "unknown:no Killing event for this container",
            "unknown: no Killing event for this container",
        ),
        ("api:metadata.creationTimestamp", "API: metadata.creationTimestamp"),
    ],
)
def test_every_value_names_its_source_in_words(rule: str, label: str) -> None:
    assert source_label(rule) == label


def test_thousands_of_changes_cost_at_most_one_element_per_pixel() -> None:
    flapping = [
        state(i * 0.5, "running" if i % 2 else "waiting:CrashLoopBackOff") for i in range(6000)
    ]
    probes = [Occ(T + timedelta(seconds=i), T + timedelta(seconds=i)) for i in range(3000)]
    lanes = swimlanes(
        snapshot=PodSnapshot(uid="u"),
        transitions=flapping,
        occurrences=probes,
        endpoints=[],
        gaps=[],
        first_observed_at=T,
        start=T,
        end=T + timedelta(hours=1),
        now=T + timedelta(hours=1),
    )
    (app,) = [lane for lane in lanes.lanes if lane.key == "ctr-app"]
    assert len(app.segments) < lanes.plot_width
    assert {seg.css for seg in app.segments} == {"st-dense", "st-running"}
    assert "changes here, too close to draw apart" in app.segments[0].title
    assert len(app.markers) < lanes.plot_width
    assert "more here: zoom in" in app.markers[0].title
