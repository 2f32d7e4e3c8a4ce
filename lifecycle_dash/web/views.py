"""The live dashboard: parse the filter -> selectors -> render one template's fragments.

``web/dashboard.html`` holds every fragment (``body``, ``table``, ``row``, ``counts``,
``problems``, ``frame``): the full page renders them all, an htmx request renders the fragment
its target asks for, and the WebSocket consumer renders ``frame`` from the same ``row``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET
from django_htmx.http import push_url, reswap, retarget
from django_htmx.middleware import HtmxDetails

from lifecycle_dash.access.selectors import request_access_scope
from lifecycle_dash.web.filters import (
    PHASES,
    FilterError,
    PodFilter,
    Sort,
    encode_cursor,
    parse_pod_filter,
)
from lifecycle_dash.web.rendering import counts_context, pod_row
from lifecycle_dash.web.selectors import (
    cluster_names,
    pod_page,
    pod_status_counts,
    recent_problems,
)

__all__ = [
    "HtmxHttpRequest",
    "dashboard",
    "dashboard_context",
    "filter_error_response",
]


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


# htmx target id -> fragment of web/dashboard.html it renders.
_FRAGMENTS = {
    "dash-body": "body",
    "table-region": "table",
    "problems": "problems",
}


def filter_error_response(request: HttpRequest, error: FilterError) -> HttpResponse:
    """400 naming the parameter; an htmx request gets the fragment for the error slot."""
    if getattr(request, "htmx", False):
        html = render_to_string(
            "web/dashboard.html#filter-error", {"error": error}, request=request
        )
        # htmx swaps this 400 (see the htmx-config meta in base.html) into the error slot.
        return reswap(retarget(HttpResponseBadRequest(html), "#filter-error"), "outerHTML")
    html = render_to_string("web/dashboard.html", {"error": error}, request=request)
    return HttpResponseBadRequest(html)


@dataclass(frozen=True, slots=True)
class SortHeader:
    label: str
    query: str
    active: bool
    aria: str
    arrow: str


_SORTS = (
    (Sort.NAME, "NAME", "cluster, namespace, name", "ascending", "▲"),
    (Sort.STATUS, "STATUS", "STATUS", "ascending", "▲"),
    (Sort.RESTARTS, "RESTARTS", "restarts, most first", "descending", "▼"),
    (Sort.AGE, "AGE", "age, newest first", "descending", "▼"),
)


def dashboard_context(*, pod_filter: PodFilter, now: datetime) -> dict[str, Any]:
    """The body of the dashboard: rows, counts, pager (2 queries: page, counts)."""
    page = pod_page(pod_filter=pod_filter, now=now)
    counts = pod_status_counts(pod_filter=pod_filter, now=now)
    next_query = ""
    if page.next_cursor is not None:
        next_query = pod_filter.querystring(after=encode_cursor(page.next_cursor))
    return {
        "filter": pod_filter,
        "query": pod_filter.querystring(),
        "rows": [pod_row(pod, now=now) for pod in page.pods],
        **counts_context(counts, pod_filter=pod_filter),
        "next_query": next_query,
        "first_query": pod_filter.querystring() if not pod_filter.is_first_page else "",
        "ws_query": _ws_query(pod_filter),
        "sort_headers": {
            sort.value: SortHeader(
                label=label,
                query=pod_filter.querystring(sort=None if sort is Sort.NAME else sort.value),
                active=sort is pod_filter.sort,
                aria=aria,
                arrow=arrow,
            )
            for sort, label, _, aria, arrow in _SORTS
        },
        "sort_label": next(text for sort, _, text, _, _ in _SORTS if sort is pod_filter.sort),
        "phases": PHASES,
        "now": now,
        # A viewer without any grant sees an empty dashboard that says why.
        "no_access": pod_filter.access.nothing,
    }


def _ws_query(pod_filter: PodFilter) -> str:
    after = encode_cursor(pod_filter.after) if pod_filter.after is not None else None
    return pod_filter.querystring(after=after)


@require_GET
@login_required
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    now = datetime.now(UTC)
    try:
        pod_filter = parse_pod_filter(request.GET)
    except FilterError as error:
        return filter_error_response(request, error)
    access = request_access_scope(request)
    pod_filter = pod_filter.with_access(access)

    fragment = _FRAGMENTS.get(request.htmx.target or "") if request.htmx else None
    if fragment == "problems":
        problems = recent_problems(now=now, cluster=pod_filter.cluster, access=access)
        context = {"problems": problems, "now": now}
        return render(request, "web/dashboard.html#problems", context)
    try:
        context = dashboard_context(pod_filter=pod_filter, now=now)
    except FilterError as error:
        return filter_error_response(request, error)
    if fragment is not None:
        response = render(request, f"web/dashboard.html#{fragment}", context)
        if fragment == "body" and not request.htmx.history_restore_request:
            # The canonical URL (no empty parameters) so the address bar can be shared.
            query = _ws_query(pod_filter)
            response = push_url(response, f"{request.path}?{query}" if query else request.path)
        return response
    context["clusters"] = cluster_names(access=access)
    context["problems"] = recent_problems(now=now, cluster=pod_filter.cluster, access=access)
    return render(request, "web/dashboard.html", context)
