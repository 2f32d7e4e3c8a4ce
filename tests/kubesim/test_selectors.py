from __future__ import annotations

import pytest

from lifecycle_dash.kubesim.errors import ApiError
from lifecycle_dash.kubesim.selectors import parse_field_selector, parse_label_selector

POD = {
    "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web", "tier": "front"}},
    "spec": {"nodeName": "node-1"},
    "status": {"phase": "Running"},
}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("app=web", True),
        ("app==web", True),
        ("app!=web", False),
        ("app in (web,api)", True),
        ("app notin (web,api)", False),
        ("tier", True),
        ("!tier", False),
        ("missing", False),
        ("!missing", True),
        ("app=web,tier in (front)", True),
        ("app=web,tier=back", False),
    ],
)
def test_label_selector_operators(selector, matches):
    predicate = parse_label_selector(selector)
    assert predicate is not None
    assert predicate(POD) is matches


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("metadata.name=web-1", True),
        ("metadata.namespace!=shop", False),
        ("spec.nodeName=node-1,status.phase=Running", True),
        ("status.phase==Pending", False),
        ("spec.nodeName=", False),
    ],
)
def test_pod_field_selectors(selector, matches):
    predicate = parse_field_selector("pods", selector)
    assert predicate is not None
    assert predicate(POD) is matches


def test_event_involved_object_selectors():
    event = {
        "metadata": {"name": "e"},
        "involvedObject": {"kind": "Pod", "uid": "u-1", "name": "p"},
    }
    predicate = parse_field_selector("events", "involvedObject.kind=Pod,involvedObject.uid=u-1")
    assert predicate is not None
    assert predicate(event)
    other = parse_field_selector("events", "involvedObject.name!=p")
    assert other is not None
    assert not other(event)


def test_unsupported_field_is_a_bad_request():
    with pytest.raises(ApiError) as caught:
        parse_field_selector("pods", "spec.containers=x")
    assert caught.value.code == 400
    assert "field label not supported" in caught.value.message


def test_malformed_label_selector_is_a_bad_request():
    with pytest.raises(ApiError) as caught:
        parse_label_selector("app in web")
    assert caught.value.code == 400


def test_empty_selectors_match_everything():
    assert parse_label_selector("") is None
    assert parse_field_selector("pods", None) is None
