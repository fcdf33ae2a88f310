"""Request counters in PostgreSQL, shared by every worker process and every host of one database.

One row per key (a user, an address, a username tried): a fixed window that starts at the key's
first request and lasts the throttle's period. One statement per request counts and reads.
"""

from __future__ import annotations

from django.db import connection

from core.prepared import execute_prepared

_HIT = """
INSERT INTO throttling_window AS w (key, expires, hits)
VALUES (%s, clock_timestamp() + make_interval(secs => %s), 1)
ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN w.expires > clock_timestamp() THEN w.hits + 1 ELSE 1 END,
    expires = CASE WHEN w.expires > clock_timestamp() THEN w.expires ELSE EXCLUDED.expires END
RETURNING hits, extract(epoch FROM expires - clock_timestamp())::float8
"""

# Keys are attacker-chosen (usernames tried): rows of windows that are over are removed, by the
# request that opens a new window of its own key, so the table stays as small as the keys in use.
_SWEEP = "DELETE FROM throttling_window WHERE expires < clock_timestamp()"


def hit(key: str, seconds: int) -> tuple[int, float]:
    """Count one request of `key` in its current window: (requests in the window, seconds left)."""
    with connection.cursor() as cursor:
        # Prepared (core.prepared): parsing and planning it were most of its cost in PostgreSQL.
        execute_prepared(cursor, "throttle_hit", _HIT, [key, seconds])
        hits, left = cursor.fetchone()
        if hits == 1:
            cursor.execute(_SWEEP)
    return hits, max(left, 0.0)
