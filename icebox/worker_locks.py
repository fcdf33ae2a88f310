"""The lock a worker holds on the job it is running, which tells a live worker from a dead one.

A PostgreSQL session-level advisory lock on this thread's connection: PostgreSQL releases it
when the connection ends, however the worker died (killed, crashed, connection dropped). So a
job in a running state whose lock can be taken has no worker: no clock, heartbeat or timeout to
tune. Imports (engine.runs) and runs of input models (inputs.runs) each have their namespace.
"""

from __future__ import annotations

from django.db import connection


class worker_lock:
    """`with worker_lock(namespace, job_id) as locked:` try the job's lock on this thread's connection."""

    def __init__(self, namespace: int, job_id: int):
        self.key = int(namespace) + int(job_id)
        self.locked = False

    def __enter__(self) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [self.key])
            self.locked = cursor.fetchone()[0]
        return self.locked

    def __exit__(self, *exc_info) -> None:
        if self.locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [self.key])
