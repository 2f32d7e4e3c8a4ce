"""The Content-Security-Policy in Chromium: no violation on the login page and the dashboard.

A module of its own: the browser fixture keeps Playwright's event loop running in this thread,
which the asyncio tests of test_security.py cannot share.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from lifecycle_dash.stack.security import DEFAULT_POLICY

PASSWORD = "correct horse battery"


def _user() -> Any:
    return get_user_model().objects.create_user(
        username=f"sre-{uuid.uuid4().hex[:8]}", password=PASSWORD
    )


@pytest.mark.browser
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_chromium_reports_no_csp_violation_while_htmx_and_the_websocket_work(
    live_web, browser, artifacts_dir
):
    user = _user()
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    messages: list[str] = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    # Every page reports its own violations too (the console text differs between versions).
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', function (e) {"
        " console.error('CSP-VIOLATION ' + e.violatedDirective + ' ' + e.blockedURI); });"
    )
    page.on("pageerror", lambda error: messages.append(f"pageerror: {error}"))
    sockets: list[Any] = []
    page.on("websocket", lambda ws: sockets.append(ws))

    response = page.goto(f"{live_web}/login/")
    assert response is not None
    assert response.headers["content-security-policy"] == DEFAULT_POLICY
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Pods')")
    # The WebSocket connects under connect-src 'self'.
    page.wait_for_selector("#live-indicator[data-state=connected]", timeout=15_000)
    # htmx runs: the filter form swaps the table body in place (no page load).
    page.evaluate("document.getElementById('dash-body').dataset.before = 'swap'")
    page.evaluate("window.__sameDocument = true")
    sockets_before = len(sockets)
    with page.expect_response(lambda r: "namespace=no-such-namespace" in r.url) as swap:
        page.fill("input[name=namespace]", "no-such-namespace")
        page.click("button.f-apply")
    assert swap.value.request.headers.get("hx-request") == "true"
    # A selector, not wait_for_function: its string predicate is eval'd, which the CSP blocks.
    page.wait_for_selector("#dash-body:not([data-before])", state="attached")
    assert page.evaluate("window.__sameDocument") is True
    assert "namespace=no-such-namespace" in page.url
    # The swapped-in body opens its own socket (seen by the browser, not inferred from the
    # indicator's brief "connecting" state, which a fast reconnect can skip); it must connect.
    page.wait_for_selector("#live-indicator[data-state=connected]", timeout=15_000)
    deadline = time.monotonic() + 15
    while len(sockets) <= sockets_before and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert len(sockets) > sockets_before, "the swapped-in body opened no WebSocket"
    assert "/ws/dashboard/" in sockets[-1].url
    assert "namespace=no-such-namespace" in sockets[-1].url
    page.wait_for_selector("#live-indicator[data-state=connected]", timeout=15_000)
    page.screenshot(path=str(artifacts_dir / "csp-dashboard.png"), full_page=True)
    page.close()

    violations = [
        m
        for m in messages
        if "CSP-VIOLATION" in m or "Content Security Policy" in m or "Refused to" in m
    ]
    assert violations == []
    assert [m for m in messages if m.startswith("pageerror")] == []
