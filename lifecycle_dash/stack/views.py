from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from lifecycle_dash.stack.health import health_report


def healthz(request: HttpRequest) -> JsonResponse:
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
