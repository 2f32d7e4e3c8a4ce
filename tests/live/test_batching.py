"""Rounds of dashboard batches: many connections of a process share one pod query and one
render per changed row, and each still gets the frame it would have got on its own."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest

from lifecycle_dash.live import render
from lifecycle_dash.live.render import PageWindow, batch_frames
from lifecycle_dash.web.filters import parse_pod_filter
from tests.lifecycle import podfactory as f
from tests.web.dashboard_factories import Feed

pytestmark = [pytest.mark.integration]


def uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def loaded(query: dict[str, str], now: datetime) -> PageWindow:
    window = PageWindow(parse_pod_filter(query))
    window.load(now=now)
    window.counts(now=now, force=True)
    return window


def test_a_round_of_twenty_dashboards_costs_one_pod_query(
    transactional_db: None, django_assert_num_queries: object
) -> None:
    feed = Feed()
    feed.send(*[("ADDED", f.running_pod(uid=uid(i), name=f"web-{i:02}")) for i in range(20)])
    now = datetime.now(UTC)
    pages = [{"cluster": feed.cluster_name}, {"cluster": feed.cluster_name, "limit": "10"}]
    windows = [loaded(pages[i % 2], now) for i in range(20)]
    alone = [loaded(page, now) for page in pages]
    feed.send(*[("MODIFIED", f.crashloop_pod(uid=uid(i), name=f"web-{i:02}")) for i in (3, 15)])
    changed = {uid(3), uid(15), uid(99)}
    for window in [*windows, *alone]:
        window.counts_due_at = float("inf")  # rows only: counts have tests of their own

    with django_assert_num_queries(1):  # type: ignore[operator]
        frames = batch_frames([(window, changed) for window in windows], now=now)

    # The same frames as each connection re-reading and rendering its own batch.
    expected = [window.batch(changed, now=now) for window in alone]
    assert expected[0].count("CrashLoopBackOff") == 2
    assert expected[1].count("CrashLoopBackOff") == 1  # web-15 is on the full page's next page
    assert frames == [expected[i % 2] for i in range(20)]


def test_a_failing_batch_leaves_the_others_their_frames(transactional_db: None) -> None:
    feed = Feed()
    feed.send(("ADDED", f.running_pod(uid=uid(1), name="web-01")))
    now = datetime.now(UTC)
    good = loaded({"cluster": feed.cluster_name}, now)
    broken = loaded({"cluster": feed.cluster_name}, now)
    broken.keys = []  # out of step with its uids: applying a batch raises
    feed.send(("MODIFIED", f.crashloop_pod(uid=uid(1), name="web-01")))

    frames = batch_frames([(broken, {uid(1)}), (good, {uid(1)})], now=now)

    assert frames[0] == ""
    assert "CrashLoopBackOff" in frames[1]


def test_counts_follow_a_round_in_their_own_frame_counted_once_for_all(
    transactional_db: None, django_assert_num_queries: object
) -> None:
    feed = Feed()
    now = datetime.now(UTC)
    windows = [loaded({"cluster": feed.cluster_name}, now) for _ in range(5)]
    for window in windows:
        window.counts_due_at = 0
    render._counts_due.clear()  # the filter's interval has passed
    feed.send(("ADDED", f.crashloop_pod(uid=uid(1), name="a-1")))

    frames = batch_frames([(window, {uid(1)}) for window in windows], now=now)

    # The rows go out at once, without waiting for a GROUP BY ...
    assert all(f'id="pod-{uid(1)}"' in frame and 'id="counts"' not in frame for frame in frames)
    assert all(window.counts_owed for window in windows)
    # ... and the counts they owe cost one query for every connection of the filter.
    with django_assert_num_queries(1):  # type: ignore[operator]
        owed = [window.owed_counts_frame(now=now) for window in windows]
    assert all(re.search(r'CrashLoopBackOff</span> <span class="chip-n">1<', o) for o in owed)


def test_pages_of_one_filter_owing_counts_share_the_filters_next_count(
    transactional_db: None, django_assert_num_queries: object
) -> None:
    """Dashboards of one filter connected at different times still count once per interval:
    a page whose counts fall due before the filter's next count waits for that count."""
    feed = Feed()
    now = datetime.now(UTC)
    first, second = (loaded({"cluster": feed.cluster_name}, now) for _ in range(2))
    render._counts_due.clear()
    render._counts_cache.clear()
    feed.send(("ADDED", f.crashloop_pod(uid=uid(1), name="a-1")))
    for window in (first, second):
        window.counts_due_at = 0
        window.counts_owed, window.counts_owed_since = True, time.monotonic()
    with django_assert_num_queries(1):  # type: ignore[operator]
        assert "CrashLoopBackOff" in first.owed_counts_frame(now=now)
    # A later change makes the second page owe counts newer than that count: it does not
    # count again now, it waits for the filter's next count, and stays owed till then.
    second.counts_owed_since = time.monotonic()
    with django_assert_num_queries(0):  # type: ignore[operator]
        assert second.owed_counts_frame(now=now) == ""
    assert second.counts_owed
    assert second.counts_due_at == render._counts_due[render._counts_key(second.pod_filter)]
    assert second.counts_due_at > time.monotonic()
