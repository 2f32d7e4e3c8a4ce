"""Incident review: server time of a one-hour review and of the cluster at an instant.

Run:  .venv/bin/python -m benchmarks.review_window [--pods 150000] [--transitions 20000000]

Migrates a database named for its size (``bench_review_150k_20m``) and, when it is empty,
seeds it in SQL (``generate_series``, secondary indexes dropped during the load and rebuilt
after, as a bulk load should): ``--pods`` pods over 7 days of history (one cluster, 60
namespaces, 3,000 Deployments, ~45% of the pods deleted within the retention),
``--transitions`` transitions spread over the pods' lives in daily partitions, with a
realistic kind mix (most are STATUS, readiness and condition flips; ~2% container exits, ~2%
restarts, one creation and, for deleted pods, one deletion request each), Event occurrences
(liveness kills, failed scheduling, image back-offs) and one termination record per deleted
pod (5% SIGKILLed at the grace period). The default is the target's size, 20 million
transitions: seeding takes about 10 minutes and 9.5 GB, so the database is kept and the next
run reuses it (``--throwaway`` seeds a scratch database and drops it). Seeding time is
printed.

Then, through Django's test client with a signed-in user (middleware, templates and session
included), p50/p95 over ``--repeat`` requests of:

(a) ``/review/?from=..&to=..`` for one-hour windows across the history (target p95 <= 500 ms),
    and the same with a namespace filter;
(b) ``/review/at/?t=..`` (the cluster at instant T) for instants across the history (target
    p95 <= 1 s), with a namespace filter, and with a STATUS filter (a frequent one, and one
    no pod had).

Each line gives wall-clock p50/p95 (what the targets are about) and the CPU time the request
cost: this process's plus the PostgreSQL backend's (``/proc/<pid>/schedstat``, when the server
runs on this host). On a shared machine the wall clock mostly measures the neighbours; the CPU
time does not.

``--keep-db NAME`` keeps the seeded database for the next run, which then only migrates and
measures (seeding ``--transitions 20000000`` takes about ten minutes).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import statistics
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks._scratch import percentile, scratch_create, scratch_drop

ROOT = Path(__file__).resolve().parent.parent
# The review's covering index, as its migration creates it.
_REVIEW_ROWS = importlib.import_module("lifecycle_dash.web.migrations.0005_transition_review_rows")
TARGET_REVIEW_P95_MS = 500.0
TARGET_AT_P95_MS = 1000.0
HISTORY = timedelta(days=7)
SECONDARY_INDEXES = {
    "ingest_transition_timeline": "ingest_transition (pod_uid, at)",
    "ingest_transition_review": "ingest_transition (at, kind)",
    "web_transition_instant": "ingest_transition (pod_uid, kind, subject, at)",
    "ingest_transition_status_then": "ingest_transition (new, at) INCLUDE (pod_uid) "
    "WHERE kind = 'kubectl_status' AND new <> '\"Running\"' AND new <> '\"Completed\"'",
    "web_transition_review_rows": _REVIEW_ROWS.CREATE.split(" ON ", 1)[1],
}


# --- seeding -------------------------------------------------------------------------------

PODS_SQL = """
INSERT INTO ingest_pod (cluster_id, uid, namespace, name, node_name, owner_kind, owner_name,
    phase, status, ready, restarts, pod_ip, labels, qos_class, created_at,
    deletion_requested_at, deleted_at, deletion_source, snapshot, resource_version,
    first_observed_at, last_observed_at, recent_resource_versions)
SELECT %(cluster)s, uid, 'ns-' || (i %% 60), 'wl-' || (i %% 3000) || '-7d9f8b6c5-' || i,
    'node-' || (i %% 400), 'ReplicaSet', 'wl-' || (i %% 3000) || '-7d9f8b6c5',
    'Running', 'Running', '1/1', 0, '10.0.0.1',
    jsonb_build_object('app', 'wl-' || (i %% 3000), 'pod-template-hash', '7d9f8b6c5'),
    'Burstable', created, deleted - interval '30 seconds', deleted,
    CASE WHEN deleted IS NULL THEN '' ELSE 'watch' END, '{}'::jsonb, i::text,
    created, coalesce(deleted, %(now)s), '[]'::jsonb
FROM (
    SELECT i, md5('pod' || i)::uuid::text AS uid,
        %(start)s + (%(now)s - %(start)s) * ((hashint4(i) & 1048575) / 1048576.0) AS created,
        (hashint4(i * 7) & 1023) AS h
    FROM generate_series(1, %(pods)s) i
) p,
LATERAL (SELECT CASE WHEN p.h < 460
    AND p.created + interval '10 minutes' + interval '1 hour' * (p.h %% 40) < %(now)s
    THEN p.created + interval '10 minutes' + interval '1 hour' * (p.h %% 40) END AS deleted) d
"""

# Per pod, transitions k = 0 .. K-1 evenly over its life; the kind comes from a hash of (pod, k).
TRANSITIONS_SQL = """
INSERT INTO ingest_transition (observed_at, cluster_id, pod_uid, kind, subject, old, new, at,
    api_time, time_source, key, detail)
SELECT x.at + interval '150 milliseconds', p.cluster_id, p.uid, y.kind, y.subject, NULL, y.new,
    x.at, NULL, 'observed', p.uid || '|' || k, y.detail
FROM (SELECT id, cluster_id, uid, created_at, deleted_at,
        coalesce(deleted_at, %(now)s) - created_at AS life
      FROM ingest_pod WHERE id BETWEEN %(low)s AND %(high)s) p,
LATERAL generate_series(0, %(per_pod)s - 1) k,
LATERAL (SELECT p.created_at + p.life * (k::float / %(per_pod)s) AS at,
                hashint8(p.id * 1000 + k) & 1023 AS h) x,
LATERAL (SELECT
    CASE WHEN k = 0 THEN 'pod_created'
         WHEN k = %(per_pod)s - 1 AND p.deleted_at IS NOT NULL THEN 'deletion_requested'
         WHEN x.h < 310 THEN 'kubectl_status'
         WHEN x.h < 560 THEN 'pod_ready'
         WHEN x.h < 820 THEN 'container_ready'
         WHEN x.h < 940 THEN 'condition'
         WHEN x.h < 980 THEN 'container_state'
         WHEN x.h < 1000 THEN 'container_exit'
         ELSE 'container_restart' END AS k2) c,
LATERAL (SELECT
    CASE c.k2 WHEN 'container_exit' THEN 'container_state' ELSE c.k2 END AS kind,
    CASE WHEN c.k2 IN ('container_ready', 'container_state', 'container_exit',
                       'container_restart') THEN 'app'
         WHEN c.k2 = 'condition' THEN 'Ready' ELSE '' END AS subject,
    CASE c.k2
         WHEN 'pod_created' THEN to_jsonb(p.created_at)
         WHEN 'deletion_requested' THEN to_jsonb(x.at)
         WHEN 'kubectl_status' THEN to_jsonb(CASE WHEN x.h %% 17 = 0 THEN 'CrashLoopBackOff'
                                                  WHEN x.h %% 29 = 0 THEN 'Pending'
                                                  ELSE 'Running' END)
         WHEN 'pod_ready' THEN to_jsonb(x.h %% 2 = 0)
         WHEN 'container_ready' THEN to_jsonb(x.h %% 2 = 0)
         WHEN 'condition' THEN to_jsonb(CASE WHEN x.h %% 2 = 0 THEN 'True' ELSE 'False' END)
         WHEN 'container_state' THEN to_jsonb(CASE WHEN x.h %% 3 = 0 THEN 'running'
                                                   WHEN x.h %% 7 = 0 THEN 'waiting:ErrImagePull'
                                                   ELSE 'waiting:CrashLoopBackOff' END)
         WHEN 'container_exit' THEN to_jsonb(CASE WHEN x.h %% 4 = 0 THEN 'terminated:OOMKilled'
                                                  ELSE 'terminated:Error' END)
         ELSE to_jsonb(k) END AS new,
    CASE WHEN c.k2 = 'container_exit' THEN jsonb_build_object('role', 'regular', 'terminated',
         jsonb_build_object('exit_code', CASE WHEN x.h %% 4 = 0 THEN 137 ELSE 1 + x.h %% 3 END,
                            'reason', CASE WHEN x.h %% 4 = 0 THEN 'OOMKilled' ELSE 'Error' END,
                            'finished_at', to_char(x.at AT TIME ZONE 'UTC',
                                                   'YYYY-MM-DD"T"HH24:MI:SS"Z"')))
         ELSE '{}'::jsonb END AS detail) y
"""

OCCURRENCES_SQL = """
INSERT INTO ingest_eventoccurrence (observed_at, cluster_id, pod_uid, event_uid, ordinal, key,
    type, reason, container_name, message, at, earliest, latest, sort_at, time_source)
SELECT at + interval '200 milliseconds', cluster_id, uid, 'ev-' || i, 1, 'ev-' || i || '|1',
    'Warning', reason, 'app', message, at, NULL, NULL, at, 'api'
FROM (SELECT i, p.cluster_id, p.uid,
        p.created_at + (coalesce(p.deleted_at, %(now)s) - p.created_at) * 0.5 AS at,
        CASE i %% 3 WHEN 0 THEN 'Killing' WHEN 1 THEN 'FailedScheduling' ELSE 'BackOff' END
            AS reason,
        CASE i %% 3 WHEN 0 THEN 'Container app failed liveness probe, will be restarted'
                    WHEN 1 THEN '0/400 nodes are available: 400 Insufficient cpu.'
                    ELSE 'Back-off pulling image "registry.example/app:typo"' END AS message
      FROM generate_series(1, %(count)s) i
      JOIN ingest_pod p ON p.id = 1 + (hashint4(i) & 2147483647) %% %(pods)s) e
"""

RECORDS_SQL = """
INSERT INTO ingest_terminationrecord (cluster_id, pod_uid, cause, verdicts, started_at,
    analysis, computed_at)
SELECT cluster_id, uid, 'api_delete',
    ARRAY[CASE WHEN id %% 20 = 0 THEN 'app:sigkill_after_grace' ELSE 'app:clean_exit' END],
    deletion_requested_at,
    jsonb_build_object('cause', 'api_delete', 'containers', jsonb_build_array(
        jsonb_build_object('name', 'app', 'exit_code', CASE WHEN id %% 20 = 0 THEN 137 ELSE 0 END,
                           'verdict', CASE WHEN id %% 20 = 0 THEN 'sigkill_after_grace'
                                           ELSE 'clean_exit' END,
                           'exited', jsonb_build_object('at', deleted_at)))),
    deleted_at
FROM ingest_pod WHERE deleted_at IS NOT NULL
"""


def seed(*, pods: int, transitions: int, now: datetime) -> None:
    from django.db import connection

    from lifecycle_dash.ingest.models import Cluster
    from lifecycle_dash.ingest.partitions import create_partitions

    start_all = time.perf_counter()
    start = now - HISTORY
    days = [(start - timedelta(days=1)).date() + timedelta(days=i) for i in range(10)]
    create_partitions(days=days)
    cluster = Cluster.objects.create(name="prod-eu", source=Cluster.Source.SIMULATOR)
    per_pod = max(2, transitions // pods)
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SET max_parallel_maintenance_workers = 4")
        cursor.execute(PODS_SQL, {"cluster": cluster.pk, "now": now, "start": start, "pods": pods})
        cursor.execute("ANALYZE ingest_pod")
        print(f"  pods: {pods:,} in {time.perf_counter() - start_all:.1f} s", flush=True)
        for name in SECONDARY_INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")
        cursor.execute("SELECT min(id), max(id) FROM ingest_pod")
        low_id, high_id = cursor.fetchone()
        step = 5000
        began = time.perf_counter()
        for low in range(low_id, high_id + 1, step):
            cursor.execute(
                TRANSITIONS_SQL,
                {"now": now, "per_pod": per_pod, "low": low, "high": low + step - 1},
            )
        made = per_pod * pods
        print(
            f"  transitions: {made:,} ({per_pod} per pod) in {time.perf_counter() - began:.1f} s",
            flush=True,
        )
        began = time.perf_counter()
        for name, target in SECONDARY_INDEXES.items():
            cursor.execute(f"CREATE INDEX {name} ON {target}")
        print(f"  indexes rebuilt in {time.perf_counter() - began:.1f} s", flush=True)
        cursor.execute(OCCURRENCES_SQL, {"now": now, "count": max(1000, made // 100), "pods": pods})
        cursor.execute(RECORDS_SQL, {})
        began = time.perf_counter()
        cursor.execute("VACUUM ANALYZE")
        print(f"  vacuum analyze in {time.perf_counter() - began:.1f} s", flush=True)
    print(
        f"seeded {pods:,} pods and {made:,} transitions in {time.perf_counter() - start_all:.1f} s",
        flush=True,
    )


# --- measurements --------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _backend_cpu() -> tuple[int, float] | None:
    """(pid, seconds on CPU) of this connection's PostgreSQL backend, if it runs here."""
    from django.db import connection

    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    try:
        with open(f"/proc/{pid}/schedstat") as stat:
            return pid, int(stat.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def _measure(client: Any, urls: list[str], repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (this process + the database backend) milliseconds per request."""
    for url in urls[:2]:  # warm caches and connections
        assert client.get(url).status_code == 200, url
    times, cpu = [], []
    for i in range(repeat):
        url = urls[i % len(urls)]
        backend = _backend_cpu()
        began, began_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        times.append((time.perf_counter() - began) * 1000)
        spent = time.process_time() - began_cpu
        after = _backend_cpu()
        if backend is not None and after is not None and after[0] == backend[0]:
            cpu.append((spent + after[1] - backend[1]) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return times, cpu


def _report(label: str, measured: tuple[list[float], list[float]], target: float) -> bool:
    times, cpu = measured
    p50, p95 = statistics.median(times), percentile(times, 0.95)
    ok = p95 <= target
    cpu_text = (
        f"  cpu p50 {statistics.median(cpu):7.1f} ms  p95 {percentile(cpu, 0.95):7.1f} ms"
        if cpu
        else ""
    )
    print(
        f"{label:<52} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms{cpu_text}  "
        f"(target p95 <= {target:.0f} ms) {'OK' if ok else 'MISSED'}"
    )
    return ok


def measure(*, now: datetime, repeat: int) -> bool:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(username="bench")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    # As the server does once loaded (lifecycle_dash/asgi.py).
    gc.freeze()
    instants = [now - HISTORY * f for f in (0.1, 0.3, 0.5, 0.7, 0.9)]
    windows = [f"from={_iso(t - timedelta(hours=1))}&to={_iso(t)}" for t in instants]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM ingest_transition WHERE at BETWEEN %s AND %s "
            "AND observed_at BETWEEN %s AND %s",
            [
                instants[2] - timedelta(hours=1),
                instants[2],
                instants[2] - timedelta(hours=2),
                instants[2] + timedelta(hours=6),
            ],
        )
        in_window = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM ingest_pod WHERE created_at <= %s "
            "AND (deleted_at IS NULL OR deleted_at > %s)",
            [instants[2], instants[2]],
        )
        alive = cursor.fetchone()[0]
    print(f"one-hour window holds {in_window:,} transitions; {alive:,} pods alive at its end")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    ok = _report(
        "(a) /review/ one-hour window",
        _measure(client, [f"/review/?{w}" for w in windows], repeat),
        TARGET_REVIEW_P95_MS,
    )
    ok &= _report(
        "(a) /review/ one-hour window, namespace=ns-7",
        _measure(client, [f"/review/?{w}&namespace=ns-7" for w in windows], repeat),
        TARGET_REVIEW_P95_MS,
    )
    ok &= _report(
        "(a) /api/v1/review one-hour window (JSON)",
        _measure(client, [f"/api/v1/review?{w}" for w in windows], repeat),
        TARGET_REVIEW_P95_MS,
    )
    ats = [f"t={_iso(t)}" for t in instants]
    ok &= _report(
        "(b) /review/at/ cluster at instant T",
        _measure(client, [f"/review/at/?{a}" for a in ats], repeat),
        TARGET_AT_P95_MS,
    )
    ok &= _report(
        "(b) /review/at/ at T, namespace=ns-7",
        _measure(client, [f"/review/at/?{a}&namespace=ns-7" for a in ats], repeat),
        TARGET_AT_P95_MS,
    )
    ok &= _report(
        "(b) /review/at/ at T, STATUS then = CrashLoopBackOff",
        _measure(client, [f"/review/at/?{a}&status=CrashLoopBackOff" for a in ats], repeat),
        TARGET_AT_P95_MS,
    )
    # No pod ever had it: without the candidates index every pod alive at T is probed.
    ok &= _report(
        "(b) /review/at/ at T, STATUS then = Terminating (none)",
        _measure(client, [f"/review/at/?{a}&status=Terminating" for a in ats], repeat),
        TARGET_AT_P95_MS,
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=150_000)
    parser.add_argument("--transitions", type=int, default=20_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--keep-db",
        metavar="NAME",
        help="use (and keep) this database; default bench_review_<pods>k_<transitions>m, "
        "so the 20-million-row seed (about 10 minutes, 9.5 GB) is built once",
    )
    parser.add_argument(
        "--throwaway", action="store_true", help="seed a scratch database and drop it at the end"
    )
    args = parser.parse_args()
    if not args.throwaway and not args.keep_db:
        args.keep_db = f"bench_review_{args.pods // 1000}k_{args.transitions // 1_000_000}m"

    scratch = args.keep_db or f"bench_review_{os.getpid()}"
    scratch_create(scratch)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lifecycle_dash.settings")
    sys.path.insert(0, str(ROOT))
    # WhiteNoise warns that collectstatic never ran: irrelevant to these figures.
    warnings.filterwarnings("ignore", message="No directory at")
    ok = False
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        from lifecycle_dash.ingest.models import Cluster

        with connection.cursor() as cursor:
            cursor.execute("SELECT max(last_observed_at) FROM ingest_pod")
            seeded_now = cursor.fetchone()[0]
        if args.keep_db and Cluster.objects.exists() and seeded_now is not None:
            now = seeded_now
            print(f"using the history already in {scratch}")
        else:
            now = datetime.now(UTC).replace(microsecond=0)
            seed(pods=args.pods, transitions=args.transitions, now=now)
        ok = measure(now=now, repeat=args.repeat)
        connection.close()
    finally:
        if args.keep_db:
            print(
                f"history kept in database {scratch} for the next run (drop it: dropdb {scratch})"
            )
        else:
            scratch_drop(scratch)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
