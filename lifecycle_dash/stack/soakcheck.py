"""Does a long `make run` keep every pod's history after the pod is deleted?

    python -m lifecycle_dash.stack.soakcheck --truth var/kubesim/truth.jsonl \\
        --kubeconfig var/kubesim/kubeconfig [--pid MAKE_PID] [--every 600] [--duration 3600]

Run beside `make run` started with ``KUBESIM_TRUTH_OUT`` (the simulator's ground-truth log) and
the same ``DATABASE_URL``. Every ``--every`` seconds, and once more at the end, it works out
which pods the simulator has deleted and checks that the database still holds, for each one,
its pod row marked deleted, its transitions and a ``deleted`` transition. One line of figures
per round, plus the resident memory of every process under ``--pid`` and the database size.

Which pods the simulator deleted, from what it tells: a ``deleted``/``force_deleted`` record in
the truth log (the kubelet's final DELETE, or a force delete), and every other pod the truth log
names that the simulator no longer lists (a finished Job pod removed by its controller leaves
no truth record of its own). The log is read before the list, so a pod created in between is
never taken for deleted; the database is read ``--grace`` seconds later, so a deletion that
just happened has been ingested.

Exit status 1 if the last round found a deleted pod without its history.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

from lifecycle_dash.kubesim.kubeconfig import read_kubeconfig

DELETION_RECORDS = frozenset({"deleted", "force_deleted"})


@dataclass(frozen=True, slots=True)
class SimulatorView:
    named: frozenset[str]  # every pod uid the truth log mentions
    deleted: frozenset[str]  # the ones the simulator deleted


@dataclass(slots=True)
class Verdict:
    pods_stored: int = 0
    pods_stored_deleted: int = 0
    transitions: int = 0
    simulator_pods: int = 0
    simulator_deleted: int = 0
    kept: int = 0  # deleted pods with row, deletion mark, transitions and a DELETED transition
    missing_row: list[str] = field(default_factory=list)
    not_marked_deleted: list[str] = field(default_factory=list)
    no_transitions: list[str] = field(default_factory=list)
    no_deleted_transition: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.missing_row
            or self.not_marked_deleted
            or self.no_transitions
            or self.no_deleted_transition
        )


def truth_uids(lines: Iterable[bytes]) -> tuple[set[str], set[str]]:
    """(uids named, uids with a deletion record) in a truth log."""
    named: set[str] = set()
    deleted: set[str] = set()
    for line in lines:
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue  # the line being written right now
        uid = record.get("uid")
        if not uid:
            continue
        named.add(uid)
        if record.get("what") in DELETION_RECORDS:
            deleted.add(uid)
    return named, deleted


def simulator_view(
    *, truth: Path, list_uids: Callable[[], frozenset[str]] | None = None
) -> SimulatorView:
    """The pods the simulator deleted; ``list_uids`` asks it which pods it lists now."""
    # The truth log first, then the list: a pod created in between is listed, not "deleted".
    with truth.open("rb") as handle:
        named, deleted = truth_uids(handle)
    if list_uids is not None:
        try:
            deleted |= named - list_uids()
        except OSError as exc:
            print(f"  the simulator did not answer ({exc}); deletion records only", flush=True)
    return SimulatorView(frozenset(named), frozenset(deleted))


def list_pod_uids(*, kubeconfig: Path) -> frozenset[str]:
    url, token = read_kubeconfig(kubeconfig)
    request = urllib.request.Request(
        f"{url}/api/v1/pods", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = orjson.loads(response.read())
    return frozenset(item["metadata"]["uid"] for item in body["items"])


def check_history(*, cluster: str, view: SimulatorView) -> Verdict:
    """Compare the simulator's deletions with what the database holds for ``cluster``."""
    from django.db import connection

    verdict = Verdict(simulator_pods=len(view.named), simulator_deleted=len(view.deleted))
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM ingest_cluster WHERE name = %s", [cluster])
        row = cursor.fetchone()
        if row is None:
            verdict.missing_row = sorted(view.deleted)
            return verdict
        cluster_id = row[0]
        cursor.execute(
            "SELECT count(*), count(deleted_at) FROM ingest_pod WHERE cluster_id = %s",
            [cluster_id],
        )
        verdict.pods_stored, verdict.pods_stored_deleted = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM ingest_transition WHERE cluster_id = %s", [cluster_id])
        verdict.transitions = cursor.fetchone()[0]
        wanted = sorted(view.deleted)
        cursor.execute(
            "SELECT uid, deleted_at IS NOT NULL FROM ingest_pod"
            " WHERE cluster_id = %s AND uid = ANY(%s)",
            [cluster_id, wanted],
        )
        marked = dict(cursor.fetchall())
        cursor.execute(
            "SELECT pod_uid, count(*), count(*) FILTER (WHERE kind = 'deleted')"
            " FROM ingest_transition WHERE cluster_id = %s AND pod_uid = ANY(%s)"
            " GROUP BY pod_uid",
            [cluster_id, wanted],
        )
        counts = {uid: (total, deleted) for uid, total, deleted in cursor.fetchall()}
    for uid in wanted:
        total, deleted = counts.get(uid, (0, 0))
        if uid not in marked:
            verdict.missing_row.append(uid)
        elif not marked[uid]:
            verdict.not_marked_deleted.append(uid)
        elif total == 0:
            verdict.no_transitions.append(uid)
        elif deleted == 0:
            verdict.no_deleted_transition.append(uid)
        else:
            verdict.kept += 1
    return verdict


def database_bytes() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        size: int = cursor.fetchone()[0]
    return size


def process_memory(root: int) -> list[tuple[int, str, int]]:
    """(pid, short command, RSS bytes) of ``root`` and every process below it."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields follow the last ")".
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree = {root}
    grew = True
    while grew:
        below = {pid for pid, parent in parents.items() if parent in tree} - tree
        grew = bool(below)
        tree |= below
    found = []
    for pid in sorted(tree):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        rss = next(
            (int(line.split()[1]) * 1024 for line in status.splitlines() if line[:6] == "VmRSS:"),
            0,
        )
        found.append((pid, _short_command([a.decode(errors="replace") for a in argv if a]), rss))
    return found


def _short_command(argv: Sequence[str]) -> str:
    words = [Path(a).name if a.startswith("/") else a for a in argv]
    for marker in ("daphne", "beat", "kubesim", "stack.services", "stack.run"):
        if any(marker in w for w in words):
            return marker
    if "worker" in words and "-Q" in words:
        return f"worker-{words[words.index('-Q') + 1]}"
    return " ".join(words[:3])[:40]


def _mb(n: int) -> str:
    return f"{n / 1_048_576:.1f}MB"


def report(verdict: Verdict, *, started: float, pid: int | None) -> str:
    now = datetime.now(UTC).strftime("%H:%M:%S")
    load = ",".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        f"{now} elapsed={time.monotonic() - started:.0f}s"
        f" simulator: pods={verdict.simulator_pods} deleted={verdict.simulator_deleted}"
        f" | db: pods={verdict.pods_stored} deleted={verdict.pods_stored_deleted}"
        f" transitions={verdict.transitions} size={_mb(database_bytes())}"
        f" | deleted with history={verdict.kept}/{verdict.simulator_deleted}"
        f" missing_row={len(verdict.missing_row)}"
        f" not_marked_deleted={len(verdict.not_marked_deleted)}"
        f" no_transitions={len(verdict.no_transitions)}"
        f" no_deleted_transition={len(verdict.no_deleted_transition)}"
        f" | load={load}"
    ]
    if pid is not None:
        processes = process_memory(pid)
        total = sum(rss for _, _, rss in processes)
        parts = " ".join(f"{name}[{p}]={_mb(rss)}" for p, name, rss in processes if rss)
        lines.append(f"  rss total={_mb(total)} {parts}")
    for label, uids in (
        ("missing row", verdict.missing_row),
        ("not marked deleted", verdict.not_marked_deleted),
        ("no transitions", verdict.no_transitions),
        ("no deleted transition", verdict.no_deleted_transition),
    ):
        if uids:
            lines.append(f"  {label}: {', '.join(uids[:5])}{' ...' if len(uids) > 5 else ''}")
    return "\n".join(lines)


def one_round(args: argparse.Namespace) -> Verdict:
    kubeconfig: Path | None = args.kubeconfig
    view = simulator_view(
        truth=args.truth,
        list_uids=None if kubeconfig is None else lambda: list_pod_uids(kubeconfig=kubeconfig),
    )
    time.sleep(args.grace)
    return check_history(cluster=args.cluster, view=view)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lifecycle_dash.stack.soakcheck")
    parser.add_argument("--truth", type=Path, required=True, help="the simulator's truth log")
    parser.add_argument("--kubeconfig", type=Path, help="the simulator's kubeconfig")
    parser.add_argument("--cluster", default="simulator")
    parser.add_argument("--pid", type=int, help="`make run`'s pid: report its processes' RSS")
    parser.add_argument("--every", type=float, default=600.0, help="seconds between rounds")
    parser.add_argument("--duration", type=float, default=0.0, help="0: one round")
    parser.add_argument("--grace", type=float, default=15.0, help="seconds to let ingest catch up")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lifecycle_dash.settings")
    import django

    django.setup()
    started = time.monotonic()
    while True:
        verdict = one_round(args)
        print(report(verdict, started=started, pid=args.pid), flush=True)
        remaining = args.duration - (time.monotonic() - started)
        if remaining <= 0:
            return 0 if verdict.ok else 1
        time.sleep(min(args.every, remaining))


if __name__ == "__main__":
    sys.exit(main())
