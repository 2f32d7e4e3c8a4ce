from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError

from lifecycle_dash.access.models import AccessGrant
from lifecycle_dash.access.scope import NamespaceRule
from lifecycle_dash.access.selectors import access_scope
from tests.web.dashboard_factories import make_cluster

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("access", *args, stdout=out)
    return out.getvalue()


def test_grant_list_and_revoke_from_the_command_line(settings: Any) -> None:
    settings.ACCESS_CONTROL = "on"
    prod = make_cluster("prod")
    ana = get_user_model().objects.create_user("ana")
    ana.groups.add(Group.objects.create(name="team-a"))
    out = run("grant", "--group", "team-a", "--cluster", "prod", "--namespaces", "team-a-*,shared")
    assert "group team-a: prod / team-a-*" in out
    # Granting again keeps one row per grant.
    run("grant", "--group", "team-a", "--cluster", "prod", "--namespaces", "team-a-*")
    assert AccessGrant.objects.count() == 2
    assert set(access_scope(user=ana).rules) == {
        NamespaceRule(prod.pk, "prod", "team-a-*"),
        NamespaceRule(prod.pk, "prod", "shared"),
    }
    listed = run("list")
    assert "group team-a: prod / shared" in listed
    ids = [line.split("\t")[0] for line in listed.splitlines()]
    assert "revoked 2 grant(s)" in run("revoke", *ids)
    assert access_scope(user=ana).nothing


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "nobody", "--namespaces", "a"], "no user named 'nobody'"),
        (["--group", "nobody", "--namespaces", "a"], "no group named 'nobody'"),
        (["--user", "ana", "--cluster", "nope", "--namespaces", "a"], "no cluster named 'nope'"),
        (["--user", "ana", "--namespaces", "Team_A"], "is not a namespace pattern"),
        (["--user", "ana", "--namespaces", " , "], "at least one namespace pattern"),
    ],
)
def test_bad_grants_are_refused_with_a_reason(args: list[str], message: str) -> None:
    get_user_model().objects.create_user("ana")
    with pytest.raises(CommandError, match=message):
        run("grant", *args)
    assert not AccessGrant.objects.exists()
