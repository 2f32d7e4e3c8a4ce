"""Three personas across the HTML pages: dashboard, timeline, review, time travel, exports,
saved incidents, and the staff-only pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
from django.test import Client

from lifecycle_dash.lifecycle import format_rfc3339
from lifecycle_dash.web.models_review import Incident
from tests.access.world import Personas, World, leaks

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

WINDOW = "from=-15m&to=now"
HTMX_PROBLEMS = {"HX-Request": "true", "HX-Target": "problems"}


def without_echo(page: str, query: str) -> str:
    """The page minus the values the viewer typed (the form shows them back)."""
    for _, value in parse_qsl(query):
        page = page.replace(value, "")
    return page


def html(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


def test_the_dashboard_shows_each_persona_only_its_rows_and_counts(
    world: World, admin: Client, member: Client, outsider: Client
) -> None:
    everything = admin.get("/")
    for name in world.live:
        assert name in html(everything)
    assert everything.context["total"] == len(world.live)

    mine = member.get("/")
    page = html(mine)
    for name in world.member_live:
        assert name in page
    assert leaks(page) == []
    assert mine.context["total"] == len(world.member_live)
    assert [row.name for row in mine.context["rows"]] == world.member_live

    nothing = outsider.get("/")
    page = html(nothing)
    assert "alpha" not in page
    assert leaks(page) == []
    assert nothing.context["total"] == 0
    assert "You have not been granted access to any namespace yet" in page


def test_asking_for_a_hidden_namespace_or_cluster_finds_nothing(member: Client) -> None:
    for query in ("namespace=team-b-pay", "cluster=staging", "q=bravo", "deleted=1&q=stage"):
        response = member.get(f"/?{query}")
        page = html(response)
        assert response.context["total"] == 0, query
        assert leaks(without_echo(page, query)) == [], query
        assert "No pods match these filters." in page


def test_the_cluster_choices_list_only_reachable_clusters(
    admin: Client, member: Client, outsider: Client
) -> None:
    assert admin.get("/").context["clusters"] == ["prod", "staging"]
    assert member.get("/").context["clusters"] == ["prod"]
    assert outsider.get("/").context["clusters"] == []
    assert 'value="staging"' not in html(member.get("/review/"))
    assert 'value="prod"' not in html(outsider.get(f"/review/at/?{WINDOW}"))


def test_recent_problems_stay_inside_the_viewers_namespaces(
    admin: Client, member: Client, outsider: Client
) -> None:
    everything = html(admin.get("/", headers=HTMX_PROBLEMS))
    for name in ("alpha-worker", "bravo-worker", "alpha-web", "bravo-pay", "stage-web"):
        assert name in everything
    problems = member.get("/").context["problems"]
    assert {p.name.split("-")[0] for p in problems} == {"alpha"}
    assert {p.kind for p in problems} >= {"crashloop", "sigkill"}
    fragment = html(member.get("/", headers=HTMX_PROBLEMS))
    assert "alpha-worker" in fragment
    assert "alpha-web" in fragment
    assert leaks(fragment) == []
    assert outsider.get("/").context["problems"] == []
    assert leaks(html(outsider.get("/", headers=HTMX_PROBLEMS))) == []


@pytest.mark.parametrize("suffix", ["", "header", "lanes", "waterfalls", "events"])
def test_a_timeline_outside_the_scope_is_not_found(
    world: World, admin: Client, member: Client, outsider: Client, suffix: str
) -> None:
    def get(client: Client, story: str) -> int:
        return int(client.get(f"/pods/{world.story(story).uid}/{suffix}").status_code)

    assert [get(admin, s) for s in ("alpha", "bravo", "stage")] == [200, 200, 200]
    assert [get(member, s) for s in ("alpha", "bravo", "stage")] == [200, 404, 404]
    assert [get(outsider, s) for s in ("alpha", "bravo", "stage")] == [404, 404, 404]
    # The same answer as a uid that never existed: nothing tells them apart.
    assert member.get(f"/pods/acce5500-0000-4000-8000-ffffffffffff/{suffix}").status_code == 404


def test_the_member_timeline_shows_its_pod(world: World, member: Client) -> None:
    page = html(member.get(f"/pods/{world.alpha.uid}/"))
    assert "alpha-web-7d9f8b6c5-sk1ll" in page
    assert leaks(page) == []


def _assert_scoped(admin_text: str, member_text: str, outsider_text: str) -> None:
    for name in ("alpha-web", "bravo-pay", "stage-web"):
        assert name in admin_text, name
    assert "alpha-web" in member_text
    assert leaks(member_text) == []
    assert "alpha" not in outsider_text
    assert leaks(outsider_text) == []


def test_the_review_page_and_its_diagnoses_are_scoped(
    admin: Client, member: Client, outsider: Client
) -> None:
    for path in (f"/review/?{WINDOW}", f"/review/diagnoses?{WINDOW}"):
        headers = {"HX-Request": "true"} if "diagnoses" in path else {}
        texts = [html(c.get(path, headers=headers)) for c in (admin, member, outsider)]
        _assert_scoped(*texts)


def test_a_review_filter_cannot_widen_the_scope(member: Client) -> None:
    for query in ("namespace=team-b-pay", "cluster=staging", "selector=app"):
        page = html(member.get(f"/review/?{WINDOW}&{query}"))
        assert leaks(without_echo(page, query)) == [], query


@pytest.mark.parametrize("fmt", ["md", "json", "csv"])
def test_each_export_format_is_scoped(
    admin: Client, member: Client, outsider: Client, fmt: str
) -> None:
    path = f"/review/export.{fmt}?{WINDOW}"
    _assert_scoped(*(html(c.get(path)) for c in (admin, member, outsider)))


def test_time_travel_shows_only_reachable_pods(
    world: World, admin: Client, member: Client, outsider: Client
) -> None:
    at = format_rfc3339(world.alpha.base + timedelta(seconds=30))
    path = f"/review/at/?{WINDOW}&t={at}"
    responses = [c.get(path) for c in (admin, member, outsider)]
    _assert_scoped(*(html(r) for r in responses))
    names = [sorted(row.name for row in r.context["rows"]) for r in responses]
    assert "alpha-web-7d9f8b6c5-sk1ll" in names[0]
    assert "bravo-pay-7d9f8b6c5-sk1ll" in names[0]
    assert names[1] == sorted(["alpha-web-7d9f8b6c5-sk1ll", *world.member_live])
    assert names[2] == []


def test_a_saved_incident_shows_each_viewer_its_own_part(
    world: World, personas: Personas, admin: Client, member: Client, outsider: Client
) -> None:
    incident = Incident.objects.create(
        name="checkout outage",
        start=world.alpha.base - timedelta(minutes=1),
        end=world.alpha.base + timedelta(minutes=2),
        created_by=personas.admin,
    )
    path = f"/incidents/{incident.pk}/"
    for query in ("", "?format=md", "?format=json", "?format=csv"):
        _assert_scoped(html(admin.get(path + query)), html(member.get(path + query)), "")
        # Whoever sees no namespace at all is not shown that the incident exists.
        assert outsider.get(path + query).status_code == 404


def test_metrics_and_the_admin_stay_staff_only(
    personas: Personas, admin: Client, member: Client, outsider: Client
) -> None:
    for client in (member, outsider):
        assert client.get("/metrics").status_code == 403
        response = client.get("/admin/access/accessgrant/")
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    assert admin.get("/metrics").status_code == 200
    grants = html(admin.get("/admin/access/accessgrant/"))
    assert "team-a-*" in grants
    assert admin.get("/admin/access/accessgrant/add/").status_code == 200


def test_incidents_about_other_teams_are_neither_listed_nor_opened(
    world: World, personas: Personas, admin: Client, member: Client, outsider: Client
) -> None:
    start, end = world.alpha.base - timedelta(minutes=1), world.alpha.base + timedelta(minutes=2)
    saved = {
        name: Incident.objects.create(name=name, start=start, end=end, **filters)
        for name, filters in {
            "whole window": {},
            "checkout a": {"cluster": "prod", "namespace": "team-a-web"},
            "payments b": {"cluster": "prod", "namespace": "team-b-pay"},
            "staging a": {"cluster": "staging", "namespace": "team-a-web"},
        }.items()
    }

    def listed(client: Client) -> set[str]:
        page = html(client.get("/incidents/"))
        return {name for name in saved if f">{name}<" in page}

    assert listed(admin) == set(saved)
    assert listed(member) == {"whole window", "checkout a"}
    assert listed(outsider) == set()
    for name, incident in saved.items():
        opened = member.get(f"/incidents/{incident.pk}/").status_code
        assert opened == (200 if name in {"whole window", "checkout a"} else 404), name
        # Nor may its notes be edited.
        if opened == 404:
            posted = member.post(f"/incidents/{incident.pk}/", {"notes": "x"})
            assert posted.status_code == 404
        assert outsider.get(f"/incidents/{incident.pk}/").status_code == 404


def test_time_travel_steps_only_through_reachable_changes(
    world: World, admin: Client, member: Client, outsider: Client
) -> None:
    at = format_rfc3339(world.alpha.base + timedelta(seconds=30))
    path = f"/review/at/?{WINDOW}&t={at}"
    steps = [
        (r.context["prev_query"], r.context["next_query"])
        for r in map(lambda c: c.get(path), (admin, member, outsider))
    ]
    assert all(steps[0])
    assert all(steps[1])
    # Changes happened around T, but none the outsider may see: no step reveals them.
    assert steps[2] == ("", "")
