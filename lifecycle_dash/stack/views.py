from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from lifecycle_dash.stack.health import health_report, web_health_report


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Unauthenticated on purpose: load balancers and kubelets probe it. It reveals no data.

    `?scope=web` is for a web replica's readiness: only what serving pages needs. The full
    report would take every replica out of its Service while a worker or a watch stream is
    down, darkening the dashboard exactly when it should show the outage.
    """
    scope = request.GET.get("scope", "")
    if scope not in ("", "web"):
        return JsonResponse(
            {"error": "scope must be web or absent", "parameter": "scope"}, status=400
        )
    if scope == "web":
        report = web_health_report()
    else:
        report = health_report(deep=request.GET.get("deep") == "1")
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
