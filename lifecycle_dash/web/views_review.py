"""Historical incident review: the review page, time travel, saved incidents, exports, API.

Thin views: parse (``review.parse_review_query``) -> selectors (``selectors_review``,
``timetravel``) -> render. ``web/review.html`` holds the page and its fragments (``body`` for
htmx swaps, ``diagnoses`` loaded after the page); ``web/review_at.html`` the table at an
instant, whose rows are the dashboard's own ``row`` partial.

Query budgets (pinned in tests/web/test_review_pages.py, test_timetravel.py and
test_incidents.py), each including the session, the user and the viewer's access grants:
review page 11 (the 7 reads of ``review_window`` + cluster names), diagnoses fragment at most
15 (the window again + 5 evidence reads), time travel 6 (rows, previous/next steps, cluster
names; 7 with a STATUS filter other than Running or Completed, for its candidates), JSON/CSV
export 11 (the window + the affected pods' transitions), Markdown export 10,
incident permalink 11 (incident + window), incident list 4. None grows with the window or the
number of pods. Every read is limited to the viewer's namespaces (``_for_viewer``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
)
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import push_url

from lifecycle_dash.access.selectors import request_access_scope
from lifecycle_dash.lifecycle import format_rfc3339
from lifecycle_dash.web.api_auth import ApiError, api_view
from lifecycle_dash.web.exports import review_csv, review_document, review_json, review_markdown
from lifecycle_dash.web.filters import FilterError, encode_cursor, parse_pod_filter
from lifecycle_dash.web.models_review import Incident
from lifecycle_dash.web.review import (
    LaneInput,
    ReviewQuery,
    build_chart,
    diagnoses_views,
    group_views,
    parse_review_query,
)
from lifecycle_dash.web.selectors import cluster_names
from lifecycle_dash.web.selectors_review import (
    ReviewData,
    review_window,
    window_diagnoses,
    window_transitions,
)
from lifecycle_dash.web.serializers import json_response
from lifecycle_dash.web.timetravel import cluster_at, steps_around
from lifecycle_dash.web.views import HtmxHttpRequest

__all__ = [
    "api_review",
    "incident_detail",
    "incidents",
    "review",
    "review_at",
    "review_context",
    "review_diagnoses",
    "review_export",
]

TEMPLATE = "web/review.html"
EXPORT_FORMATS = ("md", "json", "csv")


def _error(request: HttpRequest, error: FilterError, template: str = TEMPLATE) -> HttpResponse:
    if getattr(request, "htmx", False):
        html = render_to_string(f"{template}#review-error", {"error": error}, request=request)
        return HttpResponseBadRequest(html)
    html = render_to_string(template, {"error": error, "clusters": []}, request=request)
    return HttpResponseBadRequest(html)


def _for_viewer(request: HttpRequest, query: ReviewQuery) -> ReviewQuery:
    """The query limited to the viewer's namespaces (a saved incident's too)."""
    access = request_access_scope(request)
    return replace(query, pod_filter=query.pod_filter.with_access(access))


def review_context(*, data: ReviewData, query: ReviewQuery) -> dict[str, Any]:
    lanes = [
        LaneInput(
            lane.uid,
            lane.info.facts.name,
            lane.info.facts.namespace,
            "/".join(lane.info.workload),
            lane.segments,
        )
        for lane in data.lanes
    ]
    return {
        "query": query,
        "qs": query.querystring(t=None),
        "data": data,
        "groups": group_views(data.groups, names=data.names, query=query),
        "chart": build_chart(
            lanes=lanes,
            start=query.start,
            end=query.end,
            gaps=[(g.started_at, g.ended_at) for g in data.gaps],
            query=query,
        ),
        "affected": len(data.affected_uids),
        "workload_count": data.workload_count,
        "from_iso": format_rfc3339(query.start),
        "to_iso": format_rfc3339(query.end),
        "at_default": format_rfc3339(query.start + (query.end - query.start) / 2),
    }


@require_GET
@login_required
def review(request: HtmxHttpRequest) -> HttpResponse:
    now = datetime.now(UTC)
    try:
        query = _for_viewer(request, parse_review_query(request.GET, now=now))
    except FilterError as error:
        return _error(request, error)
    context = review_context(data=review_window(query=query), query=query)
    if request.htmx and request.htmx.target == "review-body":
        response = render(request, f"{TEMPLATE}#body", context)
        if not request.htmx.history_restore_request:
            response = push_url(response, f"{request.path}?{context['qs']}")
        return response
    context["clusters"] = cluster_names(access=query.pod_filter.access)
    return render(request, TEMPLATE, context)


@require_GET
@login_required
def review_diagnoses(request: HtmxHttpRequest) -> HttpResponse:
    now = datetime.now(UTC)
    try:
        query = _for_viewer(request, parse_review_query(request.GET, now=now))
    except FilterError as error:
        return _error(request, error)
    data = review_window(query=query)
    return render(
        request,
        f"{TEMPLATE}#diagnoses",
        {
            "diagnoses": diagnoses_views(
                window_diagnoses(data=data), names=data.names, query=query
            ),
            "query": query,
        },
    )


@require_GET
@login_required
def review_at(request: HtmxHttpRequest) -> HttpResponse:
    now = datetime.now(UTC)
    template = "web/review_at.html"
    try:
        query = _for_viewer(request, parse_review_query(request.GET, now=now, need_at=True))
        page_filter = parse_pod_filter(
            {**dict(query.pod_filter.params), **_page_params(request)}, allow_cursor=True
        ).with_access(query.pod_filter.access)
    except FilterError as error:
        return _error(request, error, template)
    assert query.at is not None
    table = cluster_at(pod_filter=page_filter, at=query.at)
    previous, following = steps_around(
        at=query.at,
        cluster=query.pod_filter.cluster,
        start=query.start,
        end=query.end,
        access=query.pod_filter.access,
    )
    span = (query.end - query.start).total_seconds()
    context = {
        "query": query,
        "table": table,
        "rows": table.rows,
        "at_iso": format_rfc3339(query.at),
        "from_iso": format_rfc3339(query.start),
        "to_iso": format_rfc3339(query.end),
        "status_filter": page_filter.status,
        "prev_query": query.querystring(t=format_rfc3339(previous)) if previous else "",
        "next_query": query.querystring(t=format_rfc3339(following)) if following else "",
        "more_query": query.querystring(
            after=encode_cursor(table.next_cursor), status=page_filter.status or None
        )
        if table.next_cursor is not None
        else "",
        "review_query": query.querystring(t=None),
        "slider_max": int(span),
        "slider_value": int(max(0.0, min(span, (query.at - query.start).total_seconds()))),
        "clusters": cluster_names(access=query.pod_filter.access),
    }
    return render(request, template, context)


def _page_params(request: HttpRequest) -> dict[str, str]:
    """STATUS (as it was at T), page cursor and size: the dashboard's own parameters."""
    found = {}
    for name in ("status", "after", "limit"):
        values = request.GET.getlist(name)
        if len(values) > 1:
            raise FilterError(name, "may be given only once")
        if values and values[0]:
            found[name] = values[0]
    return found


@require_GET
@login_required
def review_export(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt not in EXPORT_FORMATS:
        raise Http404("unknown export format")
    now = datetime.now(UTC)
    try:
        query = _for_viewer(request, parse_review_query(request.GET, now=now))
    except FilterError as error:
        return _error(request, error)
    return _export(query, fmt, attachment=True)


def _export(query: ReviewQuery, fmt: str, *, attachment: bool) -> HttpResponse:
    data = review_window(query=query)
    stem = f"review-{query.start:%Y%m%dT%H%M}-{query.end:%Y%m%dT%H%M}"
    if fmt == "md":
        response = HttpResponse(review_markdown(data), content_type="text/markdown; charset=utf-8")
    else:
        transitions, capped = window_transitions(query=query, uids=data.affected_uids)
        if fmt == "csv":
            response = HttpResponse(
                review_csv(data, transitions=transitions), content_type="text/csv; charset=utf-8"
            )
        else:
            response = HttpResponse(
                review_json(data, transitions=transitions, transitions_capped=capped),
                content_type="application/json",
            )
    if attachment:
        response["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    return response


_API_PARAMETERS = frozenset({"from", "to", "cluster", "namespace", "selector", "owner", "format"})


@api_view
def api_review(request: HttpRequest) -> HttpResponse:
    """``GET /api/v1/review``: the window's causes per workload (``format=json|md|csv``)."""
    for name in request.GET:
        if name not in _API_PARAMETERS:
            raise ApiError(400, f"{name}: unknown parameter", parameter=name)
    fmt = request.GET.get("format", "") or "json"
    if fmt not in EXPORT_FORMATS:
        raise ApiError(400, "format: must be json, md or csv", parameter="format")
    try:
        query = _for_viewer(request, parse_review_query(request.GET, now=datetime.now(UTC)))
    except FilterError as error:
        raise ApiError(400, str(error), parameter=error.parameter) from None
    if fmt == "json" and "format" not in request.GET:
        return json_response(review_document(review_window(query=query)))
    return _export(query, fmt, attachment=False)


# --- saved incidents -----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def incidents(request: HttpRequest) -> HttpResponse:
    """GET: the list of saved incidents; POST: save the review's window as an incident."""
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        notes = request.POST.get("notes", "")
        try:
            query = parse_review_query(request.POST, now=datetime.now(UTC))
            if not name:
                raise FilterError("name", "an incident needs a name")
            if len(name) > 200:
                raise FilterError("name", "is longer than 200 characters")
        except FilterError as error:
            return _error(request, error)
        f = query.pod_filter
        incident = Incident.objects.create(
            name=name,
            start=query.start,
            end=query.end,
            cluster=f.cluster,
            namespace=f.namespace,
            selector=f.selector_text,
            notes=notes,
            created_by=request.user if request.user.is_authenticated else None,
        )
        return HttpResponseRedirect(reverse("web:incident_detail", args=[incident.pk]))
    rows = Incident.objects.select_related("created_by").order_by("-start", "-id")[:200]
    access = request_access_scope(request)
    # An incident saved on namespaces the viewer cannot see says nothing to them: not listed.
    visible = [i for i in rows if access.reaches(cluster=i.cluster, namespace=i.namespace)]
    return render(request, "web/incidents.html", {"incidents": visible})


@require_http_methods(["GET", "POST"])
@login_required
def incident_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The permalink: the saved window and filters reopened, with the notes (POST edits them)."""
    incident = Incident.objects.select_related("created_by").filter(pk=pk).first()
    access = request_access_scope(request)
    if incident is None or not access.reaches(
        cluster=incident.cluster, namespace=incident.namespace
    ):
        raise Http404("No such incident.")
    if request.method == "POST":
        incident.notes = request.POST.get("notes", "")
        incident.save(update_fields=["notes", "updated_at"])
        return HttpResponseRedirect(reverse("web:incident_detail", args=[incident.pk]))
    params = {
        "from": format_rfc3339(incident.start),
        "to": format_rfc3339(incident.end),
        "cluster": incident.cluster,
        "namespace": incident.namespace,
        "selector": incident.selector,
    }
    try:
        query = _for_viewer(request, parse_review_query(params, now=datetime.now(UTC)))
    except FilterError as error:
        return _error(request, error)
    if request.GET.get("format") in EXPORT_FORMATS:
        fmt = request.GET["format"]
        if fmt == "md":
            data = review_window(query=query)
            markdown = review_markdown(data, title=incident.name)
            if incident.notes:
                markdown += "\n## Notes\n\n" + incident.notes.strip() + "\n"
            response = HttpResponse(markdown, content_type="text/markdown; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="incident-{incident.pk}.md"'
            return response
        return _export(query, fmt, attachment=True)
    context = review_context(data=review_window(query=query), query=query)
    context["incident"] = incident
    return render(request, "web/incident.html", context)
