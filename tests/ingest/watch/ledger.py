"""The simulator's change journal against the stored transitions: what was lost, what doubled.

**Truth.** The simulator's journal (``kubesim --changes-out``, ``lifecycle_dash/kubesim/
journal.py``) holds every write to every pod, in storage order, with the whole object and the
wall-clock time of the write: the finest history any watch could deliver. The transitions the
simulator produced are, per pod, the lifecycle diff of each version against the one before
(``diff(None, ADDED)``, ..., ``diff(last, DELETED, deleted=True)``), exactly what an ingest
that saw every version would store.

**What a client may legitimately not see.** A relist (after a 410, or the very first list)
shows each pod once, at its latest version: the versions written in between are collapsed into
one diff from the last stored state. That is honest only where the product says so: inside an
``ObservationGap`` it recorded (``started_at``..``ended_at``: from when the stream was last
known complete to the end of the list), or before the stream's first observation. So every
truth transition is exactly one of

* ``matched``: stored under the same key. Keys name pod, kind, subject and the
  resourceVersion of the change (creation, deletion and deletion request are once per pod);
* ``before first list``: written before the stream's first observation (the first list page's
  receive time, i.e. the list itself plus the few milliseconds its page was in transit);
* ``in recorded gap``: written inside a recorded gap;
* ``missing``: none of these. Must be 0.

and every stored transition is ``matched``, a ``relist summary`` (observed inside a recorded
gap or by the first list, under a key the truth does not have: the collapsed diff) or
``unexplained``. Must be 0.

**Duplicates.** A key stored twice is a duplicate. A change stored twice under two different
keys (say once from the watch and again from a relist with a stale diff base) would escape
that, so per (pod, kind, subject) the stored values must also form an unbroken chain: each
transition starts from the value the previous one ended with. A break is a duplicate or a loss.

**Restart ledger.** Container restarts are counted, not keyed: a relist that collapses ``k``
restarts stores ``k`` records (``in_gap``; one ranged record beyond ``MAX_GAP_RECORDS``), so
N restarts the simulator made must give restart numbers 1..N exactly once each, collapsed or
not.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from lifecycle_dash.lifecycle import PodSnapshot, TransitionKind, diff, snapshot_from_pod

RESTART = TransitionKind.CONTAINER_RESTART.value
# Kinds whose old/new are the value of one attribute, so consecutive records must chain.
CHAINED = frozenset(
    k.value
    for k in (
        TransitionKind.PHASE,
        TransitionKind.POD_REASON,
        TransitionKind.CONDITION,
        TransitionKind.POD_READY,
        TransitionKind.NODE_ASSIGNED,
        TransitionKind.POD_IP,
        TransitionKind.CONTAINER_STATE,
        TransitionKind.CONTAINER_STARTED,
        TransitionKind.CONTAINER_READY,
        TransitionKind.KUBECTL_STATUS,
        TransitionKind.CONTAINER_RESTART,
    )
)


@dataclass(frozen=True, slots=True)
class Version:
    wall: datetime
    type: str
    rv: int
    obj: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TruthTransition:
    uid: str
    kind: str
    subject: str
    key: str
    old: Any
    new: Any
    wall: datetime
    rv: int
    restarts: tuple[int, ...]  # for CONTAINER_RESTART: the restart numbers it stands for


@dataclass(frozen=True, slots=True)
class StoredTransition:
    id: int
    uid: str
    kind: str
    subject: str
    key: str
    old: Any
    new: Any
    observed_at: datetime
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Window:
    started_at: datetime
    ended_at: datetime

    def holds(self, moment: datetime) -> bool:
        return self.started_at <= moment <= self.ended_at


@dataclass(slots=True)
class KindCounts:
    truth: int = 0
    matched: int = 0
    before_first_list: int = 0
    in_gap: int = 0
    missing: int = 0
    stored: int = 0
    relist_summary: int = 0
    unexplained: int = 0
    duplicated: int = 0
    chain_breaks: int = 0


@dataclass(slots=True)
class Comparison:
    kinds: dict[str, KindCounts] = field(
        default_factory=lambda: collections.defaultdict(KindCounts)
    )
    restarts_truth: int = 0
    restarts_stored: int = 0
    restarts_collapsed: int = 0  # stored in_gap: seen only as a jump of restartCount
    restarts_lost_with_pod: int = 0  # unseen restarts of a pod deleted unseen
    restarts_missing: list[tuple[str, str, int]] = field(default_factory=list)
    restarts_duplicated: list[tuple[str, str, int]] = field(default_factory=list)
    restarts_unexplained: list[tuple[str, str, int]] = field(default_factory=list)
    pods_truth: int = 0
    pods_deleted_truth: int = 0
    examples: dict[str, list[str]] = field(default_factory=lambda: collections.defaultdict(list))

    def total(self, name: str) -> int:
        return sum(getattr(counts, name) for counts in self.kinds.values())

    def note(self, what: str, example: str) -> None:
        if len(self.examples[what]) < 5:
            self.examples[what].append(example)

    def table(self) -> str:
        columns = [
            "truth",
            "matched",
            "before_first_list",
            "in_gap",
            "missing",
            "stored",
            "relist_summary",
            "unexplained",
            "duplicated",
            "chain_breaks",
        ]
        lines = [f"{'kind':<24}" + "".join(f"{c:>{len(c) + 2}}" for c in columns)]
        for kind in sorted(self.kinds):
            counts = self.kinds[kind]
            lines.append(
                f"{kind:<24}" + "".join(f"{getattr(counts, c):>{len(c) + 2}}" for c in columns)
            )
        lines.append(f"{'TOTAL':<24}" + "".join(f"{self.total(c):>{len(c) + 2}}" for c in columns))
        lines.append(
            f"pods: {self.pods_truth} ({self.pods_deleted_truth} deleted); restarts: truth"
            f" {self.restarts_truth}, stored {self.restarts_stored} ({self.restarts_collapsed}"
            f" collapsed), lost with a pod deleted unseen {self.restarts_lost_with_pod},"
            f" missing {len(self.restarts_missing)}, duplicated"
            f" {len(self.restarts_duplicated)}, unexplained {len(self.restarts_unexplained)}"
        )
        for what, examples in self.examples.items():
            lines.append(f"{what}: {examples}")
        return "\n".join(lines)


def read_journal(path: Path, *, until_rv: int) -> dict[str, list[Version]]:
    """Pod uid -> its versions up to ``until_rv``, in storage order."""
    pods: dict[str, list[Version]] = collections.defaultdict(list)
    with path.open("rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                break  # being written
            record = orjson.loads(line)
            obj = record["object"]
            rv = int(obj["metadata"]["resourceVersion"])
            if rv > until_rv:
                break
            wall = datetime.fromtimestamp(record["wall"], UTC)
            pods[obj["metadata"]["uid"]].append(Version(wall, record["type"], rv, obj))
    return pods


def truth_transitions(pods: dict[str, list[Version]]) -> Iterator[TruthTransition]:
    for versions in pods.values():
        before: PodSnapshot | None = None
        for version in versions:
            after = snapshot_from_pod(version.obj)
            deleted = version.type == "DELETED"
            for t in diff(before, after, observed_at=version.wall, deleted=deleted):
                restarts: tuple[int, ...] = ()
                if t.kind is TransitionKind.CONTAINER_RESTART:
                    restarts = _restart_numbers(t.detail)
                yield TruthTransition(
                    t.pod_uid,
                    t.kind.value,
                    t.subject,
                    t.key,
                    t.old,
                    t.new,
                    version.wall,
                    version.rv,
                    restarts,
                )
            before = after


def _restart_numbers(detail: Any) -> tuple[int, ...]:
    last = int(detail["restart"])
    return tuple(range(int(detail.get("gap_first", last)), last + 1))


def compare(
    *,
    truth: Iterable[TruthTransition],
    stored: Sequence[StoredTransition],
    gaps: Sequence[Window],
    first_observation: datetime,
    pods: dict[str, list[Version]],
) -> Comparison:
    result = Comparison()
    result.pods_truth = len(pods)
    result.pods_deleted_truth = sum(1 for v in pods.values() if v[-1].type == "DELETED")
    stored_keys = collections.Counter(t.key for t in stored if t.kind != RESTART)
    truth_keys: set[str] = set()
    truth_restarts: collections.Counter[tuple[str, str, int]] = collections.Counter()
    restart_written: dict[tuple[str, str, int], datetime] = {}

    def unobserved(moment: datetime) -> bool:
        return moment <= first_observation or any(gap.holds(moment) for gap in gaps)

    # A pod deleted where nobody could look (before the first list, inside a gap) takes its
    # last unseen restarts with it: the relist records the deletion, never its final state.
    vanished_unseen = {
        uid
        for uid, versions in pods.items()
        if versions[-1].type == "DELETED" and unobserved(versions[-1].wall)
    }

    for t in truth:
        if t.kind == RESTART:
            for number in t.restarts:
                truth_restarts[(t.uid, t.subject, number)] += 1
                restart_written[(t.uid, t.subject, number)] = t.wall
            continue
        counts = result.kinds[t.kind]
        counts.truth += 1
        truth_keys.add(t.key)
        if stored_keys[t.key]:
            counts.matched += 1
        elif t.wall <= first_observation:
            counts.before_first_list += 1
        elif unobserved(t.wall):
            counts.in_gap += 1
        else:
            counts.missing += 1
            result.note("missing", f"{t.key} ({t.old!r}->{t.new!r} written {t.wall:%T.%f})")

    relists = [Window(first_observation, first_observation), *gaps]
    stored_restarts: collections.Counter[tuple[str, str, int]] = collections.Counter()
    for s in stored:
        if s.kind == RESTART:
            numbers = _restart_numbers(s.detail)
            result.restarts_stored += len(numbers)
            if s.detail.get("in_gap"):
                result.restarts_collapsed += len(numbers)
            for number in numbers:
                stored_restarts[(s.uid, s.subject, number)] += 1
            continue
        counts = result.kinds[s.kind]
        counts.stored += 1
        if s.key in truth_keys:
            pass
        elif any(window.holds(s.observed_at) for window in relists):
            counts.relist_summary += 1
        else:
            counts.unexplained += 1
            result.note("unexplained", f"{s.key} ({s.old!r}->{s.new!r})")
    for key, n in stored_keys.items():
        if n > 1:
            kind = key.split("|")[1]
            result.kinds[kind].duplicated += n - 1
            result.note("duplicated", f"{key} x{n}")

    result.restarts_truth = sum(truth_restarts.values())
    for ident, n in truth_restarts.items():
        if stored_restarts[ident] >= n:
            continue
        if ident[0] in vanished_unseen and unobserved(restart_written[ident]):
            result.restarts_lost_with_pod += 1
        else:
            result.restarts_missing.append(ident)
            result.note("restarts_missing", f"{ident} written {restart_written[ident]:%T.%f}")
    for ident, n in stored_restarts.items():
        if n > truth_restarts[ident]:
            if truth_restarts[ident]:
                result.restarts_duplicated.append(ident)
            else:
                result.restarts_unexplained.append(ident)

    # Continuity: a change stored twice (under any key) or lost breaks its attribute's chain.
    chains: dict[tuple[str, str, str], Any] = {}
    for s in sorted(stored, key=lambda s: s.id):
        if s.kind not in CHAINED:
            continue
        attribute = (s.uid, s.kind, s.subject)
        if attribute in chains and chains[attribute] != s.old:
            result.kinds[s.kind].chain_breaks += 1
            result.note(
                "chain_breaks", f"{s.key}: {s.old!r}->{s.new!r} after {chains[attribute]!r}"
            )
        chains[attribute] = s.new
    return result
