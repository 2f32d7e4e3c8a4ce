"""Exports of a review: a Markdown postmortem summary, JSON and CSV.

* Markdown: the window and filters, observation gaps, causes with counts and first/last,
  affected workloads, diagnoses, and notable pod timelines as text: the termination sequence
  of each SIGKILLed pod (from its stored termination analysis) and each crash loop's exits.
* JSON: the grouped causes (what ``GET /api/v1/review`` answers) plus the affected pods with
  their transitions in the window.
* CSV: one line per transition of an affected pod in the window.

Times are RFC 3339 UTC throughout.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from lifecycle_dash.lifecycle import format_rfc3339
from lifecycle_dash.lifecycle.review import CAUSE_TITLES, ReviewCause
from lifecycle_dash.lifecycle.timeparse import try_parse_rfc3339
from lifecycle_dash.lifecycle.transitions import Transition
from lifecycle_dash.web.selectors_review import ReviewData, WorkloadDiagnoses

__all__ = ["CSV_COLUMNS", "review_csv", "review_document", "review_markdown"]

MAX_NOTABLE_PODS = 20
CSV_COLUMNS = (
    "cluster",
    "namespace",
    "pod",
    "pod_uid",
    "workload",
    "causes",
    "at",
    "time_source",
    "observed_at",
    "kind",
    "subject",
    "old",
    "new",
)


def _iso(moment: datetime | None) -> str | None:
    return format_rfc3339(moment) if moment is not None else None


def _causes_by_pod(data: ReviewData) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for h in data.happenings:
        if h.cause.value not in found[h.pod_uid]:
            found[h.pod_uid].append(h.cause.value)
    return found


def review_document(
    data: ReviewData,
    *,
    transitions: Sequence[Transition] | None = None,
    transitions_capped: bool = False,
) -> dict[str, Any]:
    """The review as JSON-safe data: causes per workload, gaps, affected pods (+ history)."""
    query = data.query
    causes = _causes_by_pod(data)
    pods = []
    by_pod: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in transitions or ():
        by_pod[t.pod_uid].append(
            {
                "at": _iso(t.at),
                "time_source": str(t.time_source),
                "observed_at": _iso(t.observed_at),
                "kind": str(t.kind),
                "subject": t.subject,
                "old": t.old,
                "new": t.new,
            }
        )
    for uid in data.affected_uids:
        info = data.pods.get(uid)
        item: dict[str, Any] = {"uid": uid, "causes": causes[uid]}
        if info is not None:
            kind, name = info.workload
            item.update(
                cluster=info.cluster,
                namespace=info.facts.namespace,
                name=info.facts.name,
                node=info.facts.node,
                workload={"kind": kind, "name": name},
                created_at=_iso(info.created_at),
                deleted_at=_iso(info.deleted_at),
            )
        if transitions is not None:
            item["transitions"] = by_pod.get(uid, [])
        pods.append(item)
    document: dict[str, Any] = {
        "window": {"from": _iso(query.start), "to": _iso(query.end)},
        "filters": dict(query.pod_filter.params),
        "truncated": data.truncated + (["export_transitions"] if transitions_capped else []),
        "gaps": [
            {
                "cluster": g.cluster,
                "resource": g.resource,
                "from": _iso(g.started_at),
                "to": _iso(g.ended_at),
                "reason": g.reason,
            }
            for g in data.gaps
        ],
        "causes": [
            {
                "cause": g.cause.value,
                "key": g.key,
                "title": g.title,
                "exit_code": g.exit_code,
                "explanation": g.explanation,
                "next_step": g.next_step,
                "count": g.count,
                "pods": len(g.pod_uids),
                "first": _iso(g.first),
                "last": _iso(g.last),
                "workloads": [
                    {
                        "namespace": w.namespace,
                        "kind": w.kind,
                        "name": w.name,
                        "count": w.count,
                        "first": _iso(w.first),
                        "last": _iso(w.last),
                        "pod_uids": w.pod_uids,
                    }
                    for w in g.workloads
                ],
            }
            for g in data.groups
        ],
        "pods": pods,
    }
    return document


def review_json(data: ReviewData, **kwargs: Any) -> bytes:
    return orjson.dumps(review_document(data, **kwargs), option=orjson.OPT_INDENT_2)


def review_csv(data: ReviewData, *, transitions: Sequence[Transition]) -> str:
    causes = _causes_by_pod(data)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for t in transitions:
        info = data.pods.get(t.pod_uid)
        workload = "/".join(info.workload) if info is not None else ""
        writer.writerow(
            (
                info.cluster if info else "",
                info.facts.namespace if info else "",
                info.facts.name if info else "",
                t.pod_uid,
                workload,
                " ".join(causes.get(t.pod_uid, ())),
                _iso(t.at),
                str(t.time_source),
                _iso(t.observed_at),
                str(t.kind),
                t.subject,
                "" if t.old is None else orjson.dumps(t.old).decode(),
                "" if t.new is None else orjson.dumps(t.new).decode(),
            )
        )
    return out.getvalue()


def _md(text: str) -> str:
    """Table-cell safe: no pipes or newlines break the Markdown table."""
    return text.replace("|", "\\|").replace("\n", " ")


def _point(analysis: dict[str, Any], name: str) -> str:
    point = analysis.get(name)
    if not isinstance(point, dict):
        return "unknown"
    at, earliest, latest = (_when(point.get(k)) for k in ("at", "earliest", "latest"))
    if at:
        return at
    if earliest or latest:
        return f"between {earliest or '?'} and {latest or '?'} (estimate)"
    return "unknown"


def _when(value: Any) -> str:
    moment = try_parse_rfc3339(value)
    return format_rfc3339(moment) if moment is not None else ""


def _termination_lines(analysis: dict[str, Any]) -> list[str]:
    lines = [
        f"  - cause: {analysis.get('cause', '?')}; deletion requested: "
        f"{_point(analysis, 'deletion_requested')}",
    ]
    grace = analysis.get("grace_period") or {}
    if isinstance(grace, dict) and grace.get("value") is not None:
        lines.append(f"  - grace period: {grace['value']:g} s")
    lines.append(f"  - endpoint withdrawn: {_point(analysis, 'endpoint_withdrawn')}")
    for container in analysis.get("containers") or ():
        if not isinstance(container, dict):
            continue
        lines.append(
            f"  - container {container.get('name')}: SIGTERM {_point(container, 'sigterm')}; "
            f"expected SIGKILL {_point(container, 'expected_sigkill')}; exited "
            f"{_point(container, 'exited')} with code {container.get('exit_code')}; "
            f"verdict {container.get('verdict')}"
        )
    lines.append(f"  - object deleted: {_point(analysis, 'deleted')}")
    return lines


def review_markdown(
    data: ReviewData, *, diagnoses: Sequence[WorkloadDiagnoses] = (), title: str = ""
) -> str:
    query = data.query
    names = data.names
    lines = [
        f"# {title or 'Incident review'}",
        "",
        f"- Window: {_iso(query.start)} to {_iso(query.end)} (UTC)",
        f"- Scope: {query.filters_text}",
        f"- Pods affected: {len(data.affected_uids)}",
    ]
    if data.truncated:
        lines.append(
            f"- Incomplete: the window held more {', '.join(data.truncated)} than one review "
            "reads; narrow the window or the filters."
        )
    lines.append("")
    if data.gaps:
        lines += ["## Observation gaps (history incomplete here)", ""]
        for gap in data.gaps:
            lines.append(
                f"- {gap.cluster} {gap.resource}: {_iso(gap.started_at)} to "
                f"{_iso(gap.ended_at)} ({gap.reason})"
            )
        lines.append("")
    lines += ["## What happened, by cause", ""]
    if not data.groups:
        lines += ["Nothing in this window.", ""]
    else:
        lines += [
            "| Cause | Workload | Count | Pods | First | Last |",
            "| --- | --- | ---: | ---: | --- | --- |",
        ]
        for g in data.groups:
            for w in g.workloads:
                lines.append(
                    f"| {_md(g.title)} | {_md(w.namespace)}/{_md(w.label)} | {w.count} | "
                    f"{len(w.pod_uids)} | {_iso(w.first)} | {_iso(w.last)} |"
                )
        lines.append("")
        for g in data.groups:
            if g.explanation:
                lines.append(f"- **{g.title}**: {g.explanation} {g.next_step}".rstrip())
        lines.append("")
    lines += ["## Affected workloads", ""]
    workloads = data.workloads()
    for namespace, kind, name, causes in workloads:
        lines.append(f"- {namespace}/{kind}/{name}: {', '.join(CAUSE_TITLES[c] for c in causes)}")
    if not workloads:
        lines.append("None.")
    lines.append("")
    if diagnoses:
        lines += ["## Diagnoses", ""]
        for d in diagnoses:
            for finding in d.findings:
                lines.append(
                    f"- {d.namespace}/{d.kind}/{d.name} ({finding.severity}): "
                    f"{finding.sentence} Next: {finding.next_step}"
                )
        lines.append("")

    notable: list[str] = []
    sigkilled = list(
        dict.fromkeys(
            h.pod_uid for h in data.happenings if h.cause is ReviewCause.SIGKILL_AFTER_GRACE
        )
    )
    for uid in sigkilled[:MAX_NOTABLE_PODS]:
        notable.append(f"- SIGKILLed pod {names.get(uid, uid)} (`{uid}`)")
        analysis = data.records.get(uid)
        if analysis:
            notable += _termination_lines(analysis)
    crashes: dict[str, list[tuple[datetime, str, int | None]]] = defaultdict(list)
    for h in data.happenings:
        if h.cause in (ReviewCause.CRASHED, ReviewCause.OOM_KILLED):
            crashes[h.pod_uid].append((h.at, h.container, h.exit_code))
    loops = [(uid, exits) for uid, exits in crashes.items() if len(exits) >= 2]
    for uid, exits in loops[:MAX_NOTABLE_PODS]:
        notable.append(f"- Crash loop of {names.get(uid, uid)} (`{uid}`): {len(exits)} exits")
        for at, container, code in exits[:20]:
            notable.append(f"  - {_iso(at)} container {container} exited with code {code}")
    if notable:
        lines += ["## Notable pod timelines", "", *notable, ""]
    return "\n".join(lines)
