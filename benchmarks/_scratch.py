"""Scratch databases for the benchmarks: created next to DATABASE_URL's, dropped afterwards."""

from __future__ import annotations

import os

import psycopg

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/lifecycle_dash"


def _server_url(database: str) -> str:
    base = os.environ.get("DATABASE_URL", DEFAULT_URL)
    return base.rsplit("/", 1)[0] + "/" + database


def scratch_create(name: str) -> str:
    """Create the database unless it exists, point DATABASE_URL at it, return its URL."""
    with psycopg.connect(_server_url("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    url = _server_url(name)
    os.environ["DATABASE_URL"] = url
    return url


def scratch_drop(name: str) -> None:
    with psycopg.connect(_server_url("postgres"), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]
