from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.http import QueryDict

from lifecycle_dash.web.filters import (
    Cursor,
    FilterError,
    LabelOp,
    LabelRequirement,
    Sort,
    encode_cursor,
    parse_label_selector,
    parse_pod_filter,
)


def parse(query: str):
    return parse_pod_filter(QueryDict(query))


def test_an_empty_query_is_the_default_first_page():
    f = parse("")
    assert f.sort is Sort.NAME
    assert f.is_first_page
    assert f.limit == 100
    assert not f.include_deleted
    assert f.querystring() == ""


def test_every_filter_is_parsed_and_kept_for_links():
    f = parse(
        "cluster=prod&namespace=shop&status=CrashLoopBackOff&phase=Running&node=node-7"
        "&owner=ReplicaSet/web-7d9f&selector=app%3Dweb&q=web&sort=restarts&deleted=1&limit=50"
    )
    assert (f.cluster, f.namespace, f.status, f.phase, f.node) == (
        "prod",
        "shop",
        "CrashLoopBackOff",
        "Running",
        "node-7",
    )
    assert (f.owner_kind, f.owner_name) == ("ReplicaSet", "web-7d9f")
    assert f.selector == (LabelRequirement("app", LabelOp.EQUALS, ("web",)),)
    assert f.sort is Sort.RESTARTS
    assert f.include_deleted
    assert f.limit == 50
    assert parse(f.querystring()) == f
    assert "status" not in parse(f.querystring(status=None)).querystring()


def test_a_bare_owner_name_matches_any_kind():
    f = parse("owner=web-7d9f")
    assert (f.owner_kind, f.owner_name) == ("", "web-7d9f")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("app=web", [("app", LabelOp.EQUALS, ("web",))]),
        ("app==web", [("app", LabelOp.EQUALS, ("web",))]),
        ("tier!=db", [("tier", LabelOp.NOT_EQUALS, ("db",))]),
        ("env in (a,b)", [("env", LabelOp.IN, ("a", "b"))]),
        ("env notin (a, b)", [("env", LabelOp.NOT_IN, ("a", "b"))]),
        ("canary", [("canary", LabelOp.EXISTS, ())]),
        ("!canary", [("canary", LabelOp.NOT_EXISTS, ())]),
        ("app=", [("app", LabelOp.EQUALS, ("",))]),
        ("example.com/team=sre", [("example.com/team", LabelOp.EQUALS, ("sre",))]),
        (
            "app=web,tier!=db,env in (a,b),!canary",
            [
                ("app", LabelOp.EQUALS, ("web",)),
                ("tier", LabelOp.NOT_EQUALS, ("db",)),
                ("env", LabelOp.IN, ("a", "b")),
                ("canary", LabelOp.NOT_EXISTS, ()),
            ],
        ),
    ],
)
def test_label_selectors_follow_the_kubernetes_grammar(text, expected):
    assert [(r.key, r.op, r.values) for r in parse_label_selector(text)] == expected


@pytest.mark.parametrize(
    "text",
    [
        "app=web,",
        "=web",
        "app in a,b",
        "app in (a,b",
        "app=(x)",
        "app=web tier=db",
        "-bad=x",
        "app=" + "x" * 64,
        "in ()",
        "a/b/c=d",
        ",",
        "app!",
    ],
)
def test_invalid_label_selectors_name_the_selector(text):
    with pytest.raises(FilterError) as error:
        parse_label_selector(text)
    assert error.value.parameter == "selector"


def test_label_requirements_match_like_kubernetes():
    labels = {"app": "web", "env": "a"}
    assert LabelRequirement("app", LabelOp.EQUALS, ("web",)).matches(labels)
    # != and notin also match pods that lack the key.
    assert LabelRequirement("tier", LabelOp.NOT_EQUALS, ("db",)).matches(labels)
    assert LabelRequirement("tier", LabelOp.NOT_IN, ("db",)).matches(labels)
    assert not LabelRequirement("env", LabelOp.NOT_IN, ("a", "b")).matches(labels)
    assert LabelRequirement("env", LabelOp.IN, ("a", "b")).matches(labels)
    assert not LabelRequirement("app", LabelOp.NOT_EXISTS).matches(labels)


def test_a_cursor_round_trips_and_is_tied_to_its_sort():
    cursor = Cursor(Sort.AGE, (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),), 42)
    f = parse(f"sort=age&after={encode_cursor(cursor)}")
    assert f.after == cursor
    with pytest.raises(FilterError) as error:
        parse(f"sort=name&after={encode_cursor(cursor)}")
    assert error.value.parameter == "after"


INVALID = [
    ("cluster", "cluster=-bad-"),
    ("namespace", "namespace=Not_A_Namespace"),
    ("status", "status=" + "x" * 200),
    ("phase", "phase=Sleeping"),
    ("node", "node=a%20b"),
    ("owner", "owner=ReplicaSet/"),
    ("owner", "owner=7x/web"),
    ("selector", "selector=app%20in%20(a"),
    ("q", "q=" + "x" * 300),
    ("sort", "sort=size"),
    ("deleted", "deleted=yes"),
    ("limit", "limit=ten"),
    ("limit", "limit=100000"),
    ("after", "after=not-a-cursor"),
    ("after", "after=" + encode_cursor(Cursor(Sort.NAME, ("x",), 1))),
    ("namespace", "namespace=a&namespace=b"),
]


# A cursor of the right sort but the wrong shape parses; the page read refuses it (the view
# test below covers it).
WRONG_SHAPE = INVALID[14]


@pytest.mark.parametrize(("parameter", "query"), [p for p in INVALID if p != WRONG_SHAPE])
def test_each_invalid_parameter_is_a_filter_error_naming_it(parameter, query):
    with pytest.raises(FilterError) as error:
        parse(query)
    assert error.value.parameter == parameter


@pytest.mark.django_db
@pytest.mark.parametrize(("parameter", "query"), INVALID)
def test_the_dashboard_answers_400_naming_the_parameter(client, parameter, query):
    client.force_login(get_user_model().objects.create_user("sre"))
    response = client.get(f"/?{query}")
    assert response.status_code == 400
    body = response.content.decode()
    assert f"Invalid <code>{parameter}</code>" in body
    # The full page still renders (navigation, the filter form) around the message.
    assert 'id="filters"' in body


@pytest.mark.django_db
def test_an_htmx_request_with_a_bad_filter_gets_the_error_fragment_retargeted(client):
    client.force_login(get_user_model().objects.create_user("sre"))
    response = client.get("/?selector=app%20in", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="dash-body")
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#filter-error"
    assert response.content.decode().startswith('<p id="filter-error"')
    assert "<code>selector</code>" in response.content.decode()
