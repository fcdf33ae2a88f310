"""core.backend_memory on the real server: a session told to keep freed memory stops faulting pages
in for every statement that needs a few MB, and every connection Icebox opens is told so.

Page faults are counted from the server process's /proc entry (the test server runs on this
machine, as in CI): a count, not a time, so the machine's load does not move it.
"""

from pathlib import Path

import pytest
from django.db import connection

from core.backend_memory import MAX_MEGABYTES, keep_freed_memory
from tests.pg_sessions import backend_pid, other_session

# A sort of 10,000 rows of 250 bytes in memory: about what a 10,000-feature GeoJSON subset sorts.
_SORT = "SET work_mem = '64MB'; SELECT count(*) FROM (SELECT repeat('x', 250) || g AS s FROM generate_series(1, 10000) g ORDER BY g DESC) t"


def _faults_per_statement(cursor, runs: int = 5) -> float:
    stat = Path(f"/proc/{backend_pid(cursor)}/stat")
    if not stat.exists():
        pytest.skip("the test database's server does not run on this machine: its page faults cannot be counted")
    cursor.execute(_SORT)  # the first run may raise glibc's thresholds by itself
    before = _minor_faults(stat)
    for _ in range(runs):
        cursor.execute(_SORT)
    return (_minor_faults(stat) - before) / runs


def _minor_faults(stat: Path) -> int:
    return int(stat.read_text().rsplit(")", 1)[1].split()[7])


def _session(megabytes: int):
    conn = other_session()
    conn.autocommit = True
    cursor = conn.cursor()
    keep_freed_memory(cursor, megabytes)
    return conn, cursor


def test_a_session_that_keeps_freed_memory_stops_faulting_it_in_for_every_statement(db):
    cold, cold_cursor = _session(0)
    warm, warm_cursor = _session(8)
    try:
        cold_faults = _faults_per_statement(cold_cursor)
        warm_faults = _faults_per_statement(warm_cursor)
    finally:
        cold.close()
        warm.close()
    # 3.5 MB sorted: about 900 pages faulted in anew by every statement of a new session.
    assert cold_faults > 200, cold_faults
    assert warm_faults < cold_faults / 10, (warm_faults, cold_faults)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("megabytes", "faulting"), [(0, True), (8, False)])
def test_every_connection_icebox_opens_keeps_what_the_setting_says(settings, megabytes, faulting):
    settings.ICEBOX_DB_KEEP_FREED_MB = megabytes
    connection.close()
    try:
        with connection.cursor() as cursor:  # a new session, set up by icebox.apps
            faults = _faults_per_statement(cursor)
            assert (faults > 200) is faulting, faults
    finally:
        connection.close()  # the next test's session is set up with the default again


@pytest.mark.parametrize("megabytes", [-1, MAX_MEGABYTES + 1])
def test_sizes_glibc_would_not_keep_are_refused(megabytes):
    with pytest.raises(ValueError, match="between 0 and 31"):
        keep_freed_memory(None, megabytes)
