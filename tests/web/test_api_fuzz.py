"""Arbitrary query strings never break the API: a 200 or a 400 naming the parameter, each
matching the OpenAPI document (a small in-process stand-in for the schemathesis run)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifecycle_dash.ingest.models import Cluster
from tests.web import timeline_data as data
from tests.web.test_api import response_schema, validate

pytestmark = pytest.mark.django_db

LIST_PARAMETERS = ("cluster", "namespace", "status", "phase", "node", "owner", "selector")
values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["-1h", "now", "2026-11-21T05:00:00Z", "10", "500", "1", "Running", "a=b"]),
)


@pytest.fixture
def client() -> Client:
    user = get_user_model().objects.create_user(username="fuzz")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def story() -> data.PodStory:
    cluster = Cluster.objects.create(name="prod-eu", source=Cluster.Source.SIMULATOR)
    story = data.sigkill_story()
    data.ingest_sigkill_pod(cluster, story)
    return story


def check(response: Any, path: str, sent: dict[str, str]) -> None:
    assert response.status_code in (200, 400), response.content[:300]
    body = response.json()
    if response.status_code == 400:
        validate(body, "Error")
        assert body["parameter"] in sent
    else:
        validate(body, response_schema(path, "200"))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    params=st.dictionaries(
        st.sampled_from([*LIST_PARAMETERS, "q", "sort", "deleted", "limit", "after"]),
        values,
        max_size=4,
    )
)
def test_the_pod_list_answers_200_or_a_named_400(client: Client, params: dict[str, str]) -> None:
    check(client.get("/api/v1/pods", params), "/api/v1/pods", params)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(params=st.dictionaries(st.sampled_from(["from", "to"]), values, max_size=2))
def test_the_timeline_window_answers_200_or_a_named_400(
    client: Client, story: data.PodStory, params: dict[str, str]
) -> None:
    response = client.get(f"/api/v1/pods/{story.uid}/timeline", params)
    check(response, "/api/v1/pods/{uid}/timeline", params)
