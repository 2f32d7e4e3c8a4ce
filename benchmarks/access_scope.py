"""Per-namespace access: what a viewer's scope costs the dashboard's reads.

Run:  .venv/bin/python -m benchmarks.access_scope [--pods 150000] [--repeat 30]

Seeds a scratch database (dropped at the end) with ``--pods`` live pods over two clusters and
100 namespaces (``team-<0..24>-<0..3>``), then times the dashboard body's reads (the first page
in NAME order, the STATUS counts and the recent problems) side by side in one run for:

* an administrator (no predicate at all: the reads as they were before access control);
* a team member with one grant (``team-3-*`` on one cluster, ~2% of the pods);
* a member with 20 grants (a wide scope: 20 patterns on one cluster);
* a member whose pattern needs a regular expression (``*-1`` on every cluster, 25%).

Each line gives p50/p95 wall-clock milliseconds and CPU milliseconds (this process plus the
PostgreSQL backend, from ``/proc/<pid>/schedstat`` when the server runs on this host) per
dashboard body, and the ratio of CPU to the administrator's. Load average is printed: on a
shared machine, compare the ratios, not the absolute figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks._scratch import percentile, scratch_create, scratch_drop

ROOT = Path(__file__).resolve().parent.parent

PODS_SQL = """
INSERT INTO ingest_pod (cluster_id, uid, namespace, name, node_name, owner_kind, owner_name,
    phase, status, ready, restarts, pod_ip, labels, qos_class, created_at,
    deletion_source, snapshot, resource_version, first_observed_at, last_observed_at,
    recent_resource_versions)
SELECT CASE WHEN i %% 2 = 0 THEN %(a)s ELSE %(b)s END, md5('pod' || i)::uuid::text,
    'team-' || (i / 2 %% 25) || '-' || (i / 50 %% 4), 'wl-' || (i %% 3000) || '-7d9f8-' || i,
    'node-' || (i %% 400), 'ReplicaSet', 'wl-' || (i %% 3000) || '-7d9f8', 'Running',
    CASE WHEN i %% 97 = 0 THEN 'CrashLoopBackOff' WHEN i %% 13 = 0 THEN 'Pending'
         ELSE 'Running' END,
    '1/1', i %% 5, '10.0.0.1', jsonb_build_object('app', 'wl-' || (i %% 3000)), 'Burstable',
    %(now)s - interval '1 hour' * (i %% 500), '', '{}'::jsonb, i::text,
    %(now)s - interval '1 hour' * (i %% 500), %(now)s - interval '1 second' * (i %% 3600),
    '[]'::jsonb
FROM generate_series(1, %(pods)s) i
"""


def _backend_cpu() -> float | None:
    from django.db import connection

    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    try:
        with open(f"/proc/{pid}/schedstat") as stat:
            return int(stat.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def _body(access: Any, now: datetime) -> None:
    from lifecycle_dash.web.filters import parse_pod_filter
    from lifecycle_dash.web.selectors import pod_page, pod_status_counts, recent_problems

    pod_filter = parse_pod_filter({}).with_access(access)
    pod_page(pod_filter=pod_filter, now=now)
    pod_status_counts(pod_filter=pod_filter, now=now)
    recent_problems(now=now, access=access)


def _measure(access: Any, now: datetime, repeat: int) -> tuple[list[float], list[float]]:
    _body(access, now)  # warm
    wall, cpu = [], []
    for _ in range(repeat):
        backend = _backend_cpu()
        started, started_cpu = time.perf_counter(), time.process_time()
        _body(access, now)
        wall.append((time.perf_counter() - started) * 1000)
        spent = time.process_time() - started_cpu
        after = _backend_cpu()
        if backend is not None and after is not None:
            spent += after - backend
        cpu.append(spent * 1000)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=150_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    scratch = f"bench_access_{os.getpid()}"
    scratch_create(scratch)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lifecycle_dash.settings")
    sys.path.insert(0, str(ROOT))
    warnings.filterwarnings("ignore", message="No directory at")
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from lifecycle_dash.access.scope import EVERYTHING, AccessScope, NamespaceRule
        from lifecycle_dash.ingest.models import Cluster

        call_command("migrate", verbosity=0)
        a = Cluster.objects.create(name="prod", source=Cluster.Source.SIMULATOR)
        b = Cluster.objects.create(name="staging", source=Cluster.Source.SIMULATOR)
        now = datetime.now(UTC).replace(microsecond=0)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(PODS_SQL, {"a": a.pk, "b": b.pk, "now": now, "pods": args.pods})
            cursor.execute("ANALYZE ingest_pod")
        print(f"seeded {args.pods} pods in {time.perf_counter() - started:.1f} s")

        scopes = {
            "administrator": EVERYTHING,
            "one grant (team-3-* on prod)": AccessScope.from_rules(
                [NamespaceRule(a.pk, "prod", "team-3-*")]
            ),
            "20 grants on prod": AccessScope.from_rules(
                [NamespaceRule(a.pk, "prod", f"team-{n}-*") for n in range(20)]
            ),
            "regex (*-1, every cluster)": AccessScope.from_rules([NamespaceRule(None, "", "*-1")]),
        }
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        baseline = None
        for name, access in scopes.items():
            wall, cpu = _measure(access, now, args.repeat)
            cpu_p50 = statistics.median(cpu)
            baseline = baseline or cpu_p50
            print(
                f"{name:32} wall p50 {statistics.median(wall):7.1f} ms  "
                f"p95 {percentile(wall, 0.95):7.1f} ms  cpu p50 {cpu_p50:7.1f} ms  "
                f"x{cpu_p50 / baseline:.2f}"
            )
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        connection.close()
    finally:
        scratch_drop(scratch)


if __name__ == "__main__":
    main()
