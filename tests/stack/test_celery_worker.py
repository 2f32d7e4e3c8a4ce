from __future__ import annotations

import pytest
from django.conf import settings

from lifecycle_dash.stack.heartbeat import live_workers
from lifecycle_dash.stack.tasks import probe
from tests.support.processes import celery_worker_command, running, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _queues_alive() -> set[str]:
    return {q for worker in live_workers(redis_url=settings.REDIS_URL) for q in worker["queues"]}


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_process_executes_a_task_against_the_test_database(stack_env) -> None:
    from django.db import connection

    hostname = "test-default@pytest"
    with running(celery_worker_command("default", hostname), env=stack_env, name="celery-default"):
        assert wait_until(lambda: "default" in _queues_alive(), timeout=60), "worker never beat"
        result = probe.apply_async(queue="default").get(timeout=30)
    assert result["worker"] == hostname
    assert result["database"] == connection.settings_dict["NAME"]
