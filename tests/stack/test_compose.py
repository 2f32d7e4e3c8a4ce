"""docker-compose.yml: validated by docker-compose itself, then read as the resolved config.

No Docker engine is needed: `docker-compose config` interpolates, merges the `x-app` anchor
and validates against the compose schema offline. The assertions read its output, so they see
what compose would run rather than the anchors as written.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKER_COMPOSE = shutil.which("docker-compose")

APP_SERVICES = ("web", "worker-watch", "worker", "beat")
PRODUCT_SERVICES = ("postgres", "redis", *APP_SERVICES)

pytestmark = pytest.mark.skipif(
    DOCKER_COMPOSE is None, reason="docker-compose is not installed (the Makefile installs it)"
)


def compose_config(**env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    environ.pop("SECRET_KEY", None)
    environ.update(env)
    return subprocess.run(
        [str(DOCKER_COMPOSE), "-f", str(COMPOSE_FILE), "config"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    result = compose_config(SECRET_KEY="test-only-secret-key")
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = yaml.safe_load(result.stdout)
    return loaded


@pytest.fixture(scope="module")
def services(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = config["services"]
    return services


def command_of(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def test_docker_compose_accepts_the_file() -> None:
    result = compose_config(SECRET_KEY="test-only-secret-key")

    assert result.returncode == 0, result.stderr


def test_it_refuses_to_start_without_a_secret_key() -> None:
    result = compose_config()

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_it_defines_every_product_service(services) -> None:
    assert set(PRODUCT_SERVICES) <= set(services)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_build_from_the_projects_dockerfile(services, name) -> None:
    build = services[name]["build"]

    assert Path(build["context"]).resolve() == ROOT
    assert build.get("dockerfile", "Dockerfile") == "Dockerfile"


def test_web_publishes_port_8000(services) -> None:
    ports = services["web"]["ports"]

    published = {(str(p["published"]), str(p["target"])) for p in ports}
    assert ("8000", "8000") in published


def test_web_migrates_and_ensures_an_admin_before_serving_with_daphne(services) -> None:
    script = " ".join(command_of(services["web"]))

    migrate = script.index("manage.py migrate")
    admin = script.index("manage.py ensure_admin")
    daphne = script.index("daphne")
    assert migrate < admin < daphne
    assert "lifecycle_dash.asgi:application" in script[daphne:]
    assert "-p 8000" in script[daphne:]
    # exec makes daphne PID 1, so `docker stop` reaches it instead of the shell.
    assert "exec daphne" in script


@pytest.mark.parametrize(("name", "queue"), [("worker-watch", "watch"), ("worker", "default")])
def test_workers_consume_their_own_queue(services, name, queue) -> None:
    argv = command_of(services[name])

    assert argv[:4] == ["celery", "-A", "lifecycle_dash", "worker"]
    assert argv[argv.index("-Q") + 1] == queue
    assert argv[argv.index("-n") + 1] == f"{queue}@%h"


def test_the_watch_worker_runs_four_slices_at_once(services) -> None:
    argv = command_of(services["worker-watch"])

    assert argv[argv.index("--concurrency") + 1] == "4"


def test_beat_runs_the_celery_scheduler(services) -> None:
    argv = command_of(services["beat"])

    assert argv[:4] == ["celery", "-A", "lifecycle_dash", "beat"]
    # /app is read-only for the app user; the schedule goes somewhere writable.
    assert argv[argv.index("--schedule") + 1].startswith("/tmp/")


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_wait_for_healthy_postgres_and_redis(services, name) -> None:
    depends_on = services[name]["depends_on"]

    assert depends_on["postgres"]["condition"] == "service_healthy"
    assert depends_on["redis"]["condition"] == "service_healthy"


@pytest.mark.parametrize(("name", "probe"), [("postgres", "pg_isready"), ("redis", "redis-cli")])
def test_the_backing_services_report_their_health(services, name, probe) -> None:
    test = services[name]["healthcheck"]["test"]

    assert probe in " ".join(test)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_reach_postgres_and_redis_by_service_name(services, name) -> None:
    env = services[name]["environment"]

    assert env["DATABASE_URL"] == "postgres://lifecycle:lifecycle@postgres:5432/lifecycle_dash"
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert env["SECRET_KEY"] == "test-only-secret-key"


def test_postgres_credentials_match_the_apps_database_url(services) -> None:
    env = services["postgres"]["environment"]

    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"]) == (
        "lifecycle",
        "lifecycle",
        "lifecycle_dash",
    )
    assert any(v.startswith("pgdata:") for v in services["postgres"]["volumes"])


def test_web_allows_the_host_its_own_healthcheck_uses(services) -> None:
    allowed = services["web"]["environment"]["ALLOWED_HOSTS"].split(",")

    assert "127.0.0.1" in allowed


@pytest.mark.parametrize("name", ["worker-watch", "worker", "beat"])
def test_services_without_http_replace_the_images_http_healthcheck(services, name) -> None:
    # The image's HEALTHCHECK calls :8000/healthz, which only web serves.
    test = services[name]["healthcheck"]["test"]

    assert "/healthz" not in " ".join(test)


def test_the_simulated_cluster_runs_only_in_the_demo_profile(services) -> None:
    kubesim = services["kubesim"]
    argv = command_of(kubesim)

    assert kubesim["profiles"] == ["demo"]
    assert argv[:3] == ["python", "-m", "lifecycle_dash.kubesim"]
    assert argv[argv.index("--kubeconfig-out") + 1].startswith("/shared/")
    assert not kubesim.get("depends_on")
