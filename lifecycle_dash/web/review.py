"""Incident review for the web: the window's parameters, and what the pages display.

``parse_review_query`` reads ``from``/``to`` (RFC 3339, ``now`` or relative like ``-1h``, the
timeline's parser), the dashboard's filters that make sense over history (``cluster``,
``namespace``, ``selector``, ``owner``) and, for time travel, ``t``. Anything invalid raises
``FilterError`` naming the parameter (a 400 page, or the API's 400 JSON).

The grouping itself is the domain's (``lifecycle.review``); this module only turns its groups
into display rows (pod links zoomed to the window) and the window chart into SVG geometry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from lifecycle_dash.lifecycle import format_rfc3339
from lifecycle_dash.lifecycle.review import CauseGroup, Segment, StatusClass
from lifecycle_dash.web.filters import FilterError, PodFilter, parse_pod_filter
from lifecycle_dash.web.views_pod import InvalidParameter, parse_time

__all__ = [
    "DEFAULT_SPAN",
    "MAX_SPAN",
    "REVIEW_FILTERS",
    "Chart",
    "ChartLane",
    "ChartRect",
    "GroupView",
    "LaneInput",
    "PodLink",
    "ReviewQuery",
    "WorkloadView",
    "build_chart",
    "diagnoses_views",
    "group_views",
    "instant",
    "parse_review_query",
    "pod_href",
]

DEFAULT_SPAN = timedelta(hours=1)
# Longer windows would read days of history per request; narrow the window instead.
MAX_SPAN = timedelta(days=7)
REVIEW_FILTERS = ("cluster", "namespace", "selector", "owner")


@dataclass(frozen=True, slots=True)
class ReviewQuery:
    start: datetime
    end: datetime
    pod_filter: PodFilter
    at: datetime | None = None
    # The parameters as given, for the form.
    given: Mapping[str, str] = field(default_factory=dict, hash=False)

    def params(self, **overrides: str | None) -> dict[str, str]:
        """Absolute from/to plus filters: a link that means the same thing tomorrow."""
        values: dict[str, str] = {
            "from": format_rfc3339(self.start),
            "to": format_rfc3339(self.end),
        }
        values.update(dict(self.pod_filter.params))
        if self.at is not None:
            values["t"] = format_rfc3339(self.at)
        for name, value in overrides.items():
            if value:
                values[name] = value
            else:
                values.pop(name, None)
        return values

    def querystring(self, **overrides: str | None) -> str:
        return urlencode(self.params(**overrides))

    @property
    def window_query(self) -> str:
        """from/to only: the pod timeline's zoom."""
        return urlencode({"from": format_rfc3339(self.start), "to": format_rfc3339(self.end)})

    @property
    def filters_text(self) -> str:
        parts = [f"{k}={v}" for k, v in self.pod_filter.params if k in REVIEW_FILTERS]
        return ", ".join(parts) if parts else "all clusters and namespaces"


def _time(params: Mapping[str, Any], name: str, *, now: datetime) -> datetime | None:
    raw = params.get(name) or ""
    if not str(raw).strip():
        return None
    try:
        return parse_time(str(raw), parameter=name, now=now)
    except InvalidParameter as error:
        raise FilterError(name, error.message.removeprefix(f"{name}: ")) from None


def parse_review_query(
    params: Mapping[str, Any], *, now: datetime, need_at: bool = False
) -> ReviewQuery:
    """The review's window and filters; ``need_at`` makes ``t`` (the instant) default to now."""
    start = _time(params, "from", now=now)
    end = _time(params, "to", now=now)
    at = _time(params, "t", now=now)
    if at is not None and start is None and end is None:
        # An instant alone: the window around it (its steps and the way back to the review).
        start, end = at - DEFAULT_SPAN / 2, min(now, at + DEFAULT_SPAN / 2)
        if end <= start:
            start, end = at - DEFAULT_SPAN, at
    if end is None:
        end = now if start is None or start < now else start + DEFAULT_SPAN
    if start is None:
        start = end - DEFAULT_SPAN
    if end <= start:
        raise FilterError("to", "must be later than from")
    if end - start > MAX_SPAN:
        raise FilterError("from", "the window may span at most 7 days; narrow it")
    if need_at and at is None:
        at = min(end, now)
    subset = {name: params.get(name, "") for name in REVIEW_FILTERS}
    getlist = getattr(params, "getlist", None)
    for name in REVIEW_FILTERS:
        if getlist is not None and len(getlist(name)) > 1:
            raise FilterError(name, "may be given only once")
    pod_filter = parse_pod_filter(subset, allow_cursor=False)
    given = {name: str(params.get(name, "") or "") for name in ("from", "to", "t", *REVIEW_FILTERS)}
    return ReviewQuery(
        start.astimezone(UTC),
        end.astimezone(UTC),
        pod_filter,
        at.astimezone(UTC) if at else None,
        given,
    )


def pod_href(uid: str, query: ReviewQuery) -> str:
    return f"/pods/{uid}/?{query.window_query}"


@dataclass(frozen=True, slots=True)
class PodLink:
    uid: str
    label: str
    href: str


@dataclass(frozen=True, slots=True)
class Instant:
    """A time as the page prints it: RFC 3339 for ``<time datetime>``, HH:MM:SS to read."""

    iso: str
    hms: str


def instant(moment: datetime | None) -> Instant | None:
    if moment is None:
        return None
    iso = format_rfc3339(moment.replace(microsecond=0))
    return Instant(iso, iso[11:19])


@dataclass(frozen=True, slots=True)
class WorkloadView:
    namespace: str
    label: str
    count: int
    first: Instant | None
    last: Instant | None
    pods: list[PodLink]
    more_pods: int


@dataclass(frozen=True, slots=True)
class GroupView:
    key: str
    title: str
    explanation: str
    next_step: str
    count: int
    pod_count: int
    first: Instant | None
    last: Instant | None
    workloads: list[WorkloadView]
    more_workloads: int


# The page lists this many workloads per cause and pods per workload; exports list all.
SHOWN_WORKLOADS = 25
SHOWN_PODS = 12


def group_views(
    groups: Sequence[CauseGroup], *, names: Mapping[str, str], query: ReviewQuery
) -> list[GroupView]:
    """The domain's groups with a link per pod (its timeline zoomed to the window)."""
    zoom = query.window_query

    def link(uid: str) -> PodLink:
        return PodLink(uid, names.get(uid, uid), f"/pods/{uid}/?{zoom}")

    return [
        GroupView(
            key=g.key,
            title=g.title,
            explanation=g.explanation,
            next_step=g.next_step,
            count=g.count,
            pod_count=len(g.pod_uids),
            first=instant(g.first),
            last=instant(g.last),
            workloads=[
                WorkloadView(
                    w.namespace,
                    w.label,
                    w.count,
                    instant(w.first),
                    instant(w.last),
                    [link(uid) for uid in w.pod_uids[:SHOWN_PODS]],
                    max(0, len(w.pod_uids) - SHOWN_PODS),
                )
                for w in g.workloads[:SHOWN_WORKLOADS]
            ],
            more_workloads=max(0, len(g.workloads) - SHOWN_WORKLOADS),
        )
        for g in groups
    ]


# --- the window chart ----------------------------------------------------------------------

CHART_WIDTH = 1000.0  # SVG user units; the SVG scales to the page width
LANE_HEIGHT = 14.0
LANE_GAP = 4.0
HEADER_HEIGHT = 20.0
WORKLOAD_GAP = 18.0


@dataclass(frozen=True, slots=True)
class LaneInput:
    uid: str
    name: str
    namespace: str
    workload: str
    segments: Sequence[Segment]


@dataclass(frozen=True, slots=True)
class ChartRect:
    # SVG numbers as text: a template would run every float through number localisation.
    x: str
    width: str
    css: StatusClass
    title: str


@dataclass(frozen=True, slots=True)
class ChartLane:
    uid: str
    name: str
    href: str
    y: str
    rects: list[ChartRect]


@dataclass(frozen=True, slots=True)
class ChartWorkload:
    label: str
    label_y: str
    lanes: list[ChartLane]


@dataclass(frozen=True, slots=True)
class ChartTick:
    x: str
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: float
    height: float
    start_iso: str
    end_iso: str
    workloads: list[ChartWorkload]
    ticks: list[ChartTick]
    gaps: list[ChartRect]
    lane_height: float = LANE_HEIGHT
    legend: tuple[StatusClass, ...] = tuple(StatusClass)


_TICK_STEPS = (10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def build_chart(
    *,
    lanes: Sequence[LaneInput],
    start: datetime,
    end: datetime,
    gaps: Sequence[tuple[datetime, datetime]] = (),
    query: ReviewQuery,
) -> Chart:
    span = (end - start).total_seconds()

    def x(moment: datetime) -> float:
        return round(max(0.0, min(span, (moment - start).total_seconds())) / span * CHART_WIDTH, 2)

    def num(value: float) -> str:
        return f"{value:.2f}".rstrip("0").rstrip(".")

    by_workload: dict[str, list[LaneInput]] = {}
    for lane in lanes:
        by_workload.setdefault(f"{lane.namespace} · {lane.workload}", []).append(lane)
    y = HEADER_HEIGHT
    workloads: list[ChartWorkload] = []
    for label in sorted(by_workload):
        top = y
        y += 14.0
        chart_lanes: list[ChartLane] = []
        for lane in by_workload[label]:
            rects = [
                ChartRect(
                    num(x(s.start)),
                    num(max(0.5, x(s.end) - x(s.start))),
                    s.css,
                    f"{lane.name}: {s.status} {format_rfc3339(s.start)} → {format_rfc3339(s.end)}",
                )
                for s in lane.segments
            ]
            chart_lanes.append(
                ChartLane(lane.uid, lane.name, pod_href(lane.uid, query), num(y), rects)
            )
            y += LANE_HEIGHT + LANE_GAP
        workloads.append(ChartWorkload(label, num(top + 10), chart_lanes))
        y += WORKLOAD_GAP - LANE_GAP
    step = next((s for s in _TICK_STEPS if span / s <= 8), _TICK_STEPS[-1])
    first_tick = datetime.fromtimestamp((int(start.timestamp()) // step + 1) * step, tz=UTC)
    ticks = []
    moment = first_tick
    while moment < end:
        fmt = "%H:%M:%S" if step < 60 else "%H:%M" if step < 86400 else "%m-%d"
        ticks.append(ChartTick(num(x(moment)), moment.strftime(fmt)))
        moment += timedelta(seconds=step)
    gap_rects = [
        ChartRect(num(x(a)), num(max(1.0, x(b) - x(a))), StatusClass.GONE, "no observations")
        for a, b in gaps
    ]
    return Chart(
        width=CHART_WIDTH,
        height=max(y, HEADER_HEIGHT + 30.0),
        start_iso=format_rfc3339(start),
        end_iso=format_rfc3339(end),
        workloads=workloads,
        ticks=ticks,
        gaps=gap_rects,
    )


def with_at(query: ReviewQuery, at: datetime | None) -> ReviewQuery:
    return replace(query, at=at)


@dataclass(frozen=True, slots=True)
class FindingView:
    severity: str
    sentence: str
    next_step: str
    pods: list[PodLink]


@dataclass(frozen=True, slots=True)
class DiagnosesView:
    namespace: str
    kind: str
    name: str
    findings: list[FindingView]


def diagnoses_views(
    diagnoses: Sequence[Any], *, names: Mapping[str, str], query: ReviewQuery
) -> list[DiagnosesView]:
    """``WorkloadDiagnoses`` with links to (at most 6 of) the pods behind each finding."""
    return [
        DiagnosesView(
            d.namespace,
            d.kind,
            d.name,
            [
                FindingView(
                    str(f.severity),
                    f.sentence,
                    f.next_step,
                    [
                        PodLink(uid, names.get(uid, uid), pod_href(uid, query))
                        for uid in f.pod_uids[:6]
                    ],
                )
                for f in d.findings
            ],
        )
        for d in diagnoses
    ]
