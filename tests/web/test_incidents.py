"""Saved incidents: the list, editing notes, permalinks of unknown ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError

from lifecycle_dash.web.models import Incident

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)


@pytest.fixture
def sre(client):
    user = get_user_model().objects.create_user(username="sre", password="pw")
    client.force_login(user)
    client.user = user
    return client


def test_the_list_shows_incidents_newest_window_first_in_four_queries(
    sre, django_assert_num_queries
):
    for i in range(5):
        Incident.objects.create(
            name=f"incident {i}",
            start=T0 + timedelta(hours=i),
            end=T0 + timedelta(hours=i, minutes=30),
            created_by=sre.user,
        )
    # session, user, access grants, incidents (with their authors joined).
    with django_assert_num_queries(4):
        html = sre.get("/incidents/").content.decode()

    positions = [html.index(f"incident {i}<") for i in range(5)]
    assert positions == sorted(positions, reverse=True)
    assert html.count('<td class="muted">sre</td>') == 5


def test_notes_can_be_edited_from_the_permalink(sre):
    incident = Incident.objects.create(name="x", start=T0, end=T0 + timedelta(hours=1))

    response = sre.post(f"/incidents/{incident.pk}/", {"notes": "Root cause: bad config push."})

    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.notes == "Root cause: bad config push."


def test_an_unknown_incident_is_a_404(sre):
    assert sre.get("/incidents/999999/").status_code == 404


def test_a_window_must_end_after_it_starts():
    with pytest.raises(IntegrityError):
        Incident.objects.create(name="x", start=T0, end=T0)


def test_the_permalink_markdown_carries_the_notes(sre):
    incident = Incident.objects.create(
        name="Night of the OOMs", start=T0, end=T0 + timedelta(hours=1), notes="Paged at 22:10."
    )

    response = sre.get(f"/incidents/{incident.pk}/?format=md")

    text = response.content.decode()
    assert text.startswith("# Night of the OOMs")
    assert "## Notes\n\nPaged at 22:10." in text
    assert response["Content-Disposition"] == f'attachment; filename="incident-{incident.pk}.md"'


def test_incidents_need_a_signed_in_user(client):
    assert client.get("/incidents/").status_code == 302
    assert client.post("/incidents/", {"name": "x"}).status_code == 302
