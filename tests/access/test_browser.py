"""The team member and the outsider on the live dashboard in headless Chromium (daphne, Redis,
PostgreSQL, the real ingest path): the member's page gains its team's pod live and never
the other team's; the outsider's page says why it is empty and stays so."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from lifecycle_dash.access.models import AccessGrant
from lifecycle_dash.ingest.models import Cluster
from tests.lifecycle import podfactory as f
from tests.support.browser import signed_in_page, wait_js
from tests.web.dashboard_factories import Feed

pytestmark = [pytest.mark.browser, pytest.mark.integration]

PASSWORD = "correct horse battery"


def uid(n: int) -> str:
    return f"acce5b70-0000-4000-8000-{n:012d}"


def sign_in(browser: Any, live_web: str, username: str) -> Any:
    return signed_in_page(browser, live_web, username=username, password=PASSWORD)


def wait_live(page: Any) -> None:
    page.wait_for_selector("#live-indicator[data-state=connected]", timeout=10_000)
    wait_js(page, "Number(document.body.dataset.frames || 0) >= 1")


@pytest.mark.django_db(transaction=True)
def test_the_member_sees_its_team_live_and_the_outsider_nothing(
    live_web: str, browser: Any
) -> None:
    feed = Feed()
    tag = uuid.uuid4().hex[:6]
    users = get_user_model().objects
    member = users.create_user(f"ana-{tag}", password=PASSWORD)
    users.create_user(f"oscar-{tag}", password=PASSWORD)
    team = Group.objects.create(name=f"team-a-{tag}")
    member.groups.add(team)
    AccessGrant.objects.create(
        group=team,
        cluster=Cluster.objects.get(name=feed.cluster_name),
        namespace_pattern="team-a-*",
    )
    feed.send(("ADDED", f.running_pod(uid=uid(1), name="alpha-old", namespace="team-a-web")))
    feed.send(("ADDED", f.running_pod(uid=uid(2), name="bravo-old", namespace="team-b-pay")))

    mine = sign_in(browser, live_web, f"ana-{tag}")
    wait_live(mine)
    theirs = sign_in(browser, live_web, f"oscar-{tag}")
    wait_live(theirs)
    assert mine.locator("#pod-rows tr.pod td.c-name").all_inner_texts() == ["alpha-old"]
    assert "not been granted access" in theirs.locator("#pod-rows").inner_text()
    assert theirs.locator("select[name=cluster] option").all_inner_texts() == ["all"]

    feed.send(("ADDED", f.running_pod(uid=uid(3), name="bravo-new", namespace="team-b-pay")))
    feed.send(("ADDED", f.running_pod(uid=uid(4), name="alpha-new", namespace="team-a-api")))
    mine.wait_for_selector(f"#pod-{uid(4)}")
    theirs.wait_for_timeout(1000)
    assert mine.locator("#pod-rows tr.pod td.c-name").all_inner_texts() == [
        "alpha-new",
        "alpha-old",
    ]
    assert theirs.locator("#pod-rows tr.pod").count() == 0
    assert "bravo" not in mine.content()
    assert "alpha" not in theirs.content()
    assert mine.errors == []
    assert theirs.errors == []
    mine.close()
    theirs.close()
