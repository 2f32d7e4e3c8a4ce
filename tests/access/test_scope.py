"""Grants -> scopes, and the scope's SQL predicate agreeing with its in-memory check."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.test import Client

from lifecycle_dash.access.models import AccessGrant
from lifecycle_dash.access.patterns import InvalidPattern, validate_pattern
from lifecycle_dash.access.scope import AccessScope, NamespaceRule
from lifecycle_dash.access.selectors import access_scope
from lifecycle_dash.ingest.models import Pod
from tests.web.dashboard_factories import make_cluster, make_pod

pytestmark = pytest.mark.django_db

NAMESPACES = (
    "team-a",
    "team-a-web",
    "team-a-api",
    "team-ab",
    "xteam-a-web",
    "team-b-pay",
    "kube-system",
    "web-prod",
    "api-prod",
    "prod",
    "a",
)
PATTERNS = ("team-a-*", "team-a", "*-prod", "team-?-*", "*", "*a*", "?", "kube-system", "t*m-b*y")


@pytest.mark.parametrize("pattern", ["team-a-*", "*", "a", "*-prod", "team-?", "x" * 63])
def test_namespace_patterns_are_accepted(pattern: str) -> None:
    assert validate_pattern(pattern) == pattern


@pytest.mark.parametrize("pattern", ["", "Team-A", "team_a", "team-[ab]", "a/b", "x" * 64, "% "])
def test_anything_else_is_rejected(pattern: str) -> None:
    with pytest.raises(InvalidPattern):
        validate_pattern(pattern)


def test_the_sql_predicate_selects_exactly_what_allows_accepts() -> None:
    prod, staging = make_cluster("prod"), make_cluster("staging")
    for cluster in (prod, staging):
        for namespace in NAMESPACES:
            make_pod(cluster, f"p-{namespace}", namespace=namespace)
    rule_sets = [
        *[(NamespaceRule(prod.pk, "prod", p),) for p in PATTERNS],
        *[(NamespaceRule(None, "", p),) for p in PATTERNS],
        (
            NamespaceRule(prod.pk, "prod", "team-a-*"),
            NamespaceRule(staging.pk, "staging", "*-prod"),
        ),
        (NamespaceRule(staging.pk, "staging", "kube-*"), NamespaceRule(None, "", "team-b-*")),
        (),
    ]
    for rules in rule_sets:
        scope = AccessScope.from_rules(rules)
        selected = set(Pod.objects.filter(scope.pod_q()).values_list("cluster_id", "namespace"))
        expected = {
            (cluster.pk, namespace)
            for cluster in (prod, staging)
            for namespace in NAMESPACES
            if any(
                r.cluster_id in (None, cluster.pk) and fnmatchcase(namespace, r.pattern)
                for r in rules
            )
        }
        assert selected == expected, rules
        for cluster in (prod, staging):
            for namespace in NAMESPACES:
                by_id = scope.allows(cluster_id=cluster.pk, namespace=namespace)
                by_name = scope.allows(cluster=cluster.name, namespace=namespace)
                assert by_id == by_name == ((cluster.pk, namespace) in expected), (rules, namespace)


def test_a_user_sees_the_union_of_its_own_and_its_groups_grants(
    settings: Any,
) -> None:
    settings.ACCESS_CONTROL = "on"
    prod, staging = make_cluster("prod"), make_cluster("staging")
    users = get_user_model().objects
    ana = users.create_user("ana")
    team, other = Group.objects.create(name="team-a"), Group.objects.create(name="team-b")
    ana.groups.add(team)
    AccessGrant.objects.create(group=team, cluster=prod, namespace_pattern="team-a-*")
    AccessGrant.objects.create(user=ana, cluster=staging, namespace_pattern="shared")
    AccessGrant.objects.create(group=other, namespace_pattern="*")
    scope = access_scope(user=ana)
    assert not scope.everything
    assert scope.rules == (
        NamespaceRule(prod.pk, "prod", "team-a-*"),
        NamespaceRule(staging.pk, "staging", "shared"),
    )
    assert scope.cluster_names == frozenset({"prod", "staging"})
    # One grant of * on every cluster is everything.
    AccessGrant.objects.create(user=ana, namespace_pattern="*")
    assert access_scope(user=ana).everything


def test_administrators_see_everything_and_inactive_users_nothing(
    settings: Any,
) -> None:
    settings.ACCESS_CONTROL = "on"
    users = get_user_model().objects
    assert access_scope(user=users.create_superuser("root", "", "pw-root-123")).everything
    gone = users.create_user("gone", is_active=False)
    AccessGrant.objects.create(user=gone, namespace_pattern="*")
    assert access_scope(user=gone).nothing


@pytest.mark.parametrize(
    ("mode", "grants_exist", "everything"),
    [
        ("auto", False, True),  # a fresh install: every signed-in user sees everything
        ("auto", True, False),  # the first grant turns access control on
        ("on", False, False),
        ("on", True, False),
        ("off", True, True),
    ],
)
def test_the_access_control_modes(
    settings: Any, mode: str, grants_exist: bool, everything: bool
) -> None:
    settings.ACCESS_CONTROL = mode
    users = get_user_model().objects
    viewer, someone = users.create_user("viewer"), users.create_user("someone")
    if grants_exist:
        AccessGrant.objects.create(user=someone, namespace_pattern="team-a-*")
    scope = access_scope(user=viewer)
    assert scope.everything is everything
    assert scope.nothing is not everything


def test_a_grant_names_a_user_or_a_group_once() -> None:
    ana = get_user_model().objects.create_user("ana")
    team = Group.objects.create(name="team-a")
    for fields in ({}, {"user": ana, "group": team}):
        with pytest.raises(IntegrityError), transaction.atomic():
            AccessGrant.objects.create(namespace_pattern="*", **fields)
    AccessGrant.objects.create(user=ana, namespace_pattern="team-a-*")
    with pytest.raises(IntegrityError), transaction.atomic():
        AccessGrant.objects.create(user=ana, namespace_pattern="team-a-*")


def test_the_admin_grants_access_and_rejects_a_bad_pattern() -> None:
    users = get_user_model().objects
    root = users.create_superuser("root", "", "pw-root-123")
    ana = users.create_user("ana")
    prod = make_cluster("prod")
    client = Client()
    client.force_login(root)
    form = {"user": ana.pk, "cluster": prod.pk, "namespace_pattern": "Team_A", "note": ""}
    rejected = client.post("/admin/access/accessgrant/add/", form)
    assert rejected.status_code == 200
    assert "is not a namespace pattern" in rejected.content.decode()
    form["namespace_pattern"] = "team-a-*"
    assert client.post("/admin/access/accessgrant/add/", form).status_code == 302
    assert access_scope(user=ana).rules == (NamespaceRule(prod.pk, "prod", "team-a-*"),)
