"""The review's parameters: RFC 3339 or relative times, defaults, and 400s naming them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lifecycle_dash.web.filters import FilterError
from lifecycle_dash.web.review import parse_review_query

NOW = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)


def test_the_default_window_is_the_last_hour():
    query = parse_review_query({}, now=NOW)
    assert (query.start, query.end, query.at) == (NOW - timedelta(hours=1), NOW, None)


def test_relative_and_absolute_times_mix():
    query = parse_review_query({"from": "-90m", "to": "2026-11-21T05:45:00Z"}, now=NOW)
    assert query.start == NOW - timedelta(minutes=90)
    assert query.end == datetime(2026, 11, 21, 5, 45, tzinfo=UTC)


def test_an_instant_alone_opens_the_hour_around_it():
    at = NOW - timedelta(days=3)
    query = parse_review_query({"t": "-3d"}, now=NOW, need_at=True)
    assert (query.start, query.end, query.at) == (
        at - timedelta(minutes=30),
        at + timedelta(minutes=30),
        at,
    )


def test_time_travel_without_an_instant_is_the_end_of_the_window():
    query = parse_review_query({"from": "-2h", "to": "-1h"}, now=NOW, need_at=True)
    assert query.at == NOW - timedelta(hours=1)


def test_links_carry_absolute_times_so_they_mean_the_same_tomorrow():
    query = parse_review_query({"from": "-1h", "namespace": "shop"}, now=NOW)
    assert query.querystring() == (
        "from=2026-11-21T05%3A00%3A00Z&to=2026-11-21T06%3A00%3A00Z&namespace=shop"
    )


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"from": "last tuesday"}, "from"),
        ({"to": "2026-13-01T00:00:00Z"}, "to"),
        ({"t": "soon"}, "t"),
        ({"from": "-1h", "to": "-2h"}, "to"),
        ({"from": "-8d"}, "from"),
        ({"selector": "a in ("}, "selector"),
        ({"owner": "Deployment/"}, "owner"),
    ],
)
def test_invalid_parameters_are_named(params, parameter):
    with pytest.raises(FilterError) as error:
        parse_review_query(params, now=NOW)
    assert error.value.parameter == parameter
