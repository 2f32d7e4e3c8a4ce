"""Response hardening that Django's SecurityMiddleware does not cover: Content-Security-Policy.

The policy allows scripts and styles from our own origin only: no inline `<script>`, no inline
`style=` attributes, no `eval`. htmx 2 needs `eval` only for `hx-on`/`js:` attributes (the
product uses neither), and base.html turns off htmx's injected indicator `<style>`
(`includeIndicatorStyles: false`). `connect-src 'self'` covers the same-origin WebSocket
(CSP Level 3 maps 'self' to ws:/wss: of the same host).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

DEFAULT_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def content_security_policy() -> str:
    policy: str = getattr(settings, "CONTENT_SECURITY_POLICY", DEFAULT_POLICY)
    return policy


class ContentSecurityPolicyMiddleware:
    """Adds the policy to every response that does not set its own (static files included)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.policy = content_security_policy()

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response
