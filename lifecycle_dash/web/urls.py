from __future__ import annotations

from django.urls import path

from lifecycle_dash.web import views, views_api, views_pod, views_review

app_name = "web"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("pods/<str:uid>/", views_pod.pod_timeline, name="pod_timeline"),
    path("pods/<str:uid>/header", views_pod.pod_header, name="pod_header"),
    path("pods/<str:uid>/lanes", views_pod.pod_lanes, name="pod_lanes"),
    path("pods/<str:uid>/waterfalls", views_pod.pod_waterfalls, name="pod_waterfalls"),
    path("pods/<str:uid>/events", views_pod.pod_events, name="pod_events"),
    path("api/v1/openapi.json", views_api.api_openapi, name="api_openapi"),
    path("api/v1/pods", views_api.api_pods, name="api_pods"),
    path("api/v1/pods/<str:uid>", views_api.api_pod, name="api_pod"),
    path("api/v1/pods/<str:uid>/timeline", views_api.api_pod_timeline, name="api_pod_timeline"),
    path("review/", views_review.review, name="review"),
    path("review/diagnoses", views_review.review_diagnoses, name="review_diagnoses"),
    path("review/at/", views_review.review_at, name="review_at"),
    path("review/export.<str:fmt>", views_review.review_export, name="review_export"),
    path("incidents/", views_review.incidents, name="incidents"),
    path("incidents/<int:pk>/", views_review.incident_detail, name="incident_detail"),
    path("api/v1/review", views_review.api_review, name="api_review"),
]
