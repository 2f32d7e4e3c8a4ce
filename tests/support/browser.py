"""Chromium page helpers shared by the browser tests."""

from __future__ import annotations

import time
from typing import Any


def sign_in(
    page: Any, live_web: str, *, username: str, password: str, wait_until: str = "load"
) -> None:
    """Sign ``page`` in through the login form; done once the redirect to the dashboard has
    reached ``wait_until`` ("commit": the dashboard itself need not finish loading)."""
    page.goto(f"{live_web}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_web}/", wait_until=wait_until)


def signed_in_page(
    browser: Any, live_web: str, *, username: str, password: str, color_scheme: str = "light"
) -> Any:
    """A new 1280 px page signed in as ``username`` on the dashboard; ``page.errors`` collects
    the page's uncaught JavaScript errors."""
    page = browser.new_page(viewport={"width": 1280, "height": 800}, color_scheme=color_scheme)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    sign_in(page, live_web, username=username, password=password)
    page.wait_for_selector("h1:has-text('Pods')")
    return page


def wait_js(page: Any, expression: str, *, timeout: float = 10.0) -> None:
    """Poll a JavaScript expression until it is true.

    ``page.wait_for_function`` evaluates its predicate with eval inside the page, which the
    site's Content-Security-Policy (script-src 'self') rightly refuses; ``page.evaluate``
    runs through the DevTools protocol and is not subject to it.
    """
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        page.wait_for_timeout(50)


def element_screenshot(page: Any, selector: str, path: str, *, attempts: int = 3) -> None:
    """``selector``'s screenshot, taken again when a live frame replaced the element meanwhile.

    A live timeline re-renders its panels (its pod's ``pod.changed``, or a catch-up after the
    hub lost the layer), which may happen just after the page loaded: Playwright then fails
    with "Element is not attached to the DOM".
    """
    from playwright.sync_api import Error

    for attempt in range(attempts):
        try:
            page.locator(selector).screenshot(path=path)
            return
        except Error as exc:
            if "not attached" not in str(exc) or attempt == attempts - 1:
                raise
