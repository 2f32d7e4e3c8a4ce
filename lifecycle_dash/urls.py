from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from lifecycle_dash.stack.auth import login_view, throttle_login
from lifecycle_dash.stack.metrics import metrics_view
from lifecycle_dash.stack.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("login/", login_view, name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/login/", throttle_login(admin.site.login)),
    path("admin/", admin.site.urls),
    path("", include("lifecycle_dash.web.urls")),
]
