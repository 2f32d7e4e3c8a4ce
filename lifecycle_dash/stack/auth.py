"""Login throttling: after N failed sign-ins for one username from one address, refuse more.

Failures are counted through Django's `user_login_failed` signal (so the admin's login counts
too) in the shared cache (Redis), keyed by username and client address; the first failure
starts the window. A successful sign-in clears the count. The login views are wrapped so a
blocked attempt is answered 429 without checking the password at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.html import format_html

KEY_PREFIX = "lifecycle_dash:login-failures:"


def _limit() -> int:
    return int(getattr(settings, "LOGIN_THROTTLE_FAILURES", 5))


def _window() -> int:
    return int(getattr(settings, "LOGIN_THROTTLE_SECONDS", 300))


def client_address(request: HttpRequest) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a proxy rewrites it, and
    # trusting it would let anyone pick a fresh address per attempt.
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def _key(username: str, address: str) -> str:
    # Hashed: usernames are arbitrary user input, cache keys have a restricted alphabet.
    digest = hashlib.sha256(f"{username.strip().lower()}\0{address}".encode()).hexdigest()
    return KEY_PREFIX + digest


def failures(*, username: str, address: str) -> int:
    return int(cache.get(_key(username, address), 0))


def is_blocked(*, username: str, address: str) -> bool:
    return failures(username=username, address=address) >= _limit()


def record_failure(*, username: str, address: str) -> int:
    key = _key(username, address)
    # add() only creates: the window starts with the first failure and is not extended.
    if cache.add(key, 1, timeout=_window()):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=_window())
        return 1


def clear_failures(*, username: str, address: str) -> None:
    cache.delete(_key(username, address))


@receiver(user_login_failed)
def _count_failure(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    if request is None:
        return
    record_failure(username=str(credentials.get("username", "")), address=client_address(request))


@receiver(user_logged_in)
def _clear_on_success(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None:
        clear_failures(username=user.get_username(), address=client_address(request))


def throttled_response() -> HttpResponse:
    minutes = max(1, _window() // 60)
    body = format_html(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Too many sign-in attempts · lifecycle-dash</title></head><body><main>"
        '<h1>Too many sign-in attempts</h1><p role="alert">Too many failed sign-ins for this '
        "username from your address. Try again in {} minutes.</p></main></body></html>",
        minutes,
    )
    response = HttpResponse(body, status=429)
    response["Retry-After"] = str(_window())
    return response


def throttle_login(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """Wrap a login view: POSTs for a blocked username and address get a 429."""

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "POST":
            username = str(request.POST.get("username", ""))
            if is_blocked(username=username, address=client_address(request)):
                return throttled_response()
        return view(request, *args, **kwargs)

    return wrapped


login_view = throttle_login(auth_views.LoginView.as_view())
