# lifecycle-dash: one image for every process of the product (web, Celery workers, beat, the
# simulated cluster); docker-compose.yml picks the process per service.
#
# Works with BuildKit and with the legacy builder that Debian's docker-compose v1 uses, so it
# avoids BuildKit-only syntax (RUN --mount, heredocs).

# --- build: wheels for the pinned dependencies and the project, installed into a venv ----------
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src

# Dependencies first, from pyproject.toml's pinned list alone: a code change reuses this layer.
# Only [project].dependencies: the `embedded` extra (in-process PostgreSQL/Redis for laptops) is
# not wanted here, compose runs the real servers. constraints.txt pins their own dependencies.
COPY pyproject.toml constraints.txt ./
RUN python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' > /tmp/requirements.txt \
 && pip wheel --wheel-dir /wheels --requirement /tmp/requirements.txt --constraint constraints.txt

COPY . .
RUN pip wheel --no-deps --wheel-dir /wheels . \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-index --find-links /wheels lifecycle-dash \
 && rm -rf build ./*.egg-info \
 && mkdir -p static

# --- runtime -----------------------------------------------------------------------------------
FROM python:3.11-slim AS runtime

LABEL org.opencontainers.image.title="lifecycle-dash" \
      org.opencontainers.image.description="A live and historical dashboard of Kubernetes pod lifecycles." \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11-slim"

# settings.py finds templates/, static/ and var/ next to the lifecycle_dash package, so the code
# runs from the source tree in /app (first on the path); the venv supplies the dependencies.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=lifecycle_dash.settings

# A numeric, non-root user, so Kubernetes' runAsNonRoot can verify it.
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin app

COPY --from=build /opt/venv /opt/venv
COPY --from=build /src /app
WORKDIR /app

# Static files are collected at build time. collectstatic never connects to the database, so
# build-only placeholders stand in for SECRET_KEY and DATABASE_URL; nothing real is baked in.
# /shared is where the simulated cluster writes its kubeconfig (a compose volume); it belongs to
# the app user so that a fresh named volume mounted there inherits that ownership.
RUN mkdir -p /app/var /shared \
 && SECRET_KEY=build-only-not-secret \
    DATABASE_URL=postgres://build@127.0.0.1:5432/build-only \
    python manage.py collectstatic --noinput \
 && python -m compileall -q lifecycle_dash \
 && chown app:app /app/var /shared

USER 10001:10001

EXPOSE 8000

# No curl in the slim image; urlopen raises (exit 1) on a refused connection or a 4xx/5xx.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "lifecycle_dash.asgi:application"]
