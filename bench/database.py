"""A throw-away database for one benchmark run: created fresh, Django set up and migrated on it,
dropped afterwards. Each benchmark names its own, so that two can run side by side."""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit


def database_url(name: str) -> str:
    """DATABASE_URL (or make's default) with its database replaced by `name`."""
    parts = urlsplit(os.environ.get("DATABASE_URL", "postgis://icebox:icebox@127.0.0.1:5432/icebox"))
    return urlunsplit(parts._replace(path="/" + name))


def psql_dsn(url: str, dbname: str | None = None) -> str:
    parts = urlsplit(url)
    return f"host={parts.hostname or ''} port={parts.port or 5432} user={parts.username or ''} password={parts.password or ''} dbname={dbname or parts.path.lstrip('/')}"


def floor_connection(url: str):
    """A psycopg2 connection in autocommit for a floor's statements, set up as Icebox sets up its
    own sessions: no JIT nor parallel workers (PERF-NOTES.md), freed memory kept
    (core/backend_memory.py, with Icebox's ICEBOX_DB_KEEP_FREED_MB). A floor as fast as Icebox's
    statements could be, whatever the session ran before."""
    import psycopg2
    from django.conf import settings

    from core.backend_memory import keep_freed_memory

    conn = psycopg2.connect(psql_dsn(url))
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SET jit = off; SET max_parallel_workers_per_gather = 0")
        keep_freed_memory(cursor, settings.ICEBOX_DB_KEEP_FREED_MB)
    return conn


@contextmanager
def fresh_database(name: str, *, keep: bool = False) -> Iterator[tuple[str, dict]]:
    """(url, env) of a new, migrated database `name`, with Django set up on it; dropped on exit unless `keep`.

    `env` is the environment gunicorn and other processes of the run get (also put in os.environ).
    """
    if not name.isidentifier() or not name.isascii():
        raise SystemExit(f"a benchmark database name must be a plain identifier, not {name!r}")
    url = database_url(name)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SETTINGS_MODULE": "icebox.settings",
        "LOG_LEVEL": "WARNING",
        # A benchmark's clients, all one user, go far past a person's rate: every request is
        # counted (that cost is measured with the rest), none refused.
        "ICEBOX_THROTTLE_USER": "100000000/minute",
    }
    os.environ.update(env)

    import psycopg2

    admin = psycopg2.connect(psql_dsn(url, "postgres"))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
        cur.execute(f"CREATE DATABASE {name}")
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        yield url, env
    finally:
        from django.db import connections

        connections.close_all()
        if not keep:
            with admin.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()
