"""Authentication for the JSON API: a session, or ``Authorization: Bearer <token>``.

The API answers 401 JSON instead of redirecting to the login page: a script has no use for
an HTML login form. Tokens are looked up by their SHA-256 (``ApiToken.token_hash``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar, cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from lifecycle_dash.web.models import ApiToken, hash_token

F = TypeVar("F", bound=Callable[..., HttpResponse])

# Writing last_used_at on every request would make every GET a write; once a minute is enough.
_TOUCH_EVERY = timedelta(minutes=1)


class ApiError(Exception):
    """An error answer of the API: ``{"error": message, "parameter": name?}``."""

    def __init__(self, status: int, message: str, *, parameter: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameter = parameter


def user_from_bearer(header: str) -> AbstractBaseUser | None:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    row = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=hash_token(token.strip()), revoked_at__isnull=True)
        .first()
    )
    if row is None or not row.user.is_active:
        return None
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    user: AbstractBaseUser = row.user
    return user


def authenticate_api(request: HttpRequest) -> AbstractBaseUser | AnonymousUser:
    """The session's user, else the bearer token's, else anonymous."""
    header = request.headers.get("Authorization", "")
    if header:
        user = user_from_bearer(header)
        if user is None:
            raise ApiError(401, "invalid or revoked API token")
        return user
    if request.user.is_authenticated:
        return request.user
    return AnonymousUser()


def api_view(view: F) -> F:
    """GET only, authenticated, ``ApiError`` turned into its JSON answer."""
    from lifecycle_dash.web.serializers import error_response

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            response = error_response(405, "the API is read-only: use GET")
            response["Allow"] = "GET, HEAD"
            return response
        try:
            user = authenticate_api(request)
            if not user.is_authenticated:
                response = error_response(
                    401, "authentication required: a session or Authorization: Bearer <token>"
                )
                response["WWW-Authenticate"] = 'Bearer realm="lifecycle-dash"'
                return response
            request.user = user  # type: ignore[assignment]
            return view(request, *args, **kwargs)
        except ApiError as error:
            return error_response(error.status, error.message, parameter=error.parameter)

    # Read-only: no method here changes state, so CSRF has nothing to protect, and its 403 HTML
    # would otherwise answer a POST before the documented 405 JSON does.
    return cast(F, csrf_exempt(wrapper))
