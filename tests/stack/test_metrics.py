"""/metrics: Prometheus text read at scrape time from WatchStream rows, Redis and heartbeats."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from django.contrib.auth import get_user_model
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from lifecycle_dash.ingest.clusters import cluster_add
from lifecycle_dash.ingest.models import WatchStream
from lifecycle_dash.live import connections
from lifecycle_dash.stack.heartbeat import KEY_PREFIX, record_heartbeat

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

TOKEN = "scrape-token-for-tests-0123456789"
# A Redis database of its own: the queue lengths asserted here must not meet other tests' tasks.
METRICS_REDIS_DB = 14


@pytest.fixture
def metrics_redis(settings: Any) -> Iterator[redis.Redis]:
    url = settings.REDIS_URL.rsplit("/", 1)[0] + f"/{METRICS_REDIS_DB}"
    settings.REDIS_URL = url
    settings.CELERY_BROKER_URL = url
    settings.METRICS_TOKEN = TOKEN
    client = redis.Redis.from_url(url)
    client.delete("watch", "default", *client.keys(f"{KEY_PREFIX}*"))
    yield client
    client.delete("watch", "default", *client.keys(f"{KEY_PREFIX}*"))


def _scrape(client: Client, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _labels(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def _seed_streams(now: datetime) -> None:
    cluster_add(name="prod", source="incluster")
    streams = {stream.resource: stream for stream in WatchStream.objects.all()}
    assert set(streams) == {"pods", "events", "endpointslices"}
    WatchStream.objects.filter(pk=streams["pods"].pk).update(
        events_total=12345,
        events_per_second=42.5,
        last_event_at=now - timedelta(seconds=7),
        bad_input={"unparseable": 3, "missing_uid": 1},
        relists_total=2,
        lease_owner="watch@pod-a",
        lease_expires_at=now + timedelta(minutes=1),
        last_error="connection reset",
        last_error_at=now - timedelta(seconds=30),
    )
    WatchStream.objects.filter(pk=streams["events"].pk).update(events_total=99)


def test_the_text_format_parses_and_carries_every_stream_s_figures(metrics_redis):
    now = datetime.now(UTC)
    _seed_streams(now)
    metrics_redis.rpush("watch", *[b"task"] * 3)
    metrics_redis.rpush("default", b"task")
    record_heartbeat(
        redis_url=metrics_redis_url(metrics_redis), hostname="watch@pod-a", queues=["watch"]
    )
    record_heartbeat(
        redis_url=metrics_redis_url(metrics_redis), hostname="default@pod-b", queues=["default"]
    )

    samples = _scrape(Client(), Authorization=f"Bearer {TOKEN}")

    pods = (("cluster", "prod"), ("resource", "pods"))
    events = (("cluster", "prod"), ("resource", "events"))
    assert samples[("lifecycle_dash_ingest_events_total", pods)] == 12345
    assert samples[("lifecycle_dash_ingest_events_total", events)] == 99
    assert samples[("lifecycle_dash_ingest_events_per_second", pods)] == 42.5
    assert 7 <= samples[("lifecycle_dash_ingest_lag_seconds", pods)] < 30
    # A stream that has seen nothing has no lag rather than a made-up one.
    assert ("lifecycle_dash_ingest_lag_seconds", events) not in samples
    assert samples[("lifecycle_dash_ingest_relists_total", pods)] == 2
    assert (
        samples[
            (
                "lifecycle_dash_ingest_bad_input_total",
                _labels(cluster="prod", resource="pods", kind="unparseable"),
            )
        ]
        == 3
    )
    assert (
        samples[
            (
                "lifecycle_dash_ingest_bad_input_total",
                _labels(cluster="prod", resource="pods", kind="missing_uid"),
            )
        ]
        == 1
    )
    error_at = samples[("lifecycle_dash_ingest_last_error_timestamp_seconds", pods)]
    assert abs(error_at - (now - timedelta(seconds=30)).timestamp()) < 1
    assert (
        samples[
            (
                "lifecycle_dash_ingest_stream_status",
                _labels(cluster="prod", resource="pods", status="ok"),
            )
        ]
        == 1
    )
    assert (
        samples[
            (
                "lifecycle_dash_ingest_stream_status",
                _labels(cluster="prod", resource="events", status="down"),
            )
        ]
        == 1
    )
    assert samples[("lifecycle_dash_postgres_up", ())] == 1
    assert samples[("lifecycle_dash_redis_up", ())] == 1
    assert samples[("lifecycle_dash_celery_queue_length", (("queue", "watch"),))] == 3
    assert samples[("lifecycle_dash_celery_queue_length", (("queue", "default"),))] == 1
    assert samples[("lifecycle_dash_celery_workers", (("queue", "watch"),))] == 1
    assert samples[("lifecycle_dash_celery_workers", (("queue", "default"),))] == 1
    beat = samples[
        (
            "lifecycle_dash_celery_worker_heartbeat_timestamp_seconds",
            (("queue", "watch"), ("worker", "watch@pod-a")),
        )
    ]
    assert abs(beat - now.timestamp()) < 5


def metrics_redis_url(client: redis.Redis) -> str:
    kwargs = client.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs['db']}"


def test_a_queue_without_workers_reports_zero_workers(metrics_redis):
    samples = _scrape(Client(), Authorization=f"Bearer {TOKEN}")
    assert samples[("lifecycle_dash_celery_workers", (("queue", "watch"),))] == 0
    assert samples[("lifecycle_dash_celery_queue_length", (("queue", "watch"),))] == 0


def test_queue_depth_counts_celery_s_priority_sub_queues(metrics_redis):
    # kombu's Redis transport keeps messages sent with a priority in sibling lists.
    metrics_redis.rpush("watch", b"task")
    metrics_redis.rpush("watch\x06\x163", b"task", b"task")
    metrics_redis.rpush("default\x06\x169", b"task")
    try:
        samples = _scrape(Client(), Authorization=f"Bearer {TOKEN}")
    finally:
        metrics_redis.delete("watch\x06\x163", "default\x06\x169")
    assert samples[("lifecycle_dash_celery_queue_length", (("queue", "watch"),))] == 3
    assert samples[("lifecycle_dash_celery_queue_length", (("queue", "default"),))] == 1


def test_open_websockets_follow_the_consumers_counter(metrics_redis):
    before = connections.open_websockets().get("dashboard", 0)
    connections.websocket_opened("dashboard")
    connections.websocket_opened("dashboard")
    connections.websocket_closed("dashboard")
    try:
        samples = _scrape(Client(), Authorization=f"Bearer {TOKEN}")
        key = ("lifecycle_dash_websockets_open", (("consumer", "dashboard"),))
        assert samples[key] == before + 1
    finally:
        connections.websocket_closed("dashboard")
    assert connections.open_websockets()["dashboard"] == before


def test_a_scrape_costs_one_query_however_many_streams(metrics_redis, django_assert_num_queries):
    cluster_add(name="a", source="incluster")
    cluster_add(name="b", source="incluster")
    with django_assert_num_queries(1):
        _scrape(Client(), Authorization=f"Bearer {TOKEN}")


def test_anonymous_scrapes_are_refused_with_401(metrics_redis):
    response = Client().get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"lifecycle_dash" not in response.content


def test_a_wrong_token_is_refused(metrics_redis):
    response = Client().get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert response.status_code == 401


def test_without_a_configured_token_no_bearer_token_is_accepted(metrics_redis, settings):
    settings.METRICS_TOKEN = ""
    response = Client().get("/metrics", headers={"Authorization": "Bearer "})
    assert response.status_code == 401


def test_signed_in_users_need_staff_status(metrics_redis):
    user = get_user_model().objects.create_user(username="sre", password="x")
    client = Client()
    client.force_login(user)
    assert client.get("/metrics").status_code == 403
    user.is_staff = True
    user.save()
    assert client.get("/metrics").status_code == 200


# --- figures from a real watch worker ---------------------------------------------------------


def _family(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> tuple[dict[str, float], float, float]:
    """``{le: value}`` of one histogram's buckets, plus its _sum and _count."""
    wanted = _labels(**labels)
    buckets = {
        dict(key[1])["le"]: value
        for key, value in samples.items()
        if key[0] == f"{name}_bucket"
        and tuple(item for item in key[1] if item[0] != "le") == wanted
    }
    return buckets, samples[(f"{name}_sum", wanted)], samples[(f"{name}_count", wanted)]


LABELS = {"cluster": "churning", "resource": "pods"}


def _watch_and_scrape_live(env: dict[str, str], pods: Any, simulator: Any) -> float:
    from tests.ingest.watch.conftest import beat_command
    from tests.support.processes import celery_worker_command, running, wait_until

    with (
        running(celery_worker_command("watch", "metrics@%h"), env=env, name="metrics-watch"),
        running(
            beat_command(5.0, {"slice_seconds": 3.0, "read_timeout": 5.0}),
            env=env,
            name="metrics-beat",
        ),
    ):
        assert wait_until(lambda: pods.get().events_total > 1000, timeout=60), (
            "the worker committed no churn"
        )
        # Several flushes later, the worker's pusher has sent its figures.
        time.sleep(3)
        live = _scrape(Client(), Authorization=f"Bearer {TOKEN}")
        buckets, seconds, flushes = _family(
            live, "lifecycle_dash_ingest_flush_duration_seconds", **LABELS
        )
        assert flushes >= 2
        assert 0 < seconds < 60 * flushes
        values = [buckets[le] for le in sorted(buckets, key=float)]
        assert values == sorted(values), "buckets must be cumulative"
        assert buckets["+Inf"] == flushes
        key = _labels(**LABELS)
        assert 0 <= live[("lifecycle_dash_ingest_lag_seconds", key)] < 30
        assert live[("lifecycle_dash_ingest_events_total", key)] > 1000
        assert live[("lifecycle_dash_celery_workers", (("queue", "watch"),))] == 1

        # The API server drops every watch mid-stream: the slice that held it reconnects,
        # and counts it when it ends (one solo worker runs the streams' slices in turn).
        def reconnects() -> float:
            simulator.fault("drop-watches")
            samples = _scrape(Client(), Authorization=f"Bearer {TOKEN}")
            return sum(
                value
                for (name, labels), value in samples.items()
                if name == "lifecycle_dash_ingest_watch_errors_total"
                and ("kind", "reconnect") in labels
            )

        before = reconnects()
        assert wait_until(lambda: reconnects() > before, timeout=30, interval=1), (
            "no reconnect counted"
        )
        return flushes


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_batch_latency_events_and_lag_come_from_a_real_watch_worker(
    tmp_path: Any, stack_env: dict[str, str], settings: Any
) -> None:
    """The simulator churns pods, a Celery watch worker ingests them; /metrics (this process,
    as the web process would) shows the worker's flush histograms next to the stream's row."""
    from lifecycle_dash.ingest import supervisor
    from tests.ingest.watch.conftest import make_cluster, redis_command
    from tests.ingest.watch.sim import Simulator
    from tests.support.processes import free_port, port_open, running, wait_until

    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    env = {**stack_env, "REDIS_URL": url}
    settings.REDIS_URL = url
    settings.CELERY_BROKER_URL = url
    settings.METRICS_TOKEN = TOKEN
    simulator = Simulator(
        tmp_path, scenario="scale", extra=["--set", "pods=300", "--set", "churn=300"]
    )
    try:
        cluster = make_cluster(simulator, name="churning")
        supervisor.streams_ensure()
        pods = WatchStream.objects.filter(cluster=cluster, resource="pods")
        with running(redis_command(port), env=env, name=f"metrics-redis-{port}"):
            assert wait_until(lambda: port_open(port), timeout=10)
            flushes = _watch_and_scrape_live(env, pods, simulator)
            # Stopped: every committed flush was pushed on the way out, so the batch sizes
            # add up to exactly the events the stream's row counted.
            settled = _scrape(Client(), Authorization=f"Bearer {TOKEN}")
            _, events, after = _family(settled, "lifecycle_dash_ingest_flush_events", **LABELS)
            assert after >= flushes
            assert events == pods.get().events_total
    finally:
        simulator.stop()
