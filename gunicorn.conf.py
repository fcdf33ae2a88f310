"""gunicorn's settings for Icebox (`gunicorn -c gunicorn.conf.py icebox.wsgi:application`).

Threaded workers (gthread): every request has a thread of its own, so a client reading a
192 MB map at 1 MB/s holds one thread for minutes while the other threads answer tiles and
lists. Each value comes from the environment, strictly (a value that is not a number stops
start-up); README's "Server model" says why these defaults.
"""

from __future__ import annotations

import os

from icebox.env import env_int, env_str

bind = env_str("ICEBOX_BIND", "127.0.0.1:8000")
workers = env_int("ICEBOX_WEB_WORKERS", 2, minimum=1)

# Sync workers serve one request per process: two slow readers of a whole map took both and
# every other request queued behind them. A thread per request costs a few hundred kB and one
# PostgreSQL connection; an async server would need an async ORM path for streaming cursors,
# and uvicorn added ~40 ms per request on this machine (shared/PERF-NOTES.md).
worker_class = "gthread"
# Enough threads per process that a handful of slow streams landing on one worker leave it
# threads for everyone else. Each thread keeps its own database connection: workers x threads
# (+ two per import worker) must stay under PostgreSQL's max_connections, checked at start below.
threads = env_int("ICEBOX_WEB_THREADS", 16, minimum=1)

# With gthread this is a heartbeat: the arbiter kills a worker whose main loop (which only
# accepts and polls connections) has not ticked for this long, i.e. a hung process. It is NOT a
# limit on one request: a stream of many minutes runs in its own thread and never trips it.
timeout = env_int("ICEBOX_WEB_TIMEOUT", 30, minimum=1)
# On a graceful stop or reload (SIGTERM, SIGHUP), streams in progress get this long to finish;
# a stream still running then is cut, and its client sees a broken transfer (README).
graceful_timeout = env_int("ICEBOX_WEB_GRACEFUL_TIMEOUT", 30, minimum=1)
# Map clients fetch tiles in bursts over kept-alive connections (a new TCP connection per tile
# costs as much as the tile itself). An idle kept-alive connection waits in the worker's poller,
# not in a thread, so a long keep-alive is cheap.
keepalive = env_int("ICEBOX_WEB_KEEPALIVE", 15, minimum=0)

accesslog = "-"


def on_starting(server):
    """Refuse to start when the threads could open more database connections than PostgreSQL allows."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return  # Django's settings stop the workers with a clear message
    import psycopg2

    from icebox.env import parse_database_url

    db = parse_database_url(url)
    try:
        conn = psycopg2.connect(
            dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"] or None, port=db["PORT"] or None, connect_timeout=5, **db["OPTIONS"]
        )
    except psycopg2.Error as exc:
        server.log.warning("could not check the database connection budget: %s", str(exc).strip())
        return
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int")
            available = cursor.fetchone()[0]
    finally:
        conn.close()
    # Two more: the import worker beside gunicorn (scripts/serve.sh) and its housekeeping thread.
    needed = workers * threads + 2
    if needed > available:
        raise SystemExit(
            f"gunicorn.conf.py: {workers} workers x {threads} threads + 2 for the import worker = {needed} database connections, "
            f"but PostgreSQL allows {available}: lower ICEBOX_WEB_WORKERS or ICEBOX_WEB_THREADS, or raise max_connections"
        )
    server.log.info("database connections: %d of %d (workers x threads + the import worker and its housekeeping)", needed, available)
