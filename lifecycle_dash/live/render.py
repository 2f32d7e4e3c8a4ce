"""The dashboard's live view of one connection: which rows the browser shows, and the frames
that keep them current.

``PageWindow`` mirrors the browser's table for one WebSocket: the rows of its page in the
filter's sort order (at most ``limit``), and the page's bounds. A batch of changed pods is
applied to it in memory, producing row operations (replace in place, insert before a
neighbour, delete) that ``render_frame`` turns into ONE HTML frame of out-of-band swaps from
the same ``row`` fragment the page uses.

Everything here is synchronous and is called from the consumer through
``database_sync_to_async`` (it reads the database and renders templates).
"""

from __future__ import annotations

import bisect
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.template.loader import render_to_string

from lifecycle_dash.ingest.models import Cluster, Pod
from lifecycle_dash.web.filters import PodFilter, Sort
from lifecycle_dash.web.rendering import PodRow, counts_context, pod_row, row_dom_id
from lifecycle_dash.web.selectors import (
    StatusCounts,
    pod_matches,
    pod_page,
    pod_sort_key,
    pod_status_counts,
    pods_by_uid,
)

__all__ = ["COUNTS_INTERVAL", "Op", "PageWindow", "Round", "batch_frames", "render_frame"]

log = logging.getLogger(__name__)

# Counts are one GROUP BY over the filter: refreshed at most this often per filter per process,
# however many dashboards and batches there are.
COUNTS_INTERVAL = 2.0
COUNTS_COST_SHARE = 20.0
# filter key -> (when counted, counts, seconds the count took)
_counts_cache: dict[tuple[Any, ...], tuple[float, StatusCounts, float]] = {}
# filter key -> when the filter is next counted: one schedule for all its dashboards, so ten
# pages of one filter owing counts after a burst wait for ONE count, not one each.
_counts_due: dict[tuple[Any, ...], float] = {}


@dataclass(frozen=True, slots=True)
class Op:
    action: str  # replace | insert | delete | refresh
    row: PodRow | None = None
    where: str = ""
    dom_id: str = ""
    rows: tuple[PodRow, ...] = ()


@dataclass(slots=True)
class PageWindow:
    pod_filter: PodFilter
    keys: list[tuple[Any, ...]] = field(default_factory=list)  # sort keys, ascending
    uids: list[str] = field(default_factory=list)  # same order as keys
    # Lower bound (exclusive) of the page: the cursor's key; None on the first page.
    lower: tuple[Any, ...] | None = None
    # Upper bound (inclusive): the last row's key when more pages follow, else None.
    upper: tuple[Any, ...] | None = None
    counts_due_at: float = 0.0
    counts_owed: bool = False
    counts_owed_since: float = 0.0
    # Cluster name -> id, to place a message's pod in the NAME order without a query.
    cluster_ids: dict[str, int] = field(default_factory=dict)
    # The same, hashable: part of ``range_key``.
    clusters_key: frozenset[tuple[str, int]] = frozenset()

    @property
    def cluster_id(self) -> int | None:
        """The id of the filter's cluster as read with the page: no query to look it up."""
        return self.cluster_ids.get(self.pod_filter.cluster or "")

    @property
    def shown(self) -> set[str]:
        return set(self.uids)

    def load(self, *, now: datetime) -> list[Op]:
        """Read the page (2 queries: clusters, page): a full refresh for a (re)connect."""
        self.cluster_ids = dict(Cluster.objects.values_list("name", "id"))
        self.clusters_key = frozenset(self.cluster_ids.items())
        page = pod_page(pod_filter=self.pod_filter, now=now, cluster_id=self.cluster_id)
        self.keys = [pod_sort_key(p, self.pod_filter.sort) for p in page.pods]
        self.uids = [p.uid for p in page.pods]
        self.upper = self.keys[-1] if page.next_cursor is not None and self.keys else None
        cursor = self.pod_filter.after
        if cursor is not None:
            self.lower = _cursor_sort_key(cursor.key, cursor.id, self.pod_filter)
        return [Op("refresh", rows=tuple(pod_row(p, now=now) for p in page.pods))]

    def may_show(self, fields: Mapping[str, Any]) -> bool:
        """False when a ``pod.changed`` message's own fields place an unshown pod outside this
        page's range, so heavy churn elsewhere costs this connection no query at all.

        Only a prefix of the sort key is known (not the row id), so only a strict comparison
        of that prefix with the page's bounds can exclude a pod.
        """
        return fields.get("uid") in self.uids or self.may_enter(fields)

    def may_enter(self, fields: Mapping[str, Any]) -> bool:
        """``may_show`` for a pod that is not shown: whether its sort key may fall inside."""
        prefix = self._message_prefix(fields)
        if prefix is None:
            return True
        size = len(prefix)
        if self.upper is not None and prefix > self.upper[:size]:
            return False
        return not (self.lower is not None and prefix < self.lower[:size])

    def range_key(self) -> tuple[Any, ...]:
        """Equal for windows whose ``may_enter`` and filter agree on every message: the
        dashboards of a process on the same page share one prefilter per batch."""
        return (self.pod_filter, self.lower, self.upper, self.clusters_key)

    def _message_prefix(self, fields: Mapping[str, Any]) -> tuple[Any, ...] | None:
        sort = self.pod_filter.sort
        if sort is Sort.NAME:
            cluster_id = self.cluster_ids.get(str(fields.get("cluster")))
            namespace, name = fields.get("namespace"), fields.get("name")
            if cluster_id is None or not isinstance(namespace, str) or not isinstance(name, str):
                return None  # a cluster added since the page loaded: let the query decide
            return (cluster_id, namespace, name)
        if sort is Sort.STATUS and isinstance(fields.get("status"), str):
            return (fields["status"],)
        restarts = fields.get("restarts")
        if sort is Sort.RESTARTS and isinstance(restarts, int):
            return (-restarts,)
        return None  # AGE: the creation time is not in the message

    def _in_range(self, key: tuple[Any, ...]) -> bool:
        if self.lower is not None and key <= self.lower:
            return False
        return self.upper is None or key <= self.upper

    def apply(
        self, pods: list[Pod], gone: set[str], *, now: datetime, shared: Round | None = None
    ) -> list[Op]:
        """Row operations for a batch: ``pods`` re-read, ``gone`` uids no longer in the DB."""
        ops: list[Op] = []
        limit = self.pod_filter.limit
        # In uid order: a frame must not depend on set iteration (the hash seed) or on the
        # order the database returned the rows, so every connection of a round and a
        # connection reading alone send the same frame for the same batch.
        for uid in sorted(gone):
            if uid in self.uids:
                self._remove(uid)
                ops.append(Op("delete", dom_id=row_dom_id(uid)))
        for pod in sorted(pods, key=lambda p: p.uid):
            was_shown = pod.uid in self.uids
            old_index = self.uids.index(pod.uid) if was_shown else -1
            if was_shown:
                self._remove(pod.uid)
            key = pod_sort_key(pod, self.pod_filter.sort)
            if not pod_matches(pod=pod, pod_filter=self.pod_filter, now=now) or not self._in_range(
                key
            ):
                if was_shown:
                    ops.append(Op("delete", dom_id=row_dom_id(pod.uid)))
                continue
            index = bisect.bisect_left(self.keys, key)
            row = shared.row(pod) if shared is not None else pod_row(pod, now=now)
            if was_shown and index == old_index:
                self.keys.insert(index, key)
                self.uids.insert(index, pod.uid)
                ops.append(Op("replace", row=row))
                continue
            if was_shown:
                ops.append(Op("delete", dom_id=row_dom_id(pod.uid)))
            if index >= len(self.uids) and len(self.uids) >= limit:
                continue  # after the last row of a full page: it belongs to a later page
            if not self.uids:
                ops.append(Op("delete", dom_id="pod-empty"))
            where = (
                f"beforebegin:#{row_dom_id(self.uids[index])}"
                if index < len(self.uids)
                else "beforeend:#pod-rows"
            )
            self.keys.insert(index, key)
            self.uids.insert(index, pod.uid)
            ops.append(Op("insert", row=row, where=where))
        # A full page stays full: rows pushed past the end leave (they are on the next page).
        while len(self.uids) > limit:
            uid = self.uids.pop()
            self.keys.pop()
            self.upper = self.keys[-1]
            ops.append(Op("delete", dom_id=row_dom_id(uid)))
        return _collapse(ops)

    def _remove(self, uid: str) -> None:
        index = self.uids.index(uid)
        del self.uids[index]
        del self.keys[index]

    def counts(
        self, *, now: datetime, force: bool = False, since: float | None = None
    ) -> StatusCounts | None:
        """Counts when due (shared per filter across the process), else None (0 or 1 query).

        ``since``: counts owed since that ``time.monotonic()`` instant, due now; a count of
        the filter made after it (by another connection) serves without a query.
        """
        clock = time.monotonic()
        if not force and since is None and clock < self.counts_due_at:
            return None
        key = _counts_key(self.pod_filter)
        cached = _counts_cache.get(key)
        # A filter whose GROUP BY is slow (a large cluster, a busy database) is counted less
        # often: at most 1/COUNTS_COST_SHARE of the time goes to counting it.
        cost = cached[2] if cached is not None else 0.0
        self.counts_due_at = clock + max(COUNTS_INTERVAL, cost * COUNTS_COST_SHARE)
        if cached is not None and not force:
            fresh = (
                cached[0] >= since if since is not None else clock - cached[0] < COUNTS_INTERVAL / 2
            )
            if fresh:
                return cached[1]
        shared_due = _counts_due.get(key, 0.0)
        if not force and clock < shared_due:
            # Another page of this filter counted lately and counts again then: wait for it.
            self.counts_due_at = shared_due
            return None
        # The cluster's id as read with the page: counting costs one query, not two.
        counts = pod_status_counts(pod_filter=self.pod_filter, now=now, cluster_id=self.cluster_id)
        if len(_counts_cache) > 1000:
            _counts_cache.clear()
            _counts_due.clear()
        _counts_cache[key] = (clock, counts, time.monotonic() - clock)
        _counts_due[key] = self.counts_due_at
        return counts

    def batch(self, uids: set[str], *, now: datetime, shared: Round | None = None) -> str:
        """The frame for these changed pods ("" if nothing shows): re-read in one query, or
        taken from ``shared``, the round that re-read every connection's pods at once."""
        if shared is None:
            pods = pods_by_uid(uids=uids)
        else:
            pods = [shared.pods[uid] for uid in uids if uid in shared.pods]
        gone = uids - {p.uid for p in pods}
        ops = self.apply(pods, gone, now=now, shared=shared)
        # In a shared round a counts query would hold every connection's frame, and counts
        # cached before the round may miss its changes: there they are always owed, and
        # follow in a frame of their own (one query per filter, see ``since``).
        due = shared is None and bool(ops or pods)
        counts = self.counts(now=now) if due else None
        # Counts skipped for the interval are owed: the consumer sends them when due.
        if counts is None and (ops or pods):
            self.counts_owed = True
            self.counts_owed_since = time.monotonic()
        elif counts is not None:
            self.counts_owed = False
        return render_frame(ops, counts=counts, pod_filter=self.pod_filter, shared=shared)

    def owed_counts_frame(self, *, now: datetime) -> str:
        """The counts a throttled batch skipped (0 or 1 query); "" while they stay owed
        until the filter's next count (``counts_due_at``)."""
        if not self.counts_owed:
            return ""
        counts = self.counts(now=now, since=self.counts_owed_since)
        if counts is None:
            return ""
        self.counts_owed = False
        return render_frame([], counts=counts, pod_filter=self.pod_filter)


def _cursor_sort_key(key: tuple[Any, ...], pk: int, pod_filter: PodFilter) -> tuple[Any, ...]:
    if pod_filter.sort is Sort.AGE:
        return (-key[0].timestamp(), -pk)
    if pod_filter.sort is Sort.RESTARTS:
        return (-key[0], -pk)
    return (*key, pk)


def _counts_key(pod_filter: PodFilter) -> tuple[Any, ...]:
    # The viewer's scope is part of the key: two viewers of one filter may see other pods.
    params = sorted((k, v) for k, v in pod_filter.params if k not in ("sort", "limit", "status"))
    return (pod_filter.access, *params)


def _collapse(ops: list[Op]) -> list[Op]:
    """Fold repeated deletes of one row; order is kept (the browser applies ops in sequence)."""
    seen: set[str] = set()
    result: list[Op] = []
    for op in ops:
        if op.action == "delete":
            if op.dom_id in seen:
                continue
            seen.add(op.dom_id)
        elif op.row is not None:
            seen.discard(op.row.dom_id)
        result.append(op)
    return result


@dataclass(slots=True)
class Round:
    """What one round of batches shares across the connections of a process: the changed pods
    re-read once, their rows and their rendered operations (a row is the same HTML on every
    page that shows it, so 20 dashboards cost one render, not 20)."""

    now: datetime
    pods: dict[str, Pod]
    rows: dict[str, PodRow] = field(default_factory=dict)
    fragments: dict[tuple[str, str, str], str] = field(default_factory=dict)

    @classmethod
    def read(cls, uids: set[str], *, now: datetime) -> Round:
        """One query for the pods of every connection's batch."""
        return cls(now=now, pods={pod.uid: pod for pod in pods_by_uid(uids=uids)})

    def row(self, pod: Pod) -> PodRow:
        row = self.rows.get(pod.uid)
        if row is None:
            row = self.rows[pod.uid] = pod_row(pod, now=self.now)
        return row

    def fragment(self, op: Op) -> str:
        key = (op.action, op.where, op.row.dom_id if op.row is not None else op.dom_id)
        html = self.fragments.get(key)
        if html is None:
            html = self.fragments[key] = render_to_string(
                "web/dashboard.html#frame", {"ops": [op], "counts_oob": False}
            )
        return html


def batch_frames(batches: list[tuple[PageWindow, set[str]]], *, now: datetime) -> list[str]:
    """The frames of many connections' batches, in order, from ONE pod query; a batch that
    fails yields "" (logged) and leaves the others alone."""
    shared = Round.read(set().union(*(uids for _, uids in batches)), now=now)
    frames: list[str] = []
    for window, uids in batches:
        try:
            frames.append(window.batch(uids, now=now, shared=shared))
        except Exception:
            log.exception("dashboard batch failed")
            frames.append("")
    return frames


def render_frame(
    ops: list[Op],
    *,
    counts: StatusCounts | None,
    pod_filter: PodFilter,
    shared: Round | None = None,
) -> str:
    if not ops and counts is None:
        return ""
    if shared is not None and ops and all(op.action != "refresh" for op in ops):
        # The same markup as one render of the whole frame: the partial is a plain loop.
        head = "".join(shared.fragment(op) for op in ops)
        tail = "" if counts is None else render_frame([], counts=counts, pod_filter=pod_filter)
        return head + tail
    context: dict[str, Any] = {
        "ops": ops,
        "counts_oob": counts is not None,
        "no_access": pod_filter.access.nothing,
    }
    if counts is not None:
        context.update(counts_context(counts, pod_filter=pod_filter))
    return render_to_string("web/dashboard.html#frame", context)
