"""Row and count contexts for the dashboard: what a template displays, computed here.

The same ``PodRow`` feeds the full page, the htmx table fragment and the WebSocket frame
(``web/dashboard.html#row``). Time-relative columns are computed at render time from stored
instants (``format_age``), never stored as text: "(5m ago)" would be stale a minute later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lifecycle_dash.ingest.models import Pod
from lifecycle_dash.lifecycle.kubectl import format_age, translate_timestamp_since
from lifecycle_dash.lifecycle.status_kinds import StatusKind, status_kind
from lifecycle_dash.web.filters import PodFilter
from lifecycle_dash.web.selectors import COUNT_EXACT_LIMIT, StatusCounts

__all__ = [
    "CountChip",
    "PodRow",
    "count_chips",
    "counts_context",
    "pod_row",
    "rfc3339",
    "row_dom_id",
    "status_severity",
]

_SEVERITY_OF_KIND = {
    StatusKind.CRASH: "bad",
    StatusKind.FAILED: "bad",
    StatusKind.DONE: "done",
    StatusKind.PENDING: "warn",
    StatusKind.TERMINATING: "warn",
    StatusKind.NOT_READY: "warn",
    StatusKind.OTHER: "unknown",
}


def status_severity(status: str, ready: str) -> str:
    """CSS severity of a STATUS: ok, warn, bad, done (finished, quiet) or unknown."""
    kind = status_kind(status)
    if kind is StatusKind.RUNNING:
        ready_count, _, total = ready.partition("/")
        return "ok" if ready_count == total and total not in ("", "0") else "warn"
    return _SEVERITY_OF_KIND[kind]


def rfc3339(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def row_dom_id(uid: str) -> str:
    # uids are [0-9a-f-]; other characters are replaced so the id stays a plain CSS ident.
    return "pod-" + "".join(ch if ch.isalnum() or ch == "-" else "_" for ch in uid)


@dataclass(frozen=True, slots=True)
class PodRow:
    dom_id: str
    uid: str
    cluster: str
    namespace: str
    name: str
    ready: str
    status: str
    severity: str
    restarts: str
    last_restart_iso: str
    age: str
    created_iso: str
    node: str
    owner: str
    owner_title: str
    deleted: bool
    deleted_iso: str
    deleted_ago: str
    terminating: bool


def pod_row(pod: Pod, *, now: datetime) -> PodRow:
    restarts = str(pod.restarts)
    if pod.restarts and pod.last_restart_at is not None:
        restarts = f"{pod.restarts} ({format_age(now - pod.last_restart_at)} ago)"
    created = pod.created_at or pod.first_observed_at
    owner = pod.owner_name
    deleted = pod.deleted_at is not None
    return PodRow(
        dom_id=row_dom_id(pod.uid),
        uid=pod.uid,
        cluster=pod.cluster.name,
        namespace=pod.namespace,
        name=pod.name,
        ready=pod.ready or "-",
        status=pod.status or pod.phase or "-",
        severity="gone" if deleted else status_severity(pod.status, pod.ready),
        restarts=restarts,
        last_restart_iso=rfc3339(pod.last_restart_at),
        age=translate_timestamp_since(created, now=now),
        created_iso=rfc3339(created),
        node=pod.node_name or "<none>",
        owner=owner or "<none>",
        owner_title=f"{pod.owner_kind}/{pod.owner_name}" if pod.owner_kind else "",
        deleted=deleted,
        deleted_iso=rfc3339(pod.deleted_at),
        deleted_ago=format_age(now - pod.deleted_at) if pod.deleted_at is not None else "",
        terminating=pod.status == "Terminating",
    )


@dataclass(frozen=True, slots=True)
class CountChip:
    status: str
    count: int
    severity: str
    href: str
    active: bool


def count_chips(counts: StatusCounts, *, pod_filter: PodFilter) -> list[CountChip]:
    chips = []
    for status, count in counts.by_status:
        active = status == pod_filter.status
        # Clicking the active chip clears the STATUS filter again.
        query = pod_filter.querystring(status=None if active else status)
        chips.append(
            CountChip(
                status=status,
                count=count,
                # READY is unknown for an aggregate; Running counts as ok here.
                severity=status_severity(status, "1/1"),
                href=f"?{query}" if query else "?",
                active=active,
            )
        )
    return chips


def counts_context(counts: StatusCounts, *, pod_filter: PodFilter) -> dict[str, Any]:
    """What the ``counts`` fragment needs (shared with the WebSocket frame)."""
    return {
        "filter": pod_filter,
        "query": pod_filter.querystring(),
        "all_query": pod_filter.querystring(status=None),
        "chips": count_chips(counts, pod_filter=pod_filter),
        "total": counts.total,
        "estimated": counts.estimated,
        "exact_limit": COUNT_EXACT_LIMIT,
    }
