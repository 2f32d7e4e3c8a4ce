"""Writes of grants: ``grant_create`` and ``grant_revoke`` (the admin writes through its forms)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from lifecycle_dash.access.models import AccessGrant
from lifecycle_dash.access.patterns import InvalidPattern, validate_pattern
from lifecycle_dash.ingest.models import Cluster

__all__ = ["GrantError", "grant_create", "grant_revoke"]


class GrantError(ValueError):
    pass


@transaction.atomic
def grant_create(
    *,
    username: str = "",
    group: str = "",
    cluster: str = "",
    patterns: list[str],
    note: str = "",
) -> list[AccessGrant]:
    """Grant a user or a group (exactly one) these namespace patterns on one cluster, or on
    every cluster when ``cluster`` is empty. Grants that exist already are kept, not doubled."""
    if bool(username) == bool(group):
        raise GrantError("name either a user or a group")
    if not patterns:
        raise GrantError("name at least one namespace pattern")
    try:
        for pattern in patterns:
            validate_pattern(pattern)
    except InvalidPattern as error:
        raise GrantError(str(error)) from None
    who: dict[str, object] = {}
    if username:
        found_user = get_user_model().objects.filter(username=username).first()
        if found_user is None:
            raise GrantError(f"no user named {username!r}")
        who["user"] = found_user
    else:
        found_group = Group.objects.filter(name=group).first()
        if found_group is None:
            raise GrantError(f"no group named {group!r}")
        who["group"] = found_group
    target = None
    if cluster:
        target = Cluster.objects.filter(name=cluster).first()
        if target is None:
            raise GrantError(f"no cluster named {cluster!r}")
    grants = []
    for pattern in dict.fromkeys(patterns):
        grant, _ = AccessGrant.objects.get_or_create(
            **who, cluster=target, namespace_pattern=pattern, defaults={"note": note}
        )
        grants.append(grant)
    return grants


def grant_revoke(*, ids: list[int]) -> int:
    """Delete these grants; returns how many existed."""
    deleted, _ = AccessGrant.objects.filter(pk__in=ids).delete()
    return deleted
