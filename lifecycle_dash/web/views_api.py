"""The read-only JSON API under ``/api/v1/`` (plain Django views, orjson).

Authentication: the browser session or ``Authorization: Bearer <token>`` (``api_auth``);
anything else is 401 JSON, never a redirect. Errors are ``{"error": ..., "parameter": ...}``.
``GET /api/v1/pods`` takes exactly the dashboard's filters (``filters.parse_pod_filter``) and
reads through its selector (``selectors.pod_page``), so the API and the dashboard never
disagree about what a filter means. The schema of every answer is in ``openapi.py``.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from lifecycle_dash.access.scope import AccessScope
from lifecycle_dash.access.selectors import request_access_scope
from lifecycle_dash.ingest import models as m
from lifecycle_dash.web import selectors, selectors_pod
from lifecycle_dash.web.api_auth import ApiError, api_view
from lifecycle_dash.web.filters import (
    FILTER_PARAMETERS,
    FilterError,
    encode_cursor,
    parse_pod_filter,
)
from lifecycle_dash.web.openapi import openapi_document
from lifecycle_dash.web.serializers import (
    iso,
    json_response,
    pod_detail_json,
    pod_summary_json,
    timeline_items_json,
)
from lifecycle_dash.web.views_pod import InvalidParameter, parse_window

__all__ = ["api_openapi", "api_pod", "api_pod_timeline", "api_pods"]

# Parameters GET /api/v1/pods accepts: the dashboard's filters plus its cursor and page size.
_POD_LIST_PARAMETERS = frozenset({*FILTER_PARAMETERS, "after", "limit"})


def _reject_unknown(request: HttpRequest, allowed: frozenset[str]) -> None:
    for name in request.GET:
        if name not in allowed:
            raise ApiError(400, f"unknown parameter {name!r}", parameter=name)


def _pod(uid: str, access: AccessScope) -> m.Pod:
    pod = selectors_pod.pod_get(uid=uid)
    # Outside the caller's namespaces: the same 404 as a pod that does not exist.
    if pod is None or not access.allows(cluster_id=pod.cluster_id, namespace=pod.namespace):
        raise ApiError(404, f"no pod with uid {uid!r} is retained")
    return pod


@api_view
def api_pods(request: HttpRequest) -> HttpResponse:
    _reject_unknown(request, _POD_LIST_PARAMETERS)
    now = timezone.now()
    try:
        pod_filter = parse_pod_filter(request.GET).with_access(request_access_scope(request))
        page = selectors.pod_page(pod_filter=pod_filter, now=now)
    except FilterError as error:
        raise ApiError(
            400, f"{error.parameter}: {error.message}", parameter=error.parameter
        ) from None
    next_url = None
    if page.next_cursor is not None:
        # The filter's query string keeps every filter and a non-default limit.
        query = pod_filter.querystring(after=encode_cursor(page.next_cursor))
        next_url = request.build_absolute_uri(f"{reverse('web:api_pods')}?{query}")
    return json_response(
        {
            "items": [pod_summary_json(pod, now=now) for pod in page.pods],
            "next": next_url,
        }
    )


@api_view
def api_pod(request: HttpRequest, uid: str) -> HttpResponse:
    _reject_unknown(request, frozenset())
    now = timezone.now()
    pod = _pod(uid, request_access_scope(request))
    timeline = selectors_pod.pod_timeline(pod=pod, now=now)
    return json_response(pod_detail_json(timeline.header, timeline, now=now))


@api_view
def api_pod_timeline(request: HttpRequest, uid: str) -> HttpResponse:
    _reject_unknown(request, frozenset({"from", "to"}))
    now = timezone.now()
    try:
        window = parse_window(request.GET, now=now)
    except InvalidParameter as error:
        raise ApiError(400, error.message, parameter=error.parameter) from None
    pod = _pod(uid, request_access_scope(request))
    timeline = selectors_pod.pod_timeline(pod=pod, now=now)
    items = timeline_items_json(timeline, start=window.start, end=window.end)
    return json_response(
        {
            "uid": pod.uid,
            "cluster": pod.cluster.name,
            "namespace": pod.namespace,
            "name": pod.name,
            "from": None if window.start is None else iso(window.start),
            "to": None if window.end is None else iso(window.end),
            "items": items,
        }
    )


@csrf_exempt  # read-only like the rest of the API: a POST gets 405, not CSRF's 403 HTML
@require_safe
def api_openapi(request: HttpRequest) -> HttpResponse:
    """The OpenAPI document is public: it describes the API, it holds no data."""
    return json_response(openapi_document(server=request.build_absolute_uri("/")))
