"""Server-side layout of the pod timeline: domain objects in, drawing primitives out.

Pure functions (no Django, no I/O): ``swimlanes`` turns a pod's transitions, event
occurrences, endpoint observations and unobserved intervals into lanes of segments and
markers with coordinates in a fixed-width SVG coordinate system; ``termination_waterfall`` and
``startup_waterfall`` turn the domain's analyses into rows on a shared scale. Templates only
draw what they receive (no arithmetic, no lifecycle rules in templates).

Colours are CSS classes (``st-running``, ``st-waiting``, ``st-bad`` ...), so the theme lives
in ``timeline.css``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from lifecycle_dash.lifecycle import (
    ContainerRole,
    PodSnapshot,
    Transition,
    TransitionKind,
    format_rfc3339,
)
from lifecycle_dash.lifecycle.derivation import TimePoint
from lifecycle_dash.lifecycle.endpoints import EndpointObservation
from lifecycle_dash.lifecycle.startup import StartupAnalysis
from lifecycle_dash.lifecycle.termination import (
    ContainerTermination,
    TerminationAnalysis,
    Verdict,
)

__all__ = [
    "CONDITION_TYPES",
    "VERDICT_WORDS",
    "Lane",
    "Marker",
    "Segment",
    "Shade",
    "Swimlanes",
    "Tick",
    "Waterfall",
    "WaterfallRow",
    "source_label",
    "startup_waterfall",
    "swimlanes",
    "termination_waterfall",
    "verdict_text",
]

WIDTH = 1100.0
GUTTER = 200.0  # lane labels
RIGHT = 16.0
AXIS_HEIGHT = 26.0
LANE_HEIGHT = 20.0
LANE_GAP = 6.0
GROUP_GAP = 10.0

CONDITION_TYPES = (
    "PodScheduled",
    "PodReadyToStartContainers",
    "Initialized",
    "ContainersReady",
    "Ready",
    "DisruptionTarget",
)

_TICK_STEPS = tuple(
    timedelta(seconds=s)
    for s in (
        1,
        2,
        5,
        10,
        15,
        30,
        60,
        120,
        300,
        600,
        900,
        1800,
        3600,
        7200,
        10800,
        21600,
        43200,
        86400,
        172800,
        604800,
        2592000,
        7776000,
        31536000,
    )
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CSS_UNSAFE = re.compile(r"[^a-z0-9-]+")


class Occurrence(Protocol):
    """What the layout needs of a stored event occurrence (``ingest.models.EventOccurrence``)."""

    sort_at: datetime
    at: datetime | None
    earliest: datetime | None
    latest: datetime | None
    type: str
    reason: str
    container_name: str
    message: str
    time_source: str


class Gap(Protocol):
    started_at: datetime
    ended_at: datetime
    resource: str
    reason: str


@dataclass(frozen=True, slots=True)
class Segment:
    x: float
    width: float
    css: str
    label: str  # drawn inside when it fits ("" = none)
    title: str  # tooltip

    @property
    def text_x(self) -> float:
        return self.x + 4


@dataclass(frozen=True, slots=True)
class Marker:
    x: float
    cy: float
    shape: str  # "diamond", "triangle", "bar", "range"
    points: str  # polygon points for diamond/triangle
    css: str
    title: str
    x2: float = 0.0  # end of a "range"


@dataclass(frozen=True, slots=True)
class Lane:
    key: str
    group: str  # "pod", "condition", "container", "endpoint", "events"
    label: str
    sublabel: str
    y: float
    height: float
    segments: tuple[Segment, ...] = ()
    markers: tuple[Marker, ...] = ()

    @property
    def text_y(self) -> float:
        return self.y + self.height * 0.7

    @property
    def bar_top(self) -> float:
        return self.y - 3

    @property
    def bar_bottom(self) -> float:
        return self.y + self.height + 3


@dataclass(frozen=True, slots=True)
class Shade:
    x: float
    width: float
    title: str


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True, slots=True)
class Swimlanes:
    start: datetime
    end: datetime
    width: float
    height: float
    gutter: float
    plot_right: float
    axis_y: float
    lanes: tuple[Lane, ...]
    shades: tuple[Shade, ...]
    ticks: tuple[Tick, ...]

    @property
    def plot_width(self) -> float:
        return self.plot_right - self.gutter

    @property
    def tick_y(self) -> float:
        return self.axis_y - 8

    @property
    def start_iso(self) -> str:
        return format_rfc3339(self.start)

    @property
    def end_iso(self) -> str:
        return format_rfc3339(self.end)


@dataclass(slots=True)
class _Scale:
    start: datetime
    end: datetime
    left: float
    right: float

    def x(self, at: datetime) -> float:
        span = (self.end - self.start).total_seconds()
        offset = (at - self.start).total_seconds()
        ratio = 0.0 if span <= 0 else offset / span
        return round(self.left + ratio * (self.right - self.left), 2)

    def clip(self, a: datetime, b: datetime) -> tuple[float, float] | None:
        if b < self.start or a > self.end:
            return None
        x1 = self.x(max(a, self.start))
        x2 = self.x(min(b, self.end))
        return x1, max(x2 - x1, 0.0)

    def inside(self, at: datetime) -> bool:
        return self.start <= at <= self.end


def _css(value: str) -> str:
    return _CSS_UNSAFE.sub("-", value.lower()).strip("-") or "none"


def _hms(at: datetime) -> str:
    return at.strftime("%H:%M:%S")


def _ticks(scale: _Scale) -> tuple[Tick, ...]:
    span = scale.end - scale.start
    step = next((s for s in _TICK_STEPS if span / s <= 9), _TICK_STEPS[-1])
    epoch = datetime(2000, 1, 1, tzinfo=scale.start.tzinfo)
    first = epoch + step * -(-(scale.start - epoch) // step)
    daily = span >= timedelta(days=1)
    ticks: list[Tick] = []
    at = first
    while at <= scale.end and len(ticks) < 40:
        label = at.strftime("%m-%d %H:%M") if daily else at.strftime("%H:%M:%S")
        # A centred label this close to the edge would be cut off by the SVG's border.
        if scale.x(at) <= scale.right - 26:
            ticks.append(Tick(scale.x(at), label))
        at += step
    return tuple(ticks)


def _segments(
    changes: Sequence[tuple[datetime, str | None, str, str, str]],
    scale: _Scale,
    until: datetime,
) -> tuple[Segment, ...]:
    """Step function -> segments. ``changes``: (at, value, css, label, title); None = absent."""
    out: list[Segment] = []
    dense = 0  # changes folded into out[-1] (a "st-dense" run), 0 = out[-1] is a plain one
    for index, (at, value, css, label, title) in enumerate(changes):
        if value is None:
            continue
        end = changes[index + 1][0] if index + 1 < len(changes) else until
        if end < at:
            continue
        clipped = scale.clip(at, end)
        if clipped is None:
            continue
        x, width = clipped
        # Changes narrower than a pixel are folded into one hatched run: a crash-looping pod's
        # thousands of states would otherwise cost thousands of invisible SVG elements.
        if (
            width < 1.0
            and out
            and out[-1].x + out[-1].width >= x - 0.5
            and (dense or out[-1].width <= 1.0)
        ):
            previous = out.pop()
            dense = (dense or 1) + 1
            right = max(previous.x + previous.width, x + width)
            out.append(
                Segment(
                    previous.x,
                    right - previous.x,
                    "st-dense",
                    "",
                    f"{dense} changes here, too close to draw apart: zoom in",
                )
            )
            continue
        dense = 0
        fits = width >= 7.0 * len(label) + 6
        out.append(Segment(x, max(width, 1.0), css, label if fits else "", title))
    return tuple(out)


def _thin(markers: Sequence[Marker]) -> tuple[Marker, ...]:
    """One marker per pixel and kind: more at the same spot only say how many there are."""
    kept: dict[tuple[int, str], Marker] = {}
    counts: dict[tuple[int, str], int] = {}
    for marker in markers:
        key = (int(marker.x), marker.css)
        counts[key] = counts.get(key, 0) + 1
        kept.setdefault(key, marker)
    return tuple(
        marker
        if counts[key] == 1
        else Marker(
            marker.x,
            marker.cy,
            marker.shape,
            marker.points,
            marker.css,
            f"{marker.title} (and {counts[key] - 1} more here: zoom in)",
            marker.x2,
        )
        for key, marker in kept.items()
    )


def _diamond(x: float, cy: float, r: float = 6.0) -> str:
    return f"{x},{cy - r} {x + r},{cy} {x},{cy + r} {x - r},{cy}"


def _triangle(x: float, cy: float, r: float = 6.0) -> str:
    return f"{x - r},{cy - r} {x + r},{cy - r} {x},{cy + r * 0.6}"


def _event_markers(
    occurrences: Iterable[Occurrence], scale: _Scale, cy: float
) -> tuple[Marker, ...]:
    out: list[Marker] = []
    for o in occurrences:
        warning = o.type == "Warning"
        css = f"ev ev-{'warning' if warning else 'normal'} ev-{_css(o.reason)}"
        when = (
            _hms(o.at)
            if o.at is not None
            else f"between {_hms(o.earliest) if o.earliest else '?'} and "
            f"{_hms(o.latest) if o.latest else '?'}"
        )
        title = f"{o.reason} ({o.type}) {when}: {o.message}"
        if o.at is None and o.earliest is not None and o.latest is not None:
            clipped = scale.clip(o.earliest, o.latest)
            if clipped is not None:
                x, width = clipped
                out.append(Marker(x, cy, "range", "", css, title, x2=x + max(width, 2.0)))
            continue
        if not scale.inside(o.sort_at):
            continue
        x = scale.x(o.sort_at)
        points = _diamond(x, cy) if warning else _triangle(x, cy, 5.0)
        out.append(Marker(x, cy, "diamond" if warning else "triangle", points, css, title))
    return tuple(out)


def _detail(t: Transition) -> Mapping[str, Any]:
    return t.detail or {}


def _container_state(t: Transition) -> tuple[str, str, str]:
    """(css, label, title) of a CONTAINER_STATE value."""
    value = t.new if isinstance(t.new, str) else ""
    kind, _, reason = value.partition(":")
    detail = _detail(t)
    if kind == "running":
        return "st-running", "running", f"running since {_hms(t.at)}"
    if kind == "waiting":
        label = f"waiting: {reason}" if reason else "waiting"
        bad = reason not in ("", "ContainerCreating", "PodInitializing")
        return ("st-waiting-bad" if bad else "st-waiting"), label, f"{label} since {_hms(t.at)}"
    if kind == "terminated":
        term = detail.get("terminated") or {}
        code = term.get("exit_code") if isinstance(term, Mapping) else None
        reason = reason.removeprefix("exit=")
        label = f"exit {code}" + (f" ({reason})" if reason and str(code) != reason else "")
        css = "st-terminated-ok" if code == 0 else "st-terminated-bad"
        return css, label, f"terminated {label} at {_hms(t.at)}"
    return "st-unknown", value or "unknown", value or "unknown"


def _restart_marker(t: Transition, scale: _Scale, cy: float) -> Marker | None:
    if not scale.inside(t.at):
        return None
    detail = _detail(t)
    last = detail.get("last_state")
    what = ""
    if isinstance(last, Mapping):
        what = f": exit {last.get('exit_code')}"
        if last.get("reason"):
            what += f" ({last.get('reason')})"
    elif detail.get("in_gap"):
        what = " (inside an unobserved interval: exit unknown)"
    x = scale.x(t.at)
    return Marker(x, cy, "bar", "", "restart", f"restart #{t.new}{what} at {_hms(t.at)}")


def _endpoint_value(o: EndpointObservation) -> tuple[str, str]:
    if o.removed:
        return "st-removed", "removed"
    if o.terminating:
        return "st-terminating", "terminating" + (" (serving)" if o.serving else "")
    if o.ready:
        return "st-ready", "ready"
    if o.serving:
        return "st-serving", "serving, not ready"
    return "st-not-ready", "not ready"


def _condition_value(t: Transition) -> tuple[str | None, str, str, str]:
    value = t.new if isinstance(t.new, str) else None
    reason = str(_detail(t).get("reason") or "")
    if value is None:
        return None, "", "", ""
    css = {"True": "st-true", "False": "st-false"}.get(value, "st-unknown")
    label = value + (f" ({reason})" if reason else "")
    return value, css, label, f"{t.subject}={label} since {_hms(t.at)}"


def swimlanes(
    *,
    snapshot: PodSnapshot,
    transitions: Sequence[Transition],
    occurrences: Sequence[Occurrence],
    endpoints: Sequence[EndpointObservation],
    gaps: Sequence[Gap],
    first_observed_at: datetime,
    start: datetime,
    end: datetime,
    now: datetime,
) -> Swimlanes:
    """Lanes for [start, end]: phase, conditions, containers, endpoints, events."""
    scale = _Scale(start, end, GUTTER, WIDTH - RIGHT)
    until = min(end, now)
    lanes: list[Lane] = []
    y = AXIS_HEIGHT + 4

    def add(key: str, group: str, label: str, sublabel: str, **parts: Any) -> None:
        nonlocal y
        if lanes and lanes[-1].group != group:
            y += GROUP_GAP
        lanes.append(Lane(key, group, label, sublabel, y, LANE_HEIGHT, **parts))
        y += LANE_HEIGHT + LANE_GAP

    by_kind: dict[TransitionKind, list[Transition]] = {}
    for t in transitions:
        by_kind.setdefault(t.kind, []).append(t)

    deleted = next(iter(by_kind.get(TransitionKind.DELETED, [])), None)
    lane_end = min(until, deleted.at) if deleted is not None else until

    phases = [
        (t.at, t.new if isinstance(t.new, str) else None, f"st-{_css(str(t.new))}", str(t.new), "")
        for t in by_kind.get(TransitionKind.PHASE, [])
    ]
    phases = [(a, v, c, lab, f"phase {lab} since {_hms(a)}") for a, v, c, lab, _ in phases]
    add("phase", "pod", "Phase", "", segments=_segments(phases, scale, lane_end))

    conditions: dict[str, list[Transition]] = {}
    for t in by_kind.get(TransitionKind.CONDITION, []):
        conditions.setdefault(t.subject, []).append(t)
    for type_ in (*CONDITION_TYPES, *sorted(set(conditions) - set(CONDITION_TYPES))):
        if type_ == "DisruptionTarget" and type_ not in conditions:
            continue
        changes = []
        for t in conditions.get(type_, []):
            value, css, label, title = _condition_value(t)
            changes.append((t.at, value, css, label, title))
        add(f"cond-{type_}", "condition", type_, "", segments=_segments(changes, scale, lane_end))

    roles: dict[str, str] = {}
    for status in snapshot.init_container_statuses:
        roles[status.name] = "sidecar" if status.role is ContainerRole.SIDECAR else "init"
    for spec in snapshot.init_containers:
        roles.setdefault(spec.name, "sidecar" if spec.role is ContainerRole.SIDECAR else "init")
    for status in snapshot.container_statuses:
        roles[status.name] = "container"
    for spec in snapshot.containers:
        roles.setdefault(spec.name, "container")
    states: dict[str, list[Transition]] = {}
    for t in by_kind.get(TransitionKind.CONTAINER_STATE, []):
        states.setdefault(t.subject, []).append(t)
        roles.setdefault(t.subject, str(_detail(t).get("role") or "container"))
    restarts: dict[str, list[Transition]] = {}
    for t in by_kind.get(TransitionKind.CONTAINER_RESTART, []):
        restarts.setdefault(t.subject, []).append(t)
    per_container: dict[str, list[Occurrence]] = {}
    pod_level: list[Occurrence] = []
    for o in occurrences:
        if o.container_name and o.container_name in roles:
            per_container.setdefault(o.container_name, []).append(o)
        else:
            pod_level.append(o)
    order = {"init": 0, "sidecar": 0, "container": 1}
    for name in sorted(roles, key=lambda n: order.get(roles[n], 1)):
        cy = y + LANE_HEIGHT / 2
        changes = []
        for t in states.get(name, []):
            css, label, title = _container_state(t)
            changes.append((t.at, t.new if isinstance(t.new, str) else None, css, label, title))
        markers = [m for m in (_restart_marker(t, scale, cy) for t in restarts.get(name, [])) if m]
        markers.extend(_event_markers(per_container.get(name, []), scale, cy))
        add(
            f"ctr-{name}",
            "container",
            name,
            roles[name],
            segments=_segments(changes, scale, lane_end),
            markers=_thin(markers),
        )

    services: dict[str, list[EndpointObservation]] = {}
    for obs in endpoints:
        services.setdefault(obs.service_name or obs.slice_name, []).append(obs)
    for service, observations in sorted(services.items()):
        changes = []
        for obs in observations:
            css, label = _endpoint_value(obs)
            title = f"{service}: {label} (observed {_hms(obs.observed_at)}, slice {obs.slice_name})"
            changes.append((obs.observed_at, label, css, label, title))
        add(
            f"ep-{service}",
            "endpoint",
            "Endpoint",
            service,
            segments=_segments(changes, scale, until),
        )

    add(
        "events",
        "events",
        "Events",
        "pod",
        markers=_thin(_event_markers(pod_level, scale, y + LANE_HEIGHT / 2)),
    )

    shades: list[Shade] = []
    before = scale.clip(start, first_observed_at)
    if before is not None and before[1] > 0:
        shades.append(Shade(before[0], before[1], "not observed yet (before the first watch)"))
    for gap in gaps:
        clipped = scale.clip(gap.started_at, gap.ended_at)
        if clipped is not None:
            shades.append(
                Shade(
                    clipped[0],
                    max(clipped[1], 2.0),
                    f"unobserved {gap.resource} {_hms(gap.started_at)} to {_hms(gap.ended_at)}: "
                    f"{gap.reason}",
                )
            )
    return Swimlanes(
        start=start,
        end=end,
        width=WIDTH,
        height=y + 4,
        gutter=GUTTER,
        plot_right=WIDTH - RIGHT,
        axis_y=AXIS_HEIGHT,
        lanes=tuple(lanes),
        shades=tuple(shades),
        ticks=_ticks(scale),
    )


VERDICT_WORDS: dict[Verdict, str] = {
    Verdict.SIGKILL_AFTER_GRACE: "SIGKILLed at the end of the grace period",
    Verdict.CLEAN_EXIT: "exited cleanly after SIGTERM",
    Verdict.SIGTERM_DEFAULT: "died of SIGTERM's default action (exit 143)",
    Verdict.OOM_KILLED: "OOM-killed while terminating",
    Verdict.UNKNOWN: "unknown",
}


def verdict_text(item: ContainerTermination) -> str:
    """The headline for a verdict; for ``unknown`` with the domain's reason after it."""
    if item.verdict is Verdict.UNKNOWN:
        reason = item.verdict_sentence.removeprefix(f"{item.name}: ")
        return f"unknown: {reason}"
    return VERDICT_WORDS[item.verdict]


def source_label(rule: str) -> str:
    """A short, human name for a derivation rule (the full rule goes in a tooltip)."""
    if rule.startswith("api:deletionTimestamp-deletionGracePeriodSeconds"):
        return "API: deletionTimestamp \N{MINUS SIGN} grace"
    if rule.startswith("event:Killing"):
        return "event Killing"
    if rule.startswith("observed:endpointslice"):
        return "observed: EndpointSlice receive time"
    if rule.startswith("observed:receive time of DELETED"):
        return "observed: DELETED receive time"
    if rule.startswith("api:state.terminated.finishedAt"):
        return "API: finishedAt"
    kind, _, rest = rule.partition(":")
    if kind == "estimate":
        return "estimate"
    if kind == "api":
        return f"API: {rest.split(' ')[0]}"
    if kind == "event":
        return f"event {rest.split(' ')[0].split('.')[0]}"
    if kind == "observed":
        return "observed: receive time"
    if kind == "unknown":
        return f"unknown: {rest}"
    return rule


# --- waterfalls ---------------------------------------------------------------------------

BAR_WIDTH = 440.0


@dataclass(frozen=True, slots=True)
class WaterfallRow:
    label: str
    value: str  # "+10.0 s" or "≈ +0.0…+1.0 s", "" when unknown
    detail: str  # e.g. "exit 137 (Error)"
    source: str  # short source name
    rule: str  # the full derivation rule (tooltip)
    known: bool
    estimate: bool
    x: float  # point (or range start)
    x2: float  # range end (== x for a point)
    css: str
    container: str = ""

    @property
    def range_width(self) -> float:
        return max(self.x2 - self.x, 3.0)


@dataclass(frozen=True, slots=True)
class Waterfall:
    title: str
    width: float
    rows: tuple[WaterfallRow, ...]
    budget_x: float = 0.0
    budget_width: float = 0.0
    budget_label: str = ""
    summary: tuple[tuple[str, str, str], ...] = ()  # (label, value, source)
    verdicts: tuple[tuple[str, str, str, str], ...] = ()  # (container, css, words, explanation)
    notes: tuple[str, ...] = ()
    ticks: tuple[Tick, ...] = field(default=())


def _offset(at: datetime, origin: datetime) -> str:
    seconds = (at - origin).total_seconds()
    sign = "+" if seconds >= 0 else "\N{MINUS SIGN}"
    return f"{sign}{abs(seconds):.1f} s"


class _WaterfallScale:
    def __init__(self, origin: datetime, last: datetime) -> None:
        self.origin = origin
        span = max((last - origin).total_seconds(), 1.0) * 1.08
        self.span = span

    def x(self, at: datetime) -> float:
        seconds = (at - self.origin).total_seconds()
        return round(max(0.0, min(seconds / self.span, 1.0)) * BAR_WIDTH, 2)

    def ticks(self) -> tuple[Tick, ...]:
        step = next(
            (s.total_seconds() for s in _TICK_STEPS if self.span / s.total_seconds() <= 8),
            _TICK_STEPS[-1].total_seconds(),
        )
        out: list[Tick] = []
        value = 0.0
        while value <= self.span:
            out.append(Tick(round(value / self.span * BAR_WIDTH, 2), f"+{value:g}s"))
            value += step
        return tuple(out)


def _source(rule: str) -> str:
    return source_label(rule)


def _row(
    label: str,
    point: TimePoint,
    scale: _WaterfallScale,
    *,
    css: str,
    detail: str = "",
    container: str = "",
    range_: bool = False,
) -> WaterfallRow:
    if range_ and point.earliest is not None:
        latest = point.latest or point.earliest
        value = (
            f"≈ {_offset(point.earliest, scale.origin)} … {_offset(latest, scale.origin)}"
            if latest != point.earliest
            else f"≈ {_offset(point.earliest, scale.origin)}"
        )
        return WaterfallRow(
            label,
            value,
            detail or "≈ estimate",
            "estimate",
            point.rule,
            True,
            True,
            scale.x(point.earliest),
            max(scale.x(latest), scale.x(point.earliest) + 3.0),
            css,
            container,
        )
    if point.at is None:
        return WaterfallRow(
            label,
            "",
            detail,
            _source(point.rule),
            point.rule,
            False,
            False,
            0.0,
            0.0,
            css,
            container,
        )
    x = scale.x(point.at)
    return WaterfallRow(
        label,
        _offset(point.at, scale.origin),
        detail,
        _source(point.rule),
        point.rule,
        True,
        point.estimate,
        x,
        x,
        css,
        container,
    )


def _verdict_css(item: ContainerTermination) -> str:
    return {
        Verdict.CLEAN_EXIT: "verdict-ok",
        Verdict.SIGTERM_DEFAULT: "verdict-warn",
        Verdict.SIGKILL_AFTER_GRACE: "verdict-bad",
        Verdict.OOM_KILLED: "verdict-bad",
    }.get(item.verdict, "verdict-unknown")


def termination_waterfall(analysis: TerminationAnalysis) -> Waterfall:
    """Deletion requested -> endpoint terminating/removed -> per container kill, SIGTERM
    (estimate range), exit, SIGKILL -> deleted, against the grace-period budget."""
    origin = analysis.started.at or analysis.deletion_observed.at
    known: list[datetime] = []
    for point in (
        analysis.started,
        analysis.endpoint_terminating,
        analysis.endpoint_removed,
        analysis.deleted,
    ):
        if point.at is not None:
            known.append(point.at)
    for c in analysis.containers:
        for point in (c.kill_started, c.sigterm, c.exited, c.expected_sigkill):
            known.extend(v for v in (point.at, point.earliest, point.latest) if v is not None)
    grace = analysis.grace_period.value
    if origin is None:
        origin = min(known) if known else _EPOCH
    last = max(known, default=origin)
    if grace is not None:
        last = max(last, origin + timedelta(seconds=grace))
    scale = _WaterfallScale(origin, last)
    rows: list[WaterfallRow] = [
        _row(
            "deletion requested" if analysis.deletion_requested.at else "termination started",
            analysis.started,
            scale,
            css="wf-request",
            detail=str(analysis.cause).replace("_", " "),
        ),
        _row("endpoint terminating", analysis.endpoint_terminating, scale, css="wf-endpoint"),
        _row("endpoint removed", analysis.endpoint_removed, scale, css="wf-endpoint"),
    ]
    verdicts: list[tuple[str, str, str, str]] = []
    for c in analysis.containers:
        name = c.name
        rows.append(
            _row(
                f"{name}: kill started (Killing)",
                c.kill_started,
                scale,
                css="wf-kill",
                container=name,
                detail=f"{c.kill_events} Killing event(s)" if c.kill_events else "",
            )
        )
        if c.pre_stop_kind:
            detail = f"preStop {c.pre_stop_kind}" + (
                f" {c.pre_stop_sleep_seconds}s" if c.pre_stop_sleep_seconds is not None else ""
            )
            if c.pre_stop_failed:
                detail += " (failed)"
        else:
            detail = "≈ estimate"
        rows.append(
            _row(
                f"{name}: SIGTERM",
                c.sigterm,
                scale,
                css="wf-sigterm",
                container=name,
                range_=True,
                detail=detail if c.pre_stop_kind else "≈ estimate",
            )
        )
        exit_detail = (
            f"exit {c.exit_code}" + (f" ({c.exit_reason})" if c.exit_reason else "")
            if c.exit_code is not None
            else "no final status"
        )
        rows.append(
            _row(
                f"{name}: exit",
                c.exited,
                scale,
                css="wf-exit-ok" if c.exit_code == 0 else "wf-exit-bad",
                container=name,
                detail=exit_detail,
            )
        )
        if c.verdict is Verdict.SIGKILL_AFTER_GRACE:
            rows.append(
                _row(
                    f"{name}: SIGKILL",
                    c.expected_sigkill,
                    scale,
                    css="wf-sigkill",
                    container=name,
                    range_=True,
                    detail="≈ estimate (no event records SIGKILL)",
                )
            )
        else:
            rows.append(
                WaterfallRow(
                    f"{name}: SIGKILL",
                    "",
                    "no SIGKILL" if c.verdict is not Verdict.UNKNOWN else "not determinable",
                    "",
                    c.expected_sigkill.rule,
                    False,
                    False,
                    0.0,
                    0.0,
                    "wf-sigkill",
                    name,
                )
            )
        verdicts.append((name, _verdict_css(c), verdict_text(c), c.verdict_sentence))
    rows.append(_row("deleted", analysis.deleted, scale, css="wf-deleted"))

    summary: list[tuple[str, str, str]] = [
        (
            "grace period",
            f"{grace:.0f} s" if grace is not None else "unknown",
            _source(analysis.grace_period.rule),
        ),
    ]
    for c in analysis.containers:
        if c.grace_used.value is not None:
            summary.append(
                (
                    f"{c.name}: deletion to exit (grace used)",
                    f"{c.grace_used.value:.1f} s",
                    c.grace_used.rule,
                )
            )
        if c.headroom.value is not None:
            summary.append((f"{c.name}: headroom", f"{c.headroom.value:.1f} s", c.headroom.rule))
    race = analysis.traffic_race
    summary.append(
        (
            "traffic race",
            "yes: traffic could still arrive after SIGTERM"
            if race
            else ("no" if race is False else "unknown"),
            analysis.traffic_race_rule,
        )
    )
    budget_width = 0.0
    budget_label = ""
    if grace is not None:
        budget_width = round(scale.x(origin + timedelta(seconds=grace)), 2)
        budget_label = f"grace period {grace:.0f} s"
    return Waterfall(
        title="Termination",
        width=BAR_WIDTH,
        rows=tuple(rows),
        budget_x=0.0,
        budget_width=budget_width,
        budget_label=budget_label,
        summary=tuple(summary),
        verdicts=tuple(verdicts),
        notes=analysis.notes,
        ticks=scale.ticks(),
    )


def startup_waterfall(analysis: StartupAnalysis) -> Waterfall:
    """created -> scheduled -> sandbox ready -> init containers -> image pulls -> containers
    started -> ready, with the pod-startup SLI."""
    origin = analysis.created.at
    points: list[datetime] = []
    for point in (
        analysis.created,
        analysis.scheduled,
        analysis.sandbox_ready,
        analysis.initialized,
        analysis.all_started,
        analysis.ready,
    ):
        if point.at is not None:
            points.append(point.at)
    for run in analysis.init_containers:
        points.extend(p for p in (run.started.at, run.finished.at) if p is not None)
    for pull in analysis.pulls:
        points.extend(p for p in (pull.started.at, pull.finished.at) if p is not None)
    if origin is None:
        origin = min(points) if points else _EPOCH
    scale = _WaterfallScale(origin, max(points, default=origin))
    rows = [
        _row("created", analysis.created, scale, css="wf-request"),
        _row("scheduled", analysis.scheduled, scale, css="wf-step"),
        _row("sandbox ready", analysis.sandbox_ready, scale, css="wf-step"),
    ]
    for run in analysis.init_containers:
        row = _row(
            f"init {run.name}" + (" (sidecar)" if run.sidecar else ""),
            run.started,
            scale,
            css="wf-init",
            container=run.name,
        )
        if run.finished.at is not None and row.known:
            row = WaterfallRow(
                row.label,
                f"{row.value} → {_offset(run.finished.at, origin)}",
                "",
                row.source,
                row.rule,
                True,
                False,
                row.x,
                max(scale.x(run.finished.at), row.x + 2.0),
                "wf-init",
                run.name,
            )
        rows.append(row)
    rows.append(_row("initialized", analysis.initialized, scale, css="wf-step"))
    for pull in analysis.pulls:
        detail = pull.image + ("" if pull.pulled else " (already present)")
        row = _row(f"pull for {pull.container}", pull.started, scale, css="wf-pull", detail=detail)
        if pull.finished.at is not None:
            start_x = row.x if row.known else scale.x(pull.finished.at)
            duration = pull.duration.value
            rows.append(
                WaterfallRow(
                    row.label,
                    _offset(pull.finished.at, origin)
                    + (f" ({duration:.1f} s)" if duration is not None else ""),
                    detail,
                    _source(pull.finished.rule),
                    pull.finished.rule,
                    True,
                    False,
                    start_x,
                    max(scale.x(pull.finished.at), start_x + 2.0),
                    "wf-pull",
                    pull.container,
                )
            )
        else:
            rows.append(row)
    for step in analysis.containers_started:
        rows.append(
            _row(
                f"{step.container} started",
                step.time,
                scale,
                css="wf-started",
                container=step.container,
            )
        )
    rows.append(_row("ready", analysis.ready, scale, css="wf-ready"))
    sli = analysis.api_sli
    summary = [
        (
            "pod startup (create → watch Running)",
            f"{sli.pod_startup.value:.1f} s" if sli.pod_startup.value is not None else "unknown",
            sli.pod_startup.rule,
        ),
        (
            "excluded (image pulls, init)",
            f"{sli.excluded.value:.1f} s" if sli.excluded.value is not None else "unknown",
            sli.excluded.rule,
        ),
        (
            "pod-startup SLI",
            (
                f"{sli.pod_startup_sli.value:.1f} s"
                + (
                    " (within the 5 s SLO)"
                    if sli.within_slo
                    else (" (over the 5 s SLO)" if sli.within_slo is False else "")
                )
            )
            if sli.pod_startup_sli.value is not None
            else "unknown",
            sli.pod_startup_sli.rule,
        ),
    ]
    return Waterfall(
        title="Startup",
        width=BAR_WIDTH,
        rows=tuple(rows),
        summary=tuple(summary),
        notes=analysis.notes,
        ticks=scale.ticks(),
    )
