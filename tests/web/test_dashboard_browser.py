"""The dashboard in headless Chromium against daphne, Redis and PostgreSQL.

Pods reach the database through the real ingest path (processor + publisher), so the live
updates travel exactly as in production: commit -> ``pod.changed`` on Redis -> consumer ->
one frame -> htmx out-of-band swaps.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from tests.lifecycle import podfactory as f
from tests.support.browser import signed_in_page, wait_js
from tests.web.dashboard_factories import Feed

pytestmark = [pytest.mark.browser, pytest.mark.integration]

PASSWORD = "correct horse battery"


def uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def sign_in(browser: Any, live_web: str, *, color_scheme: str = "light") -> Any:
    username = f"sre-{uuid.uuid4().hex[:6]}"
    get_user_model().objects.create_user(username=username, password=PASSWORD)
    return signed_in_page(
        browser, live_web, username=username, password=PASSWORD, color_scheme=color_scheme
    )


def wait_live(page: Any) -> None:
    """Connected, and the consumer's first frame (page + counts) applied."""
    page.wait_for_selector("#live-indicator[data-state=connected]", timeout=10_000)
    wait_js(page, "Number(document.body.dataset.frames || 0) >= 1")
    # A frame replaces the counts: let it land before the test clicks one of them.
    page.wait_for_timeout(300)


def status_of(page: Any, n: int) -> str:
    return str(page.locator(f"#pod-{uid(n)} .status").inner_text())


@pytest.mark.django_db(transaction=True)
def test_pods_appear_change_and_leave_without_a_reload(live_web, browser, artifacts_dir):
    feed = Feed()
    feed.send(("ADDED", f.running_pod(uid=uid(2), name="web-b")))
    page = sign_in(browser, live_web)
    page.goto(f"{live_web}/?cluster={feed.cluster_name}")
    wait_live(page)
    # Marks this document: a reload would lose it.
    page.evaluate("window.__sameDocument = true")
    # The rows the page opened with are not tinted as entering (the first frame refreshed them).
    assert page.evaluate("document.querySelectorAll('#pod-rows tr.is-changed').length") == 0

    feed.send(("ADDED", f.pending_unscheduled_pod(uid=uid(1), name="web-a")))
    page.wait_for_selector(f"#pod-{uid(1)}")
    # Inserted in sort order, above web-b, and tinted for a second as it enters.
    names = page.locator("#pod-rows tr.pod td.c-name").all_inner_texts()
    assert names == ["web-a", "web-b"]
    assert status_of(page, 1) == "Pending"
    entered = f"document.getElementById('pod-{uid(1)}')"
    assert page.evaluate(f"{entered}.classList.contains('is-changed')") is True
    wait_js(page, f"!{entered}.classList.contains('is-changed')", timeout=5)

    # A changed row is updated in place (cell contents, not a new <tr>: a new row makes the
    # browser lay out the whole table again), keeping the page's own state: the selection.
    page.click(f"#pod-{uid(2)} td.c-node")
    page.evaluate(f"document.getElementById('pod-{uid(2)}').__sameRow = true")
    feed.send(("MODIFIED", f.crashloop_pod(uid=uid(2), name="web-b", restarts=3)))
    page.wait_for_selector(f"#pod-{uid(2)}.sev-bad")
    assert status_of(page, 2) == "CrashLoopBackOff"
    assert page.locator(f"#pod-{uid(2)} .c-restarts").inner_text().startswith("3 (")
    row = f"document.getElementById('pod-{uid(2)}')"
    assert page.evaluate(f"{row}.__sameRow") is True
    assert page.evaluate(f"{row}.classList.contains('is-current')") is True
    assert page.evaluate(f"{row}.classList.contains('is-changed')") is True
    # The age cell's <time> got its full-time title like any time on the page.
    assert page.evaluate(f"{row}.querySelector('.c-age time').title") != ""
    wait_js(page, f"!{row}.classList.contains('is-changed')", timeout=5)

    terminating = f.terminating_pod(uid=uid(1), name="web-a")
    feed.send(("MODIFIED", terminating))
    wait_js(page, f"document.querySelector('#pod-{uid(1)} .status')?.textContent === 'Terminating'")
    feed.send(("DELETED", f.evolve(terminating, lambda p: None)))
    page.wait_for_selector(f"#pod-{uid(1)}", state="detached")
    assert page.evaluate("window.__sameDocument") is True
    # Counts followed (refreshed at most every 2 s).
    wait_js(
        page,
        "document.querySelector('#counts .chip-all .chip-n').textContent.trim() === '1'",
        timeout=5,
    )
    assert page.errors == []
    page.close()


@pytest.mark.django_db(transaction=True)
def test_the_dashboard_in_light_and_dark(live_web, browser, artifacts_dir):
    feed = Feed()
    feed.send(
        ("ADDED", f.running_pod(uid=uid(1), name="api-7d9f8b6c5-x2x4q")),
        ("ADDED", f.crashloop_pod(uid=uid(2), name="api-7d9f8b6c5-k8s2p", restarts=12)),
        ("ADDED", f.pending_unscheduled_pod(uid=uid(3), name="batch-5f6d7c8b9-qq1zt")),
        ("ADDED", f.completed_pod(uid=uid(4), name="report-28391-abcde", namespace="jobs")),
        ("ADDED", f.terminating_pod(uid=uid(5), name="web-6b7c8d9e0-zzt7p", namespace="web")),
    )
    for scheme in ("light", "dark"):
        page = sign_in(browser, live_web, color_scheme=scheme)
        page.goto(f"{live_web}/?cluster={feed.cluster_name}")
        wait_live(page)
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == ("rgb(255, 255, 255)" if scheme == "light" else "rgb(13, 17, 23)")
        page.screenshot(path=str(artifacts_dir / f"dashboard-{scheme}.png"), full_page=True)
        assert page.errors == []
        page.close()


@pytest.mark.django_db(transaction=True)
def test_keyboard_theme_time_and_filters(live_web, browser, artifacts_dir):
    feed = Feed()
    feed.send(*[("ADDED", f.running_pod(uid=uid(i), name=f"web-{i}")) for i in range(1, 4)])
    feed.send(("ADDED", f.crashloop_pod(uid=uid(9), name="db-0", namespace="data")))
    page = sign_in(browser, live_web)
    page.goto(f"{live_web}/?cluster={feed.cluster_name}")
    wait_live(page)

    # j/k move the highlight, Enter opens the pod's timeline, / focuses the search.
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    current = page.locator("#pod-rows tr.is-current")
    assert current.count() == 1
    # Sorted by namespace: data/db-0 first.
    assert current.locator("td.c-name").inner_text() == "db-0"
    page.keyboard.press("ArrowDown")
    assert page.locator("#pod-rows tr.is-current td.c-name").inner_text() == "web-1"
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.press("Escape")

    # The theme toggle persists across pages; the time toggle rewrites <time> to local.
    page.click("#theme-toggle")
    page.click("#theme-toggle")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    page.click("#time-toggle")
    page.reload()
    wait_live(page)
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate("document.documentElement.dataset.time") == "local"

    # A filter typed into the form: htmx swaps the body, the URL follows, one socket reopens.
    page.fill("#q", "db")
    wait_js(page, "location.search.includes('q=db')")
    wait_js(page, "document.querySelectorAll('#pod-rows tr.pod').length === 1")
    assert "namespace" not in page.url  # canonical URL: no empty parameters
    wait_live(page)
    # A status chip sets the STATUS filter.
    page.click("#counts a.chip:has-text('CrashLoopBackOff')")
    wait_js(page, "location.search.includes('status=CrashLoopBackOff')")

    # An invalid selector shows the 400's message naming the parameter.
    page.fill("input[name=selector]", "app in (a")
    page.press("input[name=selector]", "Enter")
    page.wait_for_selector("#filter-error:not(.is-empty)")
    assert "selector" in page.locator("#filter-error").inner_text()

    page.goto(f"{live_web}/?cluster={feed.cluster_name}")
    wait_live(page)
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/pods/{uid(9)}/")
    assert page.errors == []
    page.close()
