from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle_dash.lifecycle.endpoints import (
    EndpointConditions,
    diff_endpoint_slices,
    slice_endpoints,
)

NOW = datetime(2026, 11, 21, 4, 0, 0, tzinfo=UTC)
POD_A = "6f1c2a4e-8d2b-4d7e-9a51-0c7a3f1e9b10"
POD_B = "0b7e4c1d-2f3a-4e8b-8c9d-1a2b3c4d5e6f"


def endpoint(
    pod_uid: str,
    ip: str,
    *,
    ready: bool | None = True,
    serving: bool | None = True,
    terminating: bool | None = False,
) -> dict[str, Any]:
    conditions: dict[str, Any] = {}
    for key, value in (("ready", ready), ("serving", serving), ("terminating", terminating)):
        if value is not None:
            conditions[key] = value
    return {
        "addresses": [ip],
        "conditions": conditions,
        "nodeName": "ip-10-0-3-17.eu-west-1.compute.internal",
        "zone": "eu-west-1a",
        "targetRef": {
            "kind": "Pod",
            "namespace": "shop",
            "name": f"web-{pod_uid[:5]}",
            "uid": pod_uid,
        },
    }


def endpoint_slice(*endpoints: dict[str, Any], rv: str = "5001") -> dict[str, Any]:
    """An EndpointSlice as the endpointslice controller writes it."""
    body: dict[str, Any] = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "web-8xk2p",
            "generateName": "web-",
            "namespace": "shop",
            "uid": "3c0a1e2b-aaaa-4bbb-8ccc-0d0e0f101112",
            "resourceVersion": rv,
            "labels": {
                "kubernetes.io/service-name": "web",
                "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
            },
            "ownerReferences": [{"kind": "Service", "name": "web", "controller": True}],
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    }
    if endpoints:
        body["endpoints"] = list(endpoints)
    return body


def test_a_slice_is_read_per_pod_uid_with_its_service():
    parsed = slice_endpoints(
        endpoint_slice(
            endpoint(POD_A, "10.0.3.4"),
            endpoint(POD_B, "10.0.3.5", ready=False, serving=True, terminating=True),
        )
    )

    assert parsed.service_name == "web"
    assert parsed.name == "web-8xk2p"
    assert parsed.namespace == "shop"
    assert parsed.by_pod_uid[POD_A] == EndpointConditions(True, True, False)
    assert parsed.by_pod_uid[POD_B] == EndpointConditions(False, True, True)
    assert parsed.problems == ()


def test_nil_conditions_follow_the_api_defaults():
    parsed = slice_endpoints(
        endpoint_slice(endpoint(POD_A, "10.0.3.4", ready=None, serving=None, terminating=None))
    )

    assert parsed.by_pod_uid[POD_A] == EndpointConditions(True, True, False)


def test_nil_serving_reads_as_true_even_when_not_ready():
    parsed = slice_endpoints(endpoint_slice(endpoint(POD_A, "10.0.3.4", ready=False, serving=None)))

    assert parsed.by_pod_uid[POD_A] == EndpointConditions(False, True, False)


def test_an_empty_slice_has_no_endpoints_field_and_no_problem():
    parsed = slice_endpoints(endpoint_slice())

    assert parsed.by_pod_uid == {}
    assert parsed.problems == ()


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda s: s.update(endpoints="x"), "endpoints: expected a list"),
        (lambda s: s["endpoints"].append("x"), "endpoints[1]: expected an object"),
        (lambda s: s["endpoints"][0].pop("targetRef"), "endpoints[0].targetRef.uid: missing"),
        (lambda s: s["endpoints"][0]["targetRef"].update(kind="Node"), "not a Pod"),
        (lambda s: s["endpoints"][0].update(conditions=[]), "conditions: expected an object"),
        (lambda s: s["endpoints"][0]["conditions"].update(ready="yes"), "conditions.ready"),
        (lambda s: s["endpoints"].append(endpoint(POD_A, "10.0.3.9")), "listed twice"),
        (lambda s: s.update(metadata=None), "metadata: expected an object"),
    ],
)
def test_malformed_slices_report_problems_without_raising(mutate, problem):
    raw = endpoint_slice(endpoint(POD_A, "10.0.3.4"))
    mutate(raw)

    parsed = slice_endpoints(raw)

    assert any(problem in p for p in parsed.problems), parsed.problems


def test_a_non_object_slice_is_a_problem_not_an_exception():
    assert slice_endpoints(["nope"]).problems == ("endpointslice: expected an object",)
    assert diff_endpoint_slices(None, "nope", observed_at=NOW) == []


def test_first_sight_reports_every_endpoint():
    changes = diff_endpoint_slices(
        None,
        endpoint_slice(endpoint(POD_A, "10.0.3.4"), endpoint(POD_B, "10.0.3.5")),
        observed_at=NOW,
    )

    assert [(c.pod_uid, c.ready, c.removed) for c in changes] == [
        (POD_B, True, False),
        (POD_A, True, False),
    ]
    assert all(c.observed_at == NOW for c in changes)
    assert changes[0].service_name == "web"
    assert changes[0].source == "observed:endpointslice receive time"


def test_only_changed_endpoints_are_reported():
    before = endpoint_slice(endpoint(POD_A, "10.0.3.4"), endpoint(POD_B, "10.0.3.5"))
    after = endpoint_slice(
        endpoint(POD_A, "10.0.3.4"),
        endpoint(POD_B, "10.0.3.5", ready=False, serving=True, terminating=True),
        rv="5002",
    )

    [change] = diff_endpoint_slices(before, after, observed_at=NOW)

    assert change.pod_uid == POD_B
    assert (change.ready, change.serving, change.terminating) == (False, True, True)
    assert change.withdrawn
    assert not change.removed


def test_an_endpoint_missing_from_the_new_version_is_removed():
    before = endpoint_slice(endpoint(POD_A, "10.0.3.4"), endpoint(POD_B, "10.0.3.5"))
    after = endpoint_slice(endpoint(POD_A, "10.0.3.4"), rv="5003")

    [change] = diff_endpoint_slices(before, after, observed_at=NOW + timedelta(seconds=3))

    assert change.pod_uid == POD_B
    assert change.removed
    assert change.withdrawn
    assert (change.ready, change.serving, change.terminating) == (None, None, None)
    assert change.observed_at == NOW + timedelta(seconds=3)


def test_a_deleted_slice_removes_every_endpoint_it_had():
    last = endpoint_slice(endpoint(POD_A, "10.0.3.4"), endpoint(POD_B, "10.0.3.5"))

    with_before = diff_endpoint_slices(copy.deepcopy(last), last, observed_at=NOW, deleted=True)
    without_before = diff_endpoint_slices(None, last, observed_at=NOW, deleted=True)
    after_none = diff_endpoint_slices(last, None, observed_at=NOW)

    for changes in (with_before, without_before, after_none):
        assert [(c.pod_uid, c.removed) for c in changes] == [(POD_B, True), (POD_A, True)]
        assert changes[0].service_name == "web"


def test_an_unchanged_slice_reports_nothing():
    raw = endpoint_slice(endpoint(POD_A, "10.0.3.4"))

    assert diff_endpoint_slices(raw, copy.deepcopy(raw), observed_at=NOW) == []
    assert diff_endpoint_slices(None, None, observed_at=NOW) == []


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["endpoints", "conditions", "targetRef", "uid", "ready", "metadata", "x"]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None)
@given(_JSON, _JSON, st.booleans())
def test_malformed_slices_never_raise(before, after, deleted):
    slice_endpoints(after)
    diff_endpoint_slices(before, after, observed_at=NOW, deleted=deleted)
