"""PostgreSQL sessions in tests.

Closing a connection (or killing the process that held it) returns before the server has ended
that session: its locks, advisory locks included, are released a moment later. A test that then
expects them gone must wait for the session's end, not assume it.
"""


def end_session(cursor, pid: int, *, timeout_ms: int = 30000) -> None:
    """End the server session `pid` (if it is not over yet) and return once it is gone.

    pg_terminate_backend(pid, timeout) itself waits until the backend has left the process
    array, which happens after it released all its locks: no polling, no sleep.
    """
    cursor.execute("SELECT pg_terminate_backend(%s, %s)", [pid, timeout_ms])
    cursor.execute("SELECT count(*) FROM pg_locks WHERE pid = %s", [pid])
    assert cursor.fetchone()[0] == 0, f"session {pid} still holds locks after {timeout_ms} ms"


def backend_pid(cursor) -> int:
    cursor.execute("SELECT pg_backend_pid()")
    return cursor.fetchone()[0]


def other_session():
    """A second session on the test database (psycopg2, not Django's), as another request or worker would have."""
    import psycopg2
    from django.db import connection

    params = connection.get_connection_params()
    return psycopg2.connect(**{k: v for k, v in params.items() if k in ("dbname", "user", "password", "host", "port")})
