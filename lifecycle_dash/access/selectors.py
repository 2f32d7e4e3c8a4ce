"""``access_scope(user)``: the viewer's scope from the grants in the database (one query).

Who sees what:

* ``ACCESS_CONTROL=off``: every signed-in user sees everything (grants are ignored);
* a superuser sees everything (the administrators, who also manage grants in the admin);
* anyone else sees the union of their own grants and their groups' grants; no grant, nothing.
* ``ACCESS_CONTROL=auto`` (the default) behaves like ``on`` as soon as one grant exists; until
  then every signed-in user sees everything, so a single-team install needs no setup.

Views compute the scope once per request (``request_access_scope``); WebSocket consumers once
per connection and again every ``RECHECK_SECONDS``, so a revoked grant stops a live view
within that time and any page load or API call after the change.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.http import HttpRequest

from lifecycle_dash.access.models import AccessGrant
from lifecycle_dash.access.scope import EVERYTHING, NOTHING, AccessScope, NamespaceRule
from lifecycle_dash.ingest.models import Cluster

__all__ = ["OPEN", "RECHECK_SECONDS", "access_scope", "request_access_scope"]

OPEN = AccessScope(everything=True, reason="open")
RECHECK_SECONDS = 30.0


def _grant_sql() -> str:
    grants = AccessGrant._meta.db_table
    clusters = Cluster._meta.db_table
    memberships = get_user_model().groups.through._meta.db_table
    return (
        f"SELECT g.cluster_id, coalesce(c.name, ''), g.namespace_pattern FROM {grants} g "
        f"LEFT JOIN {clusters} c ON c.id = g.cluster_id "
        f"WHERE g.user_id = %s OR g.group_id IN "
        f"(SELECT m.group_id FROM {memberships} m WHERE m.user_id = %s) "
        # In auto mode, one marker row (NULL pattern) when no grant exists at all.
        f"UNION ALL SELECT NULL, NULL, NULL WHERE %s AND NOT EXISTS (SELECT 1 FROM {grants})"
    )


def access_scope(*, user: Any) -> AccessScope:
    """The scope of this user now (0 queries for administrators, else 1)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NOTHING
    mode = settings.ACCESS_CONTROL
    if mode == "off":
        return OPEN
    if user.is_superuser:
        return EVERYTHING
    with connection.cursor() as cursor:
        cursor.execute(_grant_sql(), (user.pk, user.pk, mode == "auto"))
        rows = cursor.fetchall()
    if any(pattern is None for _, _, pattern in rows):
        return OPEN
    return AccessScope.from_rules(
        NamespaceRule(cluster_id, cluster, pattern) for cluster_id, cluster, pattern in rows
    )


def request_access_scope(request: HttpRequest) -> AccessScope:
    """The request user's scope, computed once per request (the API may swap the user in)."""
    user = getattr(request, "user", None)
    key = getattr(user, "pk", None)
    cached: tuple[Any, AccessScope] | None = getattr(request, "_access_scope", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    scope = access_scope(user=user)
    request._access_scope = (key, scope)  # type: ignore[attr-defined]
    return scope
