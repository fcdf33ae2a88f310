"""Benchmark of Icebox with a hundred thousand artifacts (`make bench-artifacts`, issue 8 part 2).

In one run, two throw-away databases: one with the artifact every read reads and 49 more (so that
the list's first page is as full as with 100,000), and the uploads of the measurement; and a copy of it to which 100,000 small artifacts (bulk SQL: the setup is not what is measured)
and a few big ones (HTTP uploads, a partition each) are added. Measures, through HTTP against real
gunicorn servers, alternately on each database: a small upload, a bbox read, a vector tile, the
first page of /artifacts, and a read right after another connection's upload; prints each
figure with its ratio to the one-artifact figure (target: at most 1.2x each). A missed target is
printed as missed.

Each database has two gunicorn servers (one worker each), so that "another connection" is
certain: uploads go to one, reads to the other, whose worker keeps its database connection
(CONN_MAX_AGE) with its cached catalog, as a web worker does. The same read is also timed as
one SQL statement on a connection kept open, right after an upload (the catalog effect alone).

    .venv/bin/python bench/artifacts.py [--artifacts 100000] [--runs 25] [--keep]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.database import database_url, fresh_database, psql_dsn  # noqa: E402
from bench.maps import Server, _SERVERS, tile_of  # noqa: E402
from tests.synthetic import hazard_map_csv  # noqa: E402

BENCH_DB = os.environ.get("ICEBOX_BENCH_DB", "icebox_bench_artifacts")
TARGET = 1.2
# The small artifact every measurement reads: a 10 x 10 grid (100 sites), like a site's curves.
SMALL = dict(nlon=10, nlat=10, lon0=10.0, lat0=45.0, step=0.1)
BBOX = "10.15,45.15,10.55,45.55"  # 4 x 4 of its sites
TILE_Z = 8
LIST_PAGE = 50  # ICEBOX_PAGE_SIZE's default
# Big artifacts added with the 100,000: each more rows than the shared partition takes.
BIG_GRID = (150, 150)  # 22,500 sites


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifacts", type=int, default=100_000, help="small artifacts in the database for the second measurement")
    parser.add_argument("--rows", type=int, default=20, help="rows of each bulk-made small artifact")
    parser.add_argument("--big", type=int, default=3, help="big artifacts (a partition each) added with them")
    parser.add_argument("--runs", type=int, default=25, help="requests per measurement (median reported)")
    parser.add_argument("--keep", action="store_true", help=f"keep the databases {BENCH_DB} (one artifact) and {BENCH_DB}_many afterwards")
    args = parser.parse_args()
    started = time.perf_counter()
    with fresh_database(BENCH_DB, keep=args.keep) as (url, env):
        one, many, setup = run(args, url, env)
    print_table(args, one, many, setup, time.perf_counter() - started)
    return 0


def run(args, url, env):
    import psycopg2
    from django.contrib.auth import get_user_model
    from django.db import connections
    from rest_framework.authtoken.models import Token

    from artifacts.services import artifact_upload

    user = get_user_model().objects.create_user("bench", password=secrets.token_urlsafe(16))
    token = Token.objects.create(user=user).key
    small = hazard_map_csv(SMALL["nlon"], SMALL["nlat"], lon0=SMALL["lon0"], lat0=SMALL["lat0"], step=SMALL["step"])
    [target] = artifact_upload(owner=user, file_name="hazard_map-mean_100.csv", data=small)
    assert target.feature_part == 0, "the small artifact must be in the shared partition"
    connections.close_all()
    # The list's first page holds 50 artifacts (PAGE_SIZE) on both sides: the same rows to
    # serialize, so that the ratio is the count and the order, not the page's length.
    one_sql = psycopg2.connect(psql_dsn(url))
    one_sql.autocommit = True
    bulk_artifacts(one_sql.cursor(), target_id=target.pk, count=LIST_PAGE - 1, rows=args.rows)
    one_sql.close()

    # The database with many artifacts starts as a copy of the one with one: the same user, token
    # and artifact, so that each measurement runs on both, alternately, under the same load.
    many_db = BENCH_DB + "_many"
    admin = psycopg2.connect(psql_dsn(url, "postgres"))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {many_db}")
        cursor.execute(f"CREATE DATABASE {many_db} TEMPLATE {BENCH_DB}")
    many_url = database_url(many_db)
    setup = {}
    try:
        sql = psycopg2.connect(psql_dsn(many_url))
        sql.autocommit = True
        cur = sql.cursor()
        print("starting gunicorn servers: uploads and reads, for each database ...", flush=True)
        one_side = Side(env, token)
        many_side = Side({**env, "DATABASE_URL": many_url}, token)

        print(f"adding {args.big} big artifacts ({BIG_GRID[0] * BIG_GRID[1]:,} sites each, HTTP uploads) ...", flush=True)
        start = time.perf_counter()
        big = hazard_map_csv(*BIG_GRID, lon0=20.0, lat0=35.0, step=0.02)
        for i in range(args.big):
            [artifact] = many_side.upload(f"hazard_map-mean_big{i}.csv", big)
            assert artifact["id"] != target.pk
        setup["big uploads"] = time.perf_counter() - start
        print(f"adding {args.artifacts:,} small artifacts of {args.rows} rows (bulk SQL) ...", flush=True)
        start = time.perf_counter()
        bulk_artifacts(cur, target_id=target.pk, count=args.artifacts, rows=args.rows)
        setup["bulk SQL"] = time.perf_counter() - start
        cur.execute("SELECT count(*) FROM icebox_artifact")
        setup["artifacts"] = cur.fetchone()[0]
        setup["one"] = LIST_PAGE
        cur.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'geo_feature'::regclass")
        setup["partitions"] = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'geo_feature'::regclass AND inhrelid::regclass::text <> 'geo_feature_shared'")
        assert cur.fetchone()[0] == args.big, "each big artifact must have a partition of its own"
        one_sql = psycopg2.connect(psql_dsn(url))
        one_sql.autocommit = True
        one_side.sql, many_side.sql = one_sql.cursor(), cur
        one, many = measure(args, target, small, one_side, many_side)
        one_sql.close()
        sql.close()
    finally:
        for server in _SERVERS:
            server.stop()
        if not args.keep:
            with admin.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {many_db} WITH (FORCE)")
        admin.close()
    return one, many, setup


class Side:
    """One database served by two gunicorn servers of one worker each: uploads, and reads."""

    def __init__(self, env: dict, token: str):
        import requests

        self.uploads, self.reads = Server(env, workers=1), Server(env, workers=1)
        self.up, self.rd = requests.Session(), requests.Session()
        for session in (self.up, self.rd):
            session.headers.update({"Authorization": f"Token {token}", "Accept-Encoding": "identity"})
        self.sql = None

    def upload(self, name: str, data: bytes) -> list[dict]:
        response = self.up.post(self.uploads.url + "/artifacts", files={"file": (name, data, "text/csv")})
        assert response.status_code == 201, (response.status_code, response.text[:300])
        return response.json()["artifacts"]

    def get(self, path: str) -> float:
        start = time.perf_counter()
        response = self.rd.get(self.reads.url + path)
        seconds = time.perf_counter() - start
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        return seconds


def measure(args, target, small: bytes, one: Side, many: Side) -> tuple[dict, dict]:
    from geo.models import READ_PLANNER, planner_for

    x, y = tile_of(SMALL["lon0"] + 0.45, SMALL["lat0"] + 0.45, TILE_Z)
    minlon, minlat, maxlon, maxlat = (float(v) for v in BBOX.split(","))

    def upload(side: Side) -> float:
        start = time.perf_counter()
        side.upload("hazard_map-mean_100.csv", small)
        return time.perf_counter() - start

    def sql_read(side: Side) -> float:
        start = time.perf_counter()
        # The planner settings Icebox's reads use (geo.models).
        side.sql.execute(
            READ_PLANNER + planner_for(target)
            + "SELECT count(*) FROM geo_feature WHERE part = %s AND artifact_id = %s AND geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)",
            [target.feature_part, target.pk, minlon, minlat, maxlon, maxlat],
        )
        side.sql.fetchall()
        return time.perf_counter() - start

    def read_after_upload(side: Side) -> float:
        upload(side)
        return side.get(f"/artifact/{target.pk}?bbox={BBOX}")

    def sql_after_upload(side: Side) -> float:
        upload(side)
        return sql_read(side)

    measurements = {
        "small upload (100 sites, HTTP POST)": upload,
        "bbox read (16 of 100 sites, GeoJSON)": lambda side: side.get(f"/artifact/{target.pk}?bbox={BBOX}"),
        f"tile z{TILE_Z}": lambda side: side.get(f"/artifact/{target.pk}/tiles/{TILE_Z}/{x}/{y}.mvt"),
        "list page (/artifacts, first page with count)": lambda side: side.get("/artifacts"),
        "bbox read right after an upload on another server": read_after_upload,
        "same read as SQL, right after an upload (warm connection)": sql_after_upload,
    }
    print(f"measuring, alternately on both databases, {args.runs} runs ...", flush=True)
    for fn in measurements.values():  # warm-up: every worker has imported and connected
        for side in (one, many):
            fn(side), fn(side)
    samples = {side: {name: [] for name in measurements} for side in ("one", "many")}
    # Interleaved, so that a busy moment of the machine spreads over all of them.
    for _ in range(args.runs):
        for name, fn in measurements.items():
            samples["one"][name].append(fn(one))
            samples["many"][name].append(fn(many))
    return tuple({name: statistics.median(values) for name, values in samples[side].items()} for side in ("one", "many"))


def bulk_artifacts(cur, *, target_id: int, count: int, rows: int) -> None:
    """`count` copies of artifact `target_id` (its first `rows` rows, shifted a little each), by SQL.

    The shared partition's indexes are dropped for the insert and built again after (as a bulk
    load would); every copy refers to the target's blob, as an upload of the same bytes would.
    """
    cur.execute("ALTER TABLE geo_feature_shared DROP CONSTRAINT geo_feature_shared_pkey")
    cur.execute("DROP INDEX geo_feature_shared_geom")
    cur.execute(
        "CREATE TEMPORARY TABLE bulk_ids AS WITH made AS ("
        " INSERT INTO icebox_artifact (owner_id, artifact_type, name, file_name, content_type, size, sha256, blob_id, created, metadata,"
        " feature_count, bbox, feature_part)"
        " SELECT a.owner_id, a.artifact_type, a.name || ' ' || g, a.file_name, a.content_type, a.size, a.sha256, a.blob_id,"
        " a.created - g * interval '1 second', a.metadata, %s, a.bbox, 0 FROM icebox_artifact a, generate_series(1, %s) AS g"
        " WHERE a.id = %s RETURNING id) SELECT id FROM made",
        [rows, count, target_id],
    )
    cur.execute(
        "INSERT INTO geo_feature_shared (artifact_id, idx, geom, properties, part)"
        " SELECT b.id, f.idx, ST_Translate(f.geom, (b.id %% 100) * 0.5, ((b.id / 100) %% 50) * 0.5), f.properties, 0"
        " FROM bulk_ids b CROSS JOIN (SELECT * FROM geo_feature_shared WHERE artifact_id = %s AND idx < %s) AS f",
        [target_id, rows],
    )
    cur.execute("ALTER TABLE geo_feature_shared ADD PRIMARY KEY (artifact_id, idx)")
    cur.execute("CREATE INDEX geo_feature_shared_geom ON geo_feature_shared USING gist (artifact_id, geom)")
    # A database that has run a while has been vacuumed and analysed by autovacuum.
    cur.execute("VACUUM ANALYZE icebox_artifact")
    cur.execute("VACUUM ANALYZE geo_feature_shared")


def print_table(args, one: dict, many: dict, setup: dict, seconds: float) -> None:
    print()
    print(f"Icebox with many artifacts: {setup['artifacts']:,} artifacts ({args.artifacts:,} small of {args.rows} rows by bulk SQL,"
          f" {args.big} big of {BIG_GRID[0] * BIG_GRID[1]:,}), {setup['partitions']} partitions of geo_feature;"
          f" medians of {args.runs}, gunicorn, one user. Setup: big uploads {setup['big uploads']:.0f} s, bulk SQL {setup['bulk SQL']:.0f} s.")
    print()
    print(f"| measurement | {setup['one']} artifacts | {setup['artifacts']:,} | ratio | target |")
    print("|---|---|---|---|---|")
    for name in one:
        ratio = many[name] / one[name]
        verdict = "met" if ratio <= TARGET else "MISSED"
        print(f"| {name} | {one[name] * 1000:.2f} ms | {many[name] * 1000:.2f} ms | {ratio:.2f}x | <= {TARGET}x: {verdict} |")
    print()
    print(f"total {seconds:.0f} s")


if __name__ == "__main__":
    raise SystemExit(main())
