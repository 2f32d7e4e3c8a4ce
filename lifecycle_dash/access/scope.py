"""What one viewer may see: an ``AccessScope``, computed once per request or connection.

A scope is either *everything* (an administrator, or access control switched off) or a set
of rules ``(cluster or every cluster, namespace pattern)``. Readers apply it in two forms:

* ``pod_q()``: a ``Q`` over a model with a cluster foreign key and a namespace column, for
  querysets (pods, events: the predicate is ANDed into the query, so rows outside the scope
  are never read, counted or paged);
* ``allows()``: the same decision for one object in memory (a pod row, a ``pod.changed``
  message that carries the cluster name and namespace).

A scope is an immutable, hashable value: it is part of ``PodFilter`` (so every selector that
takes the dashboard's filter applies it) and of any cache key derived from one.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

from lifecycle_dash.access.patterns import (
    exact_namespace,
    namespace_matches,
    pattern_prefix,
    pattern_regex,
)

__all__ = ["EVERYTHING", "NOTHING", "AccessScope", "NamespaceRule"]


@dataclass(frozen=True, slots=True)
class NamespaceRule:
    # None = every cluster (then ``cluster`` is "").
    cluster_id: int | None
    cluster: str
    pattern: str

    def allows(self, *, cluster_id: int | None, cluster: str | None, namespace: str) -> bool:
        if self.cluster_id is not None:
            if cluster_id is not None and cluster_id != self.cluster_id:
                return False
            if cluster_id is None and cluster != self.cluster:
                return False
        return namespace_matches(self.pattern, namespace)

    def q(self, *, cluster_field: str, namespace_field: str) -> Q:
        condition = Q()
        if self.cluster_id is not None:
            condition &= Q(**{cluster_field: self.cluster_id})
        exact = exact_namespace(self.pattern)
        prefix = pattern_prefix(self.pattern)
        if exact is not None:
            condition &= Q(**{namespace_field: exact})
        elif prefix == "":
            pass  # "*": the whole cluster
        elif prefix is not None:
            condition &= Q(**{f"{namespace_field}__startswith": prefix})
            if _code_point_order():
                # The same rows as a range, which the (cluster, namespace, name) index answers:
                # PostgreSQL turns LIKE 'p%' into one only under the collation named "C", and
                # a team's few namespaces would otherwise cost a scan of its whole cluster.
                condition &= Q(**{f"{namespace_field}__gte": prefix}) & Q(
                    **{f"{namespace_field}__lt": _after_prefix(prefix)}
                )
        else:
            condition &= Q(**{f"{namespace_field}__regex": pattern_regex(self.pattern)})
        return condition


@functools.cache
def _code_point_order() -> bool:
    """Whether the database sorts text by code point (C, POSIX, C.UTF-8), so a prefix is a
    range of the column's own order. Asked once per process."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT datcollate FROM pg_database WHERE datname = current_database()")
        row = cursor.fetchone()
    collate = str(row[0]) if row else ""
    return collate in {"C", "POSIX"} or collate.upper().startswith("C.")


def _after_prefix(prefix: str) -> str:
    # Namespaces are [a-z0-9-]: every name starting with the prefix sorts before this one.
    return prefix[:-1] + chr(ord(prefix[-1]) + 1) if prefix else "\U0010ffff"


def _rule_key(rule: NamespaceRule) -> tuple[bool, int, str, str]:
    return (rule.cluster_id is None, rule.cluster_id or 0, rule.cluster, rule.pattern)


def _false() -> Q:
    # A real SQL "false" rather than Q(pk__in=[]): the latter raises EmptyResultSet when a
    # selector compiles its queryset to SQL text (the capped STATUS counts do).
    return Q(RawSQL("false", (), output_field=BooleanField()))


@dataclass(frozen=True, slots=True)
class AccessScope:
    everything: bool
    rules: tuple[NamespaceRule, ...] = ()
    # Why: "administrator", "open" (access control off, or no grant exists yet), "grants".
    reason: str = "grants"

    @classmethod
    def from_rules(cls, rules: Iterable[NamespaceRule]) -> AccessScope:
        # A canonical order, so equal grants make equal (and equally hashed) scopes.
        unique = tuple(sorted(set(rules), key=_rule_key))
        if any(r.cluster_id is None and r.pattern == "*" for r in unique):
            return cls(everything=True, reason="grants")
        return cls(everything=False, rules=unique)

    @property
    def nothing(self) -> bool:
        return not self.everything and not self.rules

    @property
    def cluster_ids(self) -> frozenset[int] | None:
        """The clusters this scope reaches, None when it reaches every cluster."""
        if self.everything or any(r.cluster_id is None for r in self.rules):
            return None
        return frozenset(r.cluster_id for r in self.rules if r.cluster_id is not None)

    @property
    def cluster_names(self) -> frozenset[str] | None:
        if self.cluster_ids is None:
            return None
        return frozenset(r.cluster for r in self.rules)

    def pod_q(self, *, cluster_field: str = "cluster_id", namespace_field: str = "namespace") -> Q:
        """The rows of a cluster-scoped model this scope reaches (everything: an empty Q)."""
        if self.everything:
            return Q()
        if not self.rules:
            return _false()
        condition = Q()
        for rule in self.rules:
            condition |= rule.q(cluster_field=cluster_field, namespace_field=namespace_field)
        return condition

    def cluster_q(self, *, cluster_field: str = "cluster_id") -> Q:
        """Rows about a whole cluster (watch gaps, clusters): any namespace of it reachable."""
        ids = self.cluster_ids
        if ids is None:
            return Q() if self.everything or self.rules else _false()
        return Q(**{f"{cluster_field}__in": sorted(ids)}) if ids else _false()

    def reaches(self, *, cluster: str = "", namespace: str = "") -> bool:
        """Whether a filter on this cluster name and namespace ("": any) can show anything
        (a saved incident about other teams' namespaces is not listed, nor opened)."""
        if self.everything:
            return True
        return any(
            (not cluster or rule.cluster_id is None or rule.cluster == cluster)
            and (not namespace or namespace_matches(rule.pattern, namespace))
            for rule in self.rules
        )

    def allows(
        self, *, namespace: str, cluster_id: int | None = None, cluster: str | None = None
    ) -> bool:
        """One object: by cluster id when known, else by cluster name (a channel message)."""
        if self.everything:
            return True
        return any(
            rule.allows(cluster_id=cluster_id, cluster=cluster, namespace=namespace)
            for rule in self.rules
        )


EVERYTHING = AccessScope(everything=True, reason="administrator")
NOTHING = AccessScope(everything=False)
