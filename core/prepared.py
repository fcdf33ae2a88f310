"""Prepared statements for the fixed statements every request sends (the token lookup, the
throttle counter, the readable-artifact lookup): a connection plans each once, then runs it by name.

Planning was most of their cost in PostgreSQL: the readable-artifact lookup (an OR of EXISTS over
three tables) took about 0.5 ms of the server's CPU a request, 0.06 ms once prepared; the token
lookup 0.09 ms (0.03) and the throttle counter 0.1 ms (0.04), measured on 2 CPUs under a map's
load. Only the plan is kept, never a row: a revoked token or share is refused from the very next
request as before.

The first use on a connection sends `PREPARE name AS ...; EXECUTE name (...)` as one statement
(one round trip, and one statement to count for tests that count them); later uses send the
EXECUTE alone. PREPARE is not transactional in PostgreSQL, so a statement prepared in a
transaction that rolled back stays prepared. When that first statement fails, whether the PREPARE
took effect is unknown: the connection then uses new names, never one that may be missing or taken.
A new connection (Django reconnects after an error, or at CONN_MAX_AGE) is noticed by its driver
connection being another object, and prepares again.

Not for the statements on geo_feature (tiles, /site): their partition key is a literal so that
PostgreSQL prunes partitions when it plans (a generic plan would cover, and lock, every partition),
and the SET LOCAL planner settings sent with them differ by partition, which a cached plan would
not follow. Their planning (0.47 ms of a z12 tile's 0.63 ms, measured before the world-grid thinning)
needs cheaper SQL, not this.

Duck-typed on Django's cursor wrapper (`cursor.db.connection` is the driver's connection), so
that every layer may use it; nothing here imports Django.
"""

from __future__ import annotations

import hashlib

_TEXTS: dict[str, str] = {}  # statement name -> the SQL text it was prepared from (every connection alike)


class _Prepared:
    """What one driver connection has prepared: SQL text -> statement name."""

    __slots__ = ("driver", "names", "failures")

    def __init__(self, driver):
        self.driver, self.names, self.failures = driver, {}, 0


def execute_prepared(cursor, label: str, sql: str, params) -> None:
    """Run `sql` (fixed text whose only % are %s placeholders, one per item of `params`) on
    `cursor` as the connection's prepared statement `icebox_<label>_<digest of the text>`."""
    db = cursor.db
    state = db.__dict__.get("_icebox_prepared")
    if state is None or state.driver is not db.connection:
        state = db._icebox_prepared = _Prepared(db.connection)
    execute = "EXECUTE {} (" + ", ".join(["%s"] * len(params)) + ")" if params else "EXECUTE {}"
    name = state.names.get(sql)
    if name is not None:
        cursor.execute(execute.format(name), params)
        return
    name = _name(label, sql, state.failures)
    pieces = sql.split("%s")
    numbered = pieces[0] + "".join(f"${n}{piece}" for n, piece in enumerate(pieces[1:], start=1))
    try:
        cursor.execute(f"PREPARE {name} AS {numbered}; " + execute.format(name), params)
    except BaseException:
        state.failures += 1
        raise
    state.names[sql] = name


def _name(label: str, sql: str, generation: int) -> str:
    if "%" in sql.replace("%s", "") or not label.isidentifier():
        raise ValueError("a prepared statement takes %s placeholders only (no other %), and a label that is an identifier")
    name = f"icebox_{label}_{hashlib.sha256(sql.encode()).hexdigest()[:12]}" + (f"_{generation}" if generation else "")
    _TEXTS[name] = sql
    return name


def sent_sql(captured: str) -> str:
    """The SQL a captured statement ran: for `[PREPARE ...; ]EXECUTE icebox_...` the prepared
    text, for anything else itself. For tests reading what a request sent."""
    if captured.startswith("PREPARE icebox_"):
        captured = captured[captured.rindex("; EXECUTE icebox_") + 2:]
    if captured.startswith("EXECUTE icebox_"):
        return _TEXTS[captured.split(None, 2)[1]]
    return captured
