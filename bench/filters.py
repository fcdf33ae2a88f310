"""One event of a million-row artifact: the plan and time of an equality filter, with its index and without.

Generates an engine `risk_by_event` table of `--rows` rows (`--events` events), stores it through
the upload service (the loader indexes its filterable columns), then EXPLAIN ANALYZEs the rows
query of /artifact/<id>/rows?event_id=N as geo.tables builds it, once with the partition's
expression index and once after dropping it. Prints both plans' summary lines. Its own throw-away
database (`icebox_bench_filters`, ICEBOX_BENCH_DB to name another).

    .venv/bin/python -m bench.filters [--rows 1000000] [--events 10000]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.database import fresh_database  # noqa: E402

BENCH_DB = os.environ.get("ICEBOX_BENCH_DB", "icebox_bench_filters")


def risk_by_event(rows: int, events: int) -> bytes:
    out = io.StringIO()
    out.write("#,,,\"generated_by='OpenQuake engine 3.26.2', start_date='2026-12-01T12:00:00', checksum=1\"\n")
    out.write("event_id,loss,loss_type,rup_id\n")
    for i in range(rows):
        event = i % events
        out.write(f"{event},{(i % 977) * 1.5:.5E},{'structural' if i % 2 else 'nonstructural'},{event // 3}\n")
    return out.getvalue().encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args()
    with fresh_database(BENCH_DB):
        from django.contrib.auth import get_user_model
        from django.db import connection

        from geo.filters import filter_features
        from artifacts import services
        from geo.models import features_of

        owner = get_user_model().objects.create_user("bench")
        data = risk_by_event(args.rows, args.events)
        started = time.perf_counter()
        [artifact] = services.artifact_upload(owner=owner, file_name="risk_by_event_9.csv", data=data)
        print(f"stored {artifact.feature_count} rows ({len(data) / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s")
        event = args.events // 2
        query = filter_features(features_of(artifact), {"event_id": event}).values("idx", "properties")
        sql, params = query.query.sql_with_params()
        statement = f"EXPLAIN (ANALYZE, BUFFERS) SELECT t.properties::text FROM ({sql}) AS t ORDER BY t.idx LIMIT 1001"
        for label in ("with the partition's index on (properties -> 'event_id')", "without it (dropped)"):
            with connection.cursor() as cursor:
                cursor.execute("SET jit = off")
                for _ in range(3):  # warm: the last run is printed
                    cursor.execute(statement, params)
                    plan = [row[0] for row in cursor.fetchall()]
            print(f"\n{label}: rows of event {event}")
            print("\n".join(line for line in plan if "Scan" in line or "Execution Time" in line or "Buffers" in line[:30]))
            with connection.cursor() as cursor:
                cursor.execute(f'DROP INDEX IF EXISTS "geo_feature_{artifact.pk}_f0"')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
