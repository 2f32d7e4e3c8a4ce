"""Three personas across every JSON API endpoint, by session and by bearer token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from lifecycle_dash.web.models import ApiToken
from tests.access.world import Personas, World, leaks

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

WINDOW = "from=-15m&to=now"


def _session(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _bearer(user: Any) -> Client:
    _, token = ApiToken.issue(user=user, name="ci")
    return Client(headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(params=["session", "bearer"])
def api(request: pytest.FixtureRequest, personas: Personas) -> Callable[[str], Client]:
    """persona name -> a client authenticated the way this run of the test says."""
    make = _session if request.param == "session" else _bearer
    clients = {name: make(getattr(personas, name)) for name in ("admin", "member", "outsider")}
    return clients.__getitem__


def names(client: Client, query: str = "") -> list[str]:
    response = client.get(f"/api/v1/pods?{query}")
    assert response.status_code == 200, response.content
    return sorted(item["name"] for item in response.json()["items"])


def test_the_pod_list_holds_only_reachable_pods(world: World, api: Callable[[str], Client]) -> None:
    assert names(api("admin")) == sorted(world.live)
    assert names(api("member")) == world.member_live
    assert names(api("outsider")) == []
    # Recently deleted pods too: the member's SIGKILLed pod, not the others'.
    assert names(api("member"), "deleted=1") == sorted(
        ["alpha-web-7d9f8b6c5-sk1ll", *world.member_live]
    )
    assert "bravo-pay-7d9f8b6c5-sk1ll" in names(api("admin"), "deleted=1")
    for query in ("namespace=team-b-pay", "cluster=staging", "q=bravo", "deleted=1&q=stage"):
        assert names(api("member"), query) == [], query


def test_pages_of_the_list_stay_inside_the_scope(
    world: World, api: Callable[[str], Client]
) -> None:
    client = api("member")
    body = client.get("/api/v1/pods?deleted=1&limit=10").json()
    assert body["next"] is None
    assert len(body["items"]) == 1 + len(world.member_live)


@pytest.mark.parametrize("suffix", ["", "/timeline"])
def test_a_pod_outside_the_scope_is_not_found(
    world: World, api: Callable[[str], Client], suffix: str
) -> None:
    def status(persona: str, story: str) -> int:
        path = f"/api/v1/pods/{world.story(story).uid}{suffix}"
        return int(api(persona).get(path).status_code)

    assert [status("admin", s) for s in ("alpha", "bravo", "stage")] == [200, 200, 200]
    assert [status("member", s) for s in ("alpha", "bravo", "stage")] == [200, 404, 404]
    assert [status("outsider", s) for s in ("alpha", "bravo", "stage")] == [404, 404, 404]
    hidden = api("member").get(f"/api/v1/pods/{world.bravo.uid}{suffix}")
    unknown = api("member").get(f"/api/v1/pods/acce5500-0000-4000-8000-ffffffffffff{suffix}")
    # Word for word the answer about a uid that never existed, but for the uid itself.
    assert hidden.json()["error"].replace(world.bravo.uid, "?") == unknown.json()["error"].replace(
        "acce5500-0000-4000-8000-ffffffffffff", "?"
    )


@pytest.mark.parametrize("fmt", ["", "json", "md", "csv"])
def test_the_review_api_is_scoped(api: Callable[[str], Client], fmt: str) -> None:
    query = f"{WINDOW}&format={fmt}" if fmt else WINDOW
    texts = {}
    for persona in ("admin", "member", "outsider"):
        response = api(persona).get(f"/api/v1/review?{query}")
        assert response.status_code == 200, response.content
        texts[persona] = response.content.decode()
    for name in ("alpha-web", "bravo-pay", "stage-web"):
        assert name in texts["admin"]
    assert "alpha-web" in texts["member"]
    assert leaks(texts["member"]) == []
    assert "alpha" not in texts["outsider"]
    assert leaks(texts["outsider"]) == []
