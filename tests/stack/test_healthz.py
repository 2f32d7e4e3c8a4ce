from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from django.conf import settings
from django.test import Client

from lifecycle_dash.stack.heartbeat import KEY_PREFIX, live_workers, record_heartbeat
from tests.support.processes import celery_worker_command, running, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def clean_heartbeats():
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    saved = {key: client.get(key) for key in client.scan_iter(match=f"{KEY_PREFIX}*")}
    client.delete(*saved) if saved else None
    yield
    for key in client.scan_iter(match=f"{KEY_PREFIX}*"):
        client.delete(key)


@pytest.mark.django_db
def test_healthz_is_503_and_names_the_missing_queues_without_workers(clean_heartbeats) -> None:
    response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["postgres"]["status"] == "ok"
    assert body["redis"]["status"] == "ok"
    assert body["celery"]["status"] == "down"
    assert body["celery"]["error"] == "no live worker consumes watch, default"


@pytest.mark.django_db
def test_healthz_is_ok_when_every_queue_has_a_live_worker(clean_heartbeats) -> None:
    record_heartbeat(redis_url=settings.REDIS_URL, hostname="w1@h", queues=["watch"])
    record_heartbeat(redis_url=settings.REDIS_URL, hostname="w2@h", queues=["default"])
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json()["celery"]["queues"] == {"watch": ["w1@h"], "default": ["w2@h"]}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_deep_healthz_over_http_sees_real_workers_run_a_probe(
    live_web, stack_env, clean_heartbeats
):
    watch = celery_worker_command("watch", "test-watch@pytest")
    default = celery_worker_command("default", "test-default@pytest")
    with (
        running(watch, env=stack_env, name="healthz-watch"),
        running(default, env=stack_env, name="healthz-default"),
    ):
        assert wait_until(lambda: len(live_workers(redis_url=settings.REDIS_URL)) == 2, timeout=60)
        with urllib.request.urlopen(f"{live_web}/healthz?deep=1", timeout=20) as response:
            assert response.status == 200
            body = json.load(response)
    assert body["probe"] == {"status": "ok", "worker": "test-default@pytest"}
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(f"{live_web}/healthz", timeout=20)
    assert excinfo.value.code == 503


@pytest.mark.django_db
def test_healthz_names_a_watch_stream_that_is_not_ingesting(clean_heartbeats) -> None:
    from lifecycle_dash.ingest.clusters import cluster_add

    record_heartbeat(redis_url=settings.REDIS_URL, hostname="w1@h", queues=["watch", "default"])
    cluster_add(name="prod", source="kubeconfig", kubeconfig="apiVersion: v1\nkind: Config\n")
    response = Client().get("/healthz")
    assert response.status_code == 503
    watch = response.json()["watch"]
    assert watch["status"] == "down"
    assert watch["error"] == "not ingesting: prod/endpointslices, prod/events, prod/pods"
    assert {stream["resource"] for stream in watch["streams"]} == {
        "pods",
        "events",
        "endpointslices",
    }


@pytest.mark.django_db
def test_the_web_scope_ignores_workers_and_streams_for_readiness(clean_heartbeats) -> None:
    from lifecycle_dash.ingest.clusters import cluster_add

    cluster_add(name="prod", source="kubeconfig", kubeconfig="apiVersion: v1\nkind: Config\n")
    assert Client().get("/healthz").status_code == 503
    response = Client().get("/healthz?scope=web")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "postgres": {"status": "ok"},
        "redis": {"status": "ok"},
    }
    bad = Client().get("/healthz?scope=everything")
    assert bad.status_code == 400
    assert bad.json()["parameter"] == "scope"
