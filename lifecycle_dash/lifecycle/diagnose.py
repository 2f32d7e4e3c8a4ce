"""Diagnoses across the pods of one workload (owner kind/name).

One pod's bad shutdown is an anecdote; the same verdict on every pod of a Deployment is a
property of the image or the spec, and that is what an SRE can fix. ``diagnose_workload``
takes, per pod, whatever is known (termination and startup analyses, Events, last snapshot,
transitions) and returns findings, each with an id, a severity, one sentence, a next step and
its evidence (pod uids and counts), so the UI can link every claim to the pods behind it.

Only decided verdicts count: a pod whose exit is ``unknown`` neither supports nor refutes a
pattern, and the sentences say "N of M decided terminations".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from lifecycle_dash.lifecycle.events import (
    KillCause,
    PodEvent,
    ProbeKind,
    kill_cause,
    latest_event_versions,
    probe_failure,
)
from lifecycle_dash.lifecycle.explain import explain_exit_code
from lifecycle_dash.lifecycle.snapshot import ContainerRole, PodSnapshot
from lifecycle_dash.lifecycle.startup import SLO_SECONDS, StartupAnalysis
from lifecycle_dash.lifecycle.termination import TerminationAnalysis, Verdict
from lifecycle_dash.lifecycle.transitions import Transition, TransitionKind

__all__ = [
    "Diagnosis",
    "DiagnosisId",
    "PodEvidence",
    "Severity",
    "diagnose_workload",
]

SLOW_PULL_SECONDS = 30.0
CRASH_LOOP_MIN_RESTARTS = 3
READINESS_FLAP_MIN_DROPS = 2


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class DiagnosisId(StrEnum):
    IGNORES_SIGTERM = "ignores_sigterm"
    PRESTOP_OUTLASTS_GRACE = "prestop_outlasts_grace"
    TRAFFIC_RACE = "traffic_race"
    READINESS_FLAPS = "readiness_flaps"
    CRASH_LOOP_SAME_EXIT = "crash_loop_same_exit"
    OOM_KILLED = "oom_killed"
    LIVENESS_KILLS = "liveness_kills"
    SLOW_IMAGE_PULLS = "slow_image_pulls"
    SLOW_STARTS = "slow_starts"


@dataclass(frozen=True, slots=True)
class PodEvidence:
    pod_uid: str
    termination: TerminationAnalysis | None = None
    startup: StartupAnalysis | None = None
    events: Sequence[PodEvent] = ()
    snapshot: PodSnapshot | None = None
    transitions: Sequence[Transition] = ()


@dataclass(frozen=True, slots=True)
class Diagnosis:
    id: DiagnosisId
    severity: Severity
    sentence: str
    next_step: str
    pod_uids: tuple[str, ...]
    # A plain dict so the diagnosis serializes as is (orjson); treat it as read-only.
    counts: dict[str, Any] = field(default_factory=dict, hash=False)


def _freeze(counts: Mapping[str, Any]) -> dict[str, Any]:
    return dict(counts)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _workload(owner_kind: str, owner_name: str) -> str:
    return f"{owner_kind} {owner_name}" if owner_kind and owner_name else "this workload"


def _terminations(pods: Sequence[PodEvidence]) -> list[tuple[str, TerminationAnalysis]]:
    return [(p.pod_uid, p.termination) for p in pods if p.termination is not None]


def _sigterm_diagnoses(pods: Sequence[PodEvidence], who: str) -> list[Diagnosis]:
    decided: dict[str, list[tuple[str, Verdict, bool | None]]] = {}
    for uid, t in _terminations(pods):
        for c in t.containers:
            if c.role is ContainerRole.INIT or c.verdict is Verdict.UNKNOWN:
                continue
            decided.setdefault(c.name, []).append((uid, c.verdict, c.pre_stop_overran))
    result: list[Diagnosis] = []
    for container, items in sorted(decided.items()):
        killed = [(uid, overran) for uid, v, overran in items if v is Verdict.SIGKILL_AFTER_GRACE]
        if not killed:
            continue
        uids = tuple(sorted({uid for uid, _ in killed}))
        counts = {"decided_terminations": len(items), "sigkill_after_grace": len(killed)}
        overran = [uid for uid, o in killed if o]
        if overran and len(overran) == len(killed):
            result.append(
                Diagnosis(
                    DiagnosisId.PRESTOP_OUTLASTS_GRACE,
                    Severity.WARNING,
                    f"In {who}, container {container}'s preStop hook uses up the whole grace "
                    f"period in {len(killed)} of {len(items)} decided terminations, so the "
                    "process gets only about 2 s between SIGTERM and SIGKILL.",
                    "Shorten the preStop sleep or raise terminationGracePeriodSeconds so the "
                    "process has time to drain after SIGTERM.",
                    uids,
                    _freeze(counts),
                )
            )
            continue
        every = len(killed) == len(items)
        lead = (
            f"Every termination of {who} ({len(items)} decided) ends"
            if every
            else f"{len(killed)} of {len(items)} decided terminations of {who} end"
        )
        result.append(
            Diagnosis(
                DiagnosisId.IGNORES_SIGTERM,
                Severity.CRITICAL if every and len(items) > 1 else Severity.WARNING,
                f"{lead} with container {container} SIGKILLed when the grace period ran out: "
                "the process likely ignores SIGTERM (a shell entrypoint does).",
                'Exec the process from the entrypoint (exec "$@" or exec form in the '
                "Dockerfile) or trap TERM, or shorten terminationGracePeriodSeconds.",
                uids,
                _freeze(counts),
            )
        )
    return result


def _traffic_race(pods: Sequence[PodEvidence], who: str) -> list[Diagnosis]:
    judged = [(uid, t) for uid, t in _terminations(pods) if t.traffic_race is not None]
    racing = [uid for uid, t in judged if t.traffic_race]
    if not racing:
        return []
    return [
        Diagnosis(
            DiagnosisId.TRAFFIC_RACE,
            Severity.WARNING,
            f"In {len(racing)} of {len(judged)} terminations of {who} the endpoint was "
            "withdrawn later than SIGTERM could have been sent, so clients may have hit a "
            "stopping process.",
            "Add a preStop sleep (5-10 s) so endpoints and proxies let go before SIGTERM, and "
            "keep serving in-flight requests after it.",
            tuple(sorted(racing)),
            _freeze({"judged_terminations": len(judged), "traffic_race": len(racing)}),
        )
    ]


def _deletion_time(p: PodEvidence) -> datetime | None:
    if p.termination is not None and p.termination.started.at is not None:
        return p.termination.started.at
    if p.snapshot is not None:
        return p.snapshot.deletion_requested_at
    return None


def _probe_ready_drops(transitions: Sequence[Transition]) -> list[Transition]:
    """Ready True -> False drops that the readiness probe made, not a container stopping.

    A container that exits takes the pod out of Ready with it: in a crash loop every restart
    is also a Ready drop, and calling those "flaps" would send the reader to the readiness
    endpoint of a pod whose process is dying. A drop is the container's when, at that moment,
    some container's last known state is not running (its exit's finishedAt precedes the
    observation of the drop), or a restart was seen in the same observation (the container
    died and came back between two reads).
    """
    ordered = sorted(
        transitions,
        # Ties: the container's change first, so a drop observed with it is explained.
        key=lambda t: (t.at, t.kind is TransitionKind.POD_READY),
    )
    down: set[str] = set()
    restarted_at = {
        t.observed_at for t in transitions if t.kind is TransitionKind.CONTAINER_RESTART
    }
    drops: list[Transition] = []
    for t in ordered:
        if t.kind is TransitionKind.CONTAINER_STATE:
            if isinstance(t.new, str) and t.new == "running":
                down.discard(t.subject)
            elif t.new is None:
                down.discard(t.subject)  # the container is gone from the spec
            else:
                down.add(t.subject)
        elif (
            t.kind is TransitionKind.POD_READY
            and t.old is True
            and t.new is False
            and not down
            and t.observed_at not in restarted_at
        ):
            drops.append(t)
    return drops


def _readiness_flaps(pods: Sequence[PodEvidence], who: str) -> list[Diagnosis]:
    flapping: list[str] = []
    total_failures = 0
    total_drops = 0
    for p in pods:
        stop = _deletion_time(p)
        # Readiness keeps running while terminating; failures then are normal (reference §4).
        failures = sum(
            e.total_count
            for e in latest_event_versions(p.events)
            if probe_failure(e) is ProbeKind.READINESS
            and (stop is None or e.occurred_at is None or e.occurred_at < stop)
        )
        drops = sum(1 for t in _probe_ready_drops(p.transitions) if stop is None or t.at < stop)
        if drops >= READINESS_FLAP_MIN_DROPS or (drops >= 1 and failures >= 3):
            flapping.append(p.pod_uid)
            total_failures += failures
            total_drops += drops
    if not flapping:
        return []
    return [
        Diagnosis(
            DiagnosisId.READINESS_FLAPS,
            Severity.WARNING,
            f"The readiness probe of {who} flaps on {_plural(len(flapping), 'pod')}: Ready "
            f"dropped {total_drops} times with {total_failures} failed readiness probes, "
            "taking the pods in and out of their Services.",
            "Check what the readiness endpoint depends on and its timeoutSeconds; a probe "
            "that times out under load removes capacity exactly when it is needed.",
            tuple(sorted(flapping)),
            _freeze(
                {"pods": len(flapping), "ready_drops": total_drops, "failures": total_failures}
            ),
        )
    ]


def _restart_exits(p: PodEvidence) -> list[tuple[str, int, str]]:
    """(container, exit code, reason) of each restart we can date, from transitions and the
    snapshot's lastState (the latter only when no transition carried it)."""
    found: list[tuple[str, int, str]] = []
    for t in p.transitions:
        if t.kind is not TransitionKind.CONTAINER_RESTART:
            continue
        last = t.detail.get("last_state")
        if isinstance(last, Mapping) and isinstance(last.get("exit_code"), int):
            found.append((t.subject, last["exit_code"], str(last.get("reason") or "")))
    if not found and p.snapshot is not None:
        for s in p.snapshot.all_container_statuses:
            term = s.last_state.terminated
            if term is not None and s.restart_count:
                found.append((s.name, term.exit_code, term.reason))
    return found


def _restart_counts(p: PodEvidence) -> dict[str, int]:
    if p.snapshot is None:
        return {}
    return {s.name: s.restart_count for s in p.snapshot.all_container_statuses}


def _crash_loops(pods: Sequence[PodEvidence], who: str) -> list[Diagnosis]:
    by_container: dict[str, Counter[int]] = {}
    pods_by_container: dict[str, set[str]] = {}
    for p in pods:
        counts = _restart_counts(p)
        for container, code, reason in _restart_exits(p):
            if reason == "OOMKilled":
                continue  # reported as OOM
            if counts.get(container, CRASH_LOOP_MIN_RESTARTS) < CRASH_LOOP_MIN_RESTARTS:
                continue
            by_container.setdefault(container, Counter())[code] += 1
            pods_by_container.setdefault(container, set()).add(p.pod_uid)
    result: list[Diagnosis] = []
    for container, codes in sorted(by_container.items()):
        code, n = codes.most_common(1)[0]
        total = sum(codes.values())
        if n * 2 < total:
            continue  # no dominant exit code: not one bug
        meaning = explain_exit_code(code)
        uids = tuple(sorted(pods_by_container[container]))
        result.append(
            Diagnosis(
                DiagnosisId.CRASH_LOOP_SAME_EXIT,
                Severity.CRITICAL,
                f"Container {container} of {who} crash-loops with exit code {code} "
                f"({n} of {total} recorded exits, {_plural(len(uids), 'pod')}): "
                f"{meaning.sentence[0].lower()}{meaning.sentence[1:]}",
                "Read the previous container's logs (kubectl logs --previous) for why it "
                f"exits {code}. {meaning.next_step}",
                uids,
                _freeze({"exit_code": code, "exits": n, "recorded_exits": total}),
            )
        )
    return result


def _oom(pods: Sequence[PodEvidence], who: str) -> list[Diagnosis]:
    hits: Counter[str] = Counter()
    uids: set[str] = set()
    for p in pods:
        n = sum(1 for _, _, reason in _restart_exits(p) if reason == "OOMKilled")
        if p.termination is not None:
            n += sum(1 for c in p.termination.containers if c.verdict is Verdict.OOM_KILLED)
        elif p.snapshot is not None:
            n += sum(
                1
                for s in p.snapshot.all_container_statuses
                if s.state.terminated is not None and s.state.terminated.reason == "OOMKilled"
            )
        if n:
            hits[p.pod_uid] += n
            uids.add(p.pod_uid)
    if not uids:
        return []
    total = sum(hits.values())
    return [
        Diagnosis(
            DiagnosisId.OOM_KILLED,
            Severity.CRITICAL,
            f"{who[0].upper()}{who[1:]} was OOM-killed {_plural(total, 'time')} on "
            f"{_plural(len(uids), 'pod')}: a container exceeded its memory limit.",
            "Raise the memory limit (and request), or find what makes the process grow.",
            tuple(sorted(uids)),
            _freeze({"oom_kills": total, "pods": len(uids)}),
        )
    ]


def _liveness_kills(pods: Sequence[PodEvidence], who: str) -> list[Diagnosis]:
    kills = 0
    uids: set[str] = set()
    for p in pods:
        for e in latest_event_versions(p.events):
            if kill_cause(e) in (KillCause.LIVENESS_PROBE, KillCause.STARTUP_PROBE):
                kills += e.total_count
                uids.add(p.pod_uid)
    if not kills:
        return []
    return [
        Diagnosis(
            DiagnosisId.LIVENESS_KILLS,
            Severity.WARNING,
            f"Failing liveness or startup probes restarted containers of {who} "
            f"{_plural(kills, 'time')} on {_plural(len(uids), 'pod')}.",
            "Check the probe's endpoint, timeoutSeconds and failureThreshold; give slow "
            "starters a startupProbe instead of a long initialDelaySeconds.",
            tuple(sorted(uids)),
            _freeze({"probe_kills": kills, "pods": len(uids)}),
        )
    ]


def _slow_pulls(pods: Sequence[PodEvidence], who: str, threshold: float) -> list[Diagnosis]:
    slow: list[tuple[str, str, float]] = []
    for p in pods:
        if p.startup is None:
            continue
        for pull in p.startup.pulls:
            seconds = pull.duration_including_waiting.value or pull.duration.value
            if pull.pulled and seconds is not None and seconds >= threshold:
                slow.append((p.pod_uid, pull.image, seconds))
    if not slow:
        return []
    worst = max(slow, key=lambda s: s[2])
    images = sorted({image for _, image, _ in slow})
    return [
        Diagnosis(
            DiagnosisId.SLOW_IMAGE_PULLS,
            Severity.INFO,
            f"{_plural(len(slow), 'image pull')} for {who} took {threshold:.0f}s or more "
            f"(slowest {worst[2]:.1f}s for {worst[1]}).",
            "Use a smaller image, a registry mirror close to the nodes, or pre-pull the "
            "image; check imagePullPolicy is not Always without need.",
            tuple(sorted({uid for uid, _, _ in slow})),
            _freeze({"slow_pulls": len(slow), "slowest_seconds": worst[2], "images": images}),
        )
    ]


def _slow_starts(pods: Sequence[PodEvidence], who: str) -> list[Diagnosis]:
    measured: list[tuple[str, float]] = []
    for p in pods:
        if p.startup is None:
            continue
        value = p.startup.api_sli.pod_startup_sli.value
        if value is not None:
            measured.append((p.pod_uid, value))
    slow = [(uid, v) for uid, v in measured if v > SLO_SECONDS]
    if not slow:
        return []
    worst = max(v for _, v in slow)
    return [
        Diagnosis(
            DiagnosisId.SLOW_STARTS,
            Severity.WARNING if len(slow) * 2 > len(measured) else Severity.INFO,
            f"{len(slow)} of {len(measured)} measured pods of {who} took longer than the "
            f"{SLO_SECONDS:.0f}s pod-startup SLO to start, excluding image pulls and init "
            f"containers (slowest {worst:.1f}s).",
            "Look at the startup breakdown of the slowest pod: scheduling, sandbox and "
            "volume setup, or a postStart hook usually account for the time.",
            tuple(sorted(uid for uid, _ in slow)),
            _freeze({"measured": len(measured), "over_slo": len(slow), "slowest_seconds": worst}),
        )
    ]


def diagnose_workload(
    *,
    owner_kind: str,
    owner_name: str,
    pods: Iterable[PodEvidence],
    slow_pull_seconds: float = SLOW_PULL_SECONDS,
) -> list[Diagnosis]:
    """Findings for one workload, most severe first (ties in a fixed order)."""
    evidence = list(pods)
    who = _workload(owner_kind, owner_name)
    found = [
        *_sigterm_diagnoses(evidence, who),
        *_traffic_race(evidence, who),
        *_oom(evidence, who),
        *_crash_loops(evidence, who),
        *_liveness_kills(evidence, who),
        *_readiness_flaps(evidence, who),
        *_slow_starts(evidence, who),
        *_slow_pulls(evidence, who, slow_pull_seconds),
    ]
    rank = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return sorted(found, key=lambda d: rank[d.severity])
