from __future__ import annotations

from django.urls import path

from lifecycle_dash.live.consumers import DashboardConsumer
from lifecycle_dash.live.timeline import TimelineConsumer

websocket_urlpatterns = [
    path("ws/dashboard/", DashboardConsumer.as_asgi()),
    path("ws/pods/<str:uid>/", TimelineConsumer.as_asgi()),
]
