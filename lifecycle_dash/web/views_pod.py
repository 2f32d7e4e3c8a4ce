"""The per-pod timeline page (``/pods/<uid>/``) and its htmx fragments.

One template, ``web/pod_timeline.html``, with named partials (header, lanes, waterfalls,
events): the page renders them all, each fragment URL renders one
(``"web/pod_timeline.html#lanes"``), and the timeline WebSocket consumer
(``live/timeline.py``) sends the same partials as out-of-band swaps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_htmx.middleware import HtmxDetails

from lifecycle_dash.access.scope import AccessScope
from lifecycle_dash.access.selectors import request_access_scope
from lifecycle_dash.ingest import models as m
from lifecycle_dash.lifecycle import format_rfc3339, parse_rfc3339
from lifecycle_dash.web import selectors_pod
from lifecycle_dash.web.swimlanes import startup_waterfall, swimlanes, termination_waterfall

__all__ = [
    "InvalidParameter",
    "TimeWindow",
    "parse_time",
    "parse_window",
    "pod_events",
    "pod_header",
    "pod_lanes",
    "pod_timeline",
    "pod_waterfalls",
    "render_live_fragments",
    "timeline_context",
]

TEMPLATE = "web/pod_timeline.html"
_RELATIVE = re.compile(r"^-(\d{1,6})(s|m|h|d)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class InvalidParameter(ValueError):
    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message


@dataclass(frozen=True, slots=True)
class TimeWindow:
    start: datetime | None
    end: datetime | None
    # The parameters as given: a relative window ("-15m") must keep sliding in live frames.
    params: tuple[tuple[str, str], ...] = ()

    @property
    def zoomed(self) -> bool:
        return self.start is not None or self.end is not None

    def query(self) -> str:
        if self.params:
            return urlencode(self.params)
        parts = []
        if self.start is not None:
            parts.append(("from", format_rfc3339(self.start)))
        if self.end is not None:
            parts.append(("to", format_rfc3339(self.end)))
        return urlencode(parts)


def parse_time(value: str, *, parameter: str, now: datetime) -> datetime:
    """RFC 3339 (``2026-11-21T05:00:00Z``), ``now``, or relative to now (``-90s``, ``-1h``)."""
    text = value.strip()
    if text == "now":
        return now
    relative = _RELATIVE.match(text)
    try:
        if relative:
            amount, unit = int(relative.group(1)), relative.group(2)
            moment = now - timedelta(**{_UNITS[unit]: amount})
        else:
            # A "+" in a query string arrives as a space when the client did not encode it.
            moment = parse_rfc3339(text.replace(" ", "+") if "T" in text else text)
    except (ValueError, TypeError, OverflowError):
        raise InvalidParameter(
            parameter,
            f"{parameter}: expected an RFC 3339 time (2026-11-21T05:00:00Z), 'now' or a "
            f"relative time like -15m, -1h, -2d; got {value[:80]!r}",
        ) from None
    # Windows are widened and defaulted by minutes to days around these times: near
    # datetime's limits (year 1 or 9999) that arithmetic would overflow into a 500.
    if not _EARLIEST <= moment <= _LATEST:
        raise InvalidParameter(
            parameter,
            f"{parameter}: {value[:80]!r} is outside {_EARLIEST:%Y} to {_LATEST:%Y}",
        )
    return moment


def parse_window(params: Any, *, now: datetime) -> TimeWindow:
    start_raw = params.get("from") or ""
    end_raw = params.get("to") or ""
    start = parse_time(start_raw, parameter="from", now=now) if start_raw else None
    end = parse_time(end_raw, parameter="to", now=now) if end_raw else None
    if start is not None and end is not None and end <= start:
        raise InvalidParameter("to", "to: must be later than from")
    given = tuple((k, v) for k, v in (("from", start_raw), ("to", end_raw)) if v)
    return TimeWindow(start, end, given)


def _pod_or_404(uid: str, access: AccessScope) -> m.Pod:
    pod = selectors_pod.pod_get(uid=uid)
    # A pod outside the viewer's namespaces is answered like a pod that does not exist.
    if pod is None or not access.allows(cluster_id=pod.cluster_id, namespace=pod.namespace):
        raise Http404("No pod with this uid is retained.")
    return pod


def timeline_context(*, pod: m.Pod, window: TimeWindow, now: datetime) -> dict[str, Any]:
    """Everything the page and its lane/waterfall partials draw."""
    timeline = selectors_pod.pod_timeline(pod=pod, now=now)
    first, last = timeline.extent()
    start = window.start or first - (last - first) * 0.02
    end = window.end or last + (last - first) * 0.02
    if window.start is not None and window.end is None and end <= start:
        end = start + timedelta(minutes=5)
    if window.end is not None and window.start is None and start >= end:
        start = end - timedelta(minutes=5)
    lanes = swimlanes(
        snapshot=timeline.snapshot,
        transitions=timeline.transitions,
        occurrences=timeline.occurrences,
        endpoints=timeline.endpoints,
        gaps=timeline.gaps,
        first_observed_at=pod.first_observed_at,
        start=start,
        end=end,
        now=now,
    )
    return {
        "pod": pod,
        "header": timeline.header,
        "timeline": timeline,
        "lanes": lanes,
        "window": window,
        "termination": (
            termination_waterfall(timeline.termination)
            if timeline.termination is not None
            else None
        ),
        "startup": startup_waterfall(timeline.startup),
        "occurrences": timeline.occurrences,
        "now": now,
    }


def _bad_request(error: InvalidParameter) -> HttpResponse:
    return HttpResponseBadRequest(
        f"Invalid parameter {error.parameter!r}: {error.message}",
        content_type="text/plain; charset=utf-8",
    )


def _render(request: HtmxHttpRequest, uid: str, partial: str | None) -> HttpResponse:
    now = timezone.now()
    try:
        window = parse_window(request.GET, now=now)
    except InvalidParameter as error:
        return _bad_request(error)
    pod = _pod_or_404(uid, request_access_scope(request))
    if partial == "header":
        context: dict[str, Any] = {
            "pod": pod,
            "header": selectors_pod.pod_header(pod=pod, now=now),
        }
    elif partial == "events":
        context = {"pod": pod, "occurrences": selectors_pod.pod_occurrences(pod=pod)}
    else:
        context = timeline_context(pod=pod, window=window, now=now)
    template = TEMPLATE if partial is None else f"{TEMPLATE}#{partial}"
    return render(request, template, context)


@require_GET
@login_required
def pod_timeline(request: HtmxHttpRequest, uid: str) -> HttpResponse:
    return _render(request, uid, None)


@require_GET
@login_required
def pod_header(request: HtmxHttpRequest, uid: str) -> HttpResponse:
    return _render(request, uid, "header")


@require_GET
@login_required
def pod_lanes(request: HtmxHttpRequest, uid: str) -> HttpResponse:
    return _render(request, uid, "lanes")


@require_GET
@login_required
def pod_waterfalls(request: HtmxHttpRequest, uid: str) -> HttpResponse:
    return _render(request, uid, "waterfalls")


@require_GET
@login_required
def pod_events(request: HtmxHttpRequest, uid: str) -> HttpResponse:
    return _render(request, uid, "events")


def render_live_fragments(*, uid: str, window: TimeWindow, now: datetime) -> str | None:
    """The WebSocket frame after a change: header, lanes, waterfalls and events partials,
    each carrying its id, so htmx's ws extension swaps them out of band. None = no pod."""
    pod = selectors_pod.pod_get(uid=uid)
    if pod is None:
        return None
    context = timeline_context(pod=pod, window=window, now=now)
    return "".join(
        render_to_string(f"{TEMPLATE}#{name}", context)
        for name in ("header", "lanes", "waterfalls", "events")
    )
