"""core.prepared on real PostgreSQL: a statement planned once per connection and run by name, whatever
happened to the transactions around it, and a new connection preparing it again."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from core.prepared import execute_prepared, sent_sql


def _run(label: str, sql: str, params) -> tuple[tuple, list[str]]:
    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        execute_prepared(cursor, label, sql, params)
        row = cursor.fetchone()
    return row, [q["sql"] for q in queries.captured_queries]


def test_the_first_use_prepares_and_runs_in_one_statement_and_later_ones_only_run(db):
    sql = "SELECT %s::int + %s::int"
    row, [first] = _run("adds", sql, [1, 2])
    assert row == (3,) and first.startswith("PREPARE icebox_adds_") and "; EXECUTE icebox_adds_" in first
    row, [later] = _run("adds", sql, [40, 2])
    assert row == (42,) and later.startswith("EXECUTE icebox_adds_"), later
    assert sent_sql(first) == sent_sql(later) == sql
    assert sent_sql("SELECT 1") == "SELECT 1"


def test_a_statement_prepared_in_a_transaction_that_rolled_back_is_still_prepared(db):
    # PostgreSQL's PREPARE is not transactional: what the connection remembers stays true.
    sql = "SELECT %s::int * 2"
    with pytest.raises(RuntimeError), transaction.atomic():
        assert _run("doubles", sql, [1])[0] == (2,)
        raise RuntimeError("roll back")
    row, [sent] = _run("doubles", sql, [21])
    assert row == (42,) and sent.startswith("EXECUTE icebox_doubles_"), sent


def test_after_a_failed_first_use_the_statement_is_prepared_under_a_new_name(db):
    # Whether the PREPARE of a failed first statement took effect is unknown: its name is not reused.
    sql = "SELECT 1 / %s::int"
    with pytest.raises(DatabaseError), transaction.atomic():
        _run("divides", sql, [0])
    row, [again] = _run("divides", sql, [1])
    assert row == (1,) and again.startswith("PREPARE icebox_divides_")
    failed_name = again.split()[1]
    assert failed_name.endswith("_1"), again
    row, [later] = _run("divides", sql, [1])
    assert later.split()[1] == failed_name


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_again():
    sql = "SELECT %s::text"
    _run("echoes", sql, ["a"])
    connection.close()  # as Django does after an error, or at CONN_MAX_AGE
    row, [sent] = _run("echoes", sql, ["b"])
    assert row == ("b",) and sent.startswith("PREPARE icebox_echoes_"), sent


def test_only_placeholders_may_hold_a_percent_sign(db):
    with connection.cursor() as cursor, pytest.raises(ValueError):
        execute_prepared(cursor, "likes", "SELECT 'a' LIKE 'a%%' AND %s", [True])
