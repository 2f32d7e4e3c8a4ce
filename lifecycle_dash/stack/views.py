from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from lifecycle_dash.stack.health import health_report


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Unauthenticated on purpose: load balancers and kubelets probe it. It reveals no data."""
    report = health_report(deep=request.GET.get("deep") == "1")
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
