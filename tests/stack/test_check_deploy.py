"""Production settings: `check --deploy` is clean, cookies are Secure, logs can be JSON.

Settings are read once per process, so each configuration runs in a subprocess with the
environment a deployment would give it.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lifecycle_dash.stack.logs import JsonFormatter

BASE_DIR = Path(__file__).resolve().parent.parent.parent
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k7Qm2vX9pL4tR8wZ1cF6hJ3nB5sD0gY2aE7uI9oP4qW6eR1tY8uI3oP5aS7dF9gH",
    "ALLOWED_HOSTS": "dash.example.com,localhost",
    "CSRF_TRUSTED_ORIGINS": "https://dash.example.com",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "SECURE_PROXY_SSL_HEADER": "true",
}
SETTINGS_NAMES = [
    "DEBUG",
    "DASH_INSECURE_HTTP",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_HTTPONLY",
    "SECURE_HSTS_SECONDS",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_REDIRECT_EXEMPT",
]


def _env(**overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # Nothing of the developer's shell may leak into the configuration under test.
        if key not in PRODUCTION
        and not key.startswith(("SECURE_", "DASH_", "SESSION_", "CSRF_"))
        # The browser fixture sets it in this process; a deployment never has it.
        and key != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update(DJANGO_SETTINGS_MODULE="lifecycle_dash.settings", **overrides)
    return env


def _settings(env: dict[str, str]) -> dict[str, Any]:
    code = (
        "import json, django; django.setup(); from django.conf import settings;"
        f"print(json.dumps({{n: getattr(settings, n) for n in {SETTINGS_NAMES!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    values: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return values


def test_check_deploy_is_clean_under_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=_env(**PRODUCTION),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_catches_a_short_secret_key_and_debug():
    # The check must be able to fail, or the clean run above proves nothing.
    env = _env(**{**PRODUCTION, "SECRET_KEY": "short", "DEBUG": "true"})
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "security.W009" in result.stderr + result.stdout
    assert "security.W018" in result.stderr + result.stdout


def test_a_real_host_name_gets_https_defaults_secure_httponly_cookies_and_hsts():
    values = _settings(_env(DEBUG="false", ALLOWED_HOSTS="dash.example.com"))
    assert values["DASH_INSECURE_HTTP"] is False
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_HTTPONLY"] is True
    assert values["SECURE_HSTS_SECONDS"] == 31536000
    # Only trusted when a proxy is declared.
    assert values["SECURE_PROXY_SSL_HEADER"] is None
    # Kubelet probes and Prometheus reach the pod over plain HTTP.
    assert values["SECURE_REDIRECT_EXEMPT"] == ["^healthz$", "^metrics$"]


def test_loopback_only_keeps_plain_http_working_for_make_run():
    values = _settings(_env(DEBUG="false"))
    assert values["DASH_INSECURE_HTTP"] is True
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0


def test_dash_insecure_http_and_each_setting_override_the_defaults():
    values = _settings(
        _env(ALLOWED_HOSTS="dash.lan", DASH_INSECURE_HTTP="true", CSRF_COOKIE_SECURE="true")
    )
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["CSRF_COOKIE_SECURE"] is True
    values = _settings(_env(ALLOWED_HOSTS="dash.example.com", SECURE_PROXY_SSL_HEADER="true"))
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


@pytest.mark.django_db
def test_secure_settings_put_secure_and_httponly_on_the_session_cookie(settings, client):
    from django.contrib.auth import get_user_model

    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    get_user_model().objects.create_user(username="sre-cookie", password="correct horse battery")
    login = client.get("/login/", secure=True)
    csrf = login.cookies["csrftoken"]
    assert csrf["secure"] is True
    assert csrf["httponly"] is True
    response = client.post(
        "/login/",
        {"username": "sre-cookie", "password": "correct horse battery"},
        secure=True,
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["secure"] is True
    assert session["httponly"] is True
    assert session["samesite"] == "Lax"


def test_production_redirects_plain_http_except_probes_and_scrapes():
    code = (
        "import django; django.setup();"
        "from django.test import Client; c = Client(HTTP_HOST='dash.example.com');"
        "r = c.get('/login/'); print(r.status_code, r.get('Location'));"
        "r = c.get('/metrics'); print(r.status_code);"
        "r = c.get('/login/', headers={'X-Forwarded-Proto': 'https'}); print(r.status_code,"
        " r.get('Strict-Transport-Security'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=_env(**PRODUCTION),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "301 https://dash.example.com/login/"
    assert lines[1] == "401"  # not redirected: answered (and refused without a token)
    assert lines[2] == "200 max-age=31536000; includeSubDomains; preload"


# --- JSON logs -----------------------------------------------------------------------------------


def test_json_format_writes_one_object_per_line_with_the_exception():
    formatter = JsonFormatter()
    try:
        raise ValueError("bad watch line")
    except ValueError:
        record = logging.getLogger("lifecycle_dash.ingest").makeRecord(
            "lifecycle_dash.ingest",
            logging.ERROR,
            __file__,
            1,
            "stream %s failed\nline two",
            ("prod/pods",),
            sys.exc_info(),
        )
    line = formatter.format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "lifecycle_dash.ingest"
    assert entry["message"] == "stream prod/pods failed\nline two"
    assert "ValueError: bad watch line" in entry["exception"]
    assert datetime.fromisoformat(entry["time"]).utcoffset() == timedelta(0)


def test_log_format_json_switches_the_root_handler_of_a_real_process():
    code = (
        "import django, logging; django.setup();"
        "logging.getLogger('lifecycle_dash.test').warning('hello %s', 'json');"
        "\ntry:\n    1 / 0\nexcept ZeroDivisionError:\n"
        "    logging.getLogger('lifecycle_dash.test').exception('division')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=_env(LOG_FORMAT="json"),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert entries[0]["message"] == "hello json"
    assert entries[0]["level"] == "WARNING"
    assert entries[0]["logger"] == "lifecycle_dash.test"
    assert "ZeroDivisionError" in entries[1]["exception"]
    assert set(entries[0]) == {"time", "level", "logger", "message"}


def test_an_unknown_log_format_is_refused_by_name():
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE_DIR,
        env=_env(LOG_FORMAT="xml"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "LOG_FORMAT='xml'" in result.stderr
