"""Benchmark of uploads against loading the same CSV into PostGIS by hand (`make bench-parsing`, issue 8).

Creates a throw-away database, generates engine-format files (CRLF, the engine's number formats):
hazard maps of 100k and 1M sites (6 IMT/PoE columns) and a GMF export (a zip of gmf-data and its
site mesh, one row per event and site), and uploads each through HTTP (`POST /artifacts`) to a
real gunicorn serving Icebox as `make run` does, timed from the request to the 201. Two servers
run side by side: one with ICEBOX_PARSE_IN_DATABASE on (PostgreSQL parses the CSV,
geo/csv_load.py), one with it off (Python parses every cell: Icebox before). The floor is the
same CSV loaded by hand, in SQL, on the same database in the same run: COPY of the raw CSV (less
its metadata row) into a temporary staging table of typed columns, the points made in one
CREATE TABLE ... AS SELECT (joined to the site mesh for the GMF), the GiST index built, committed.
Runs are interleaved (floor, Icebox, Icebox before, ...); medians are printed.

Then, unless --no-breakdown, one in-process upload of each file (artifacts.services.artifact_upload,
no HTTP) with every SQL statement timed: where an upload's time goes.

    .venv/bin/python bench/parsing.py [--runs 3] [--files 100k,1M,gmf] [--no-breakdown]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import secrets
import statistics
import sys
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.database import fresh_database, psql_dsn  # noqa: E402
from bench.maps import Server  # noqa: E402
from tests.synthetic import gmf_data_zip, hazard_map_csv  # noqa: E402

BENCH_DB = os.environ.get("ICEBOX_BENCH_DB", "icebox_bench_parsing")
IMTS = ("PGA", "SA(0.2)", "SA(1.0)")
POES = ("0.002105", "0.000404")
# name: how to make it, and its upload's file name
FILES = {
    "100k": "hazard map, 100,000 sites x 6 columns",
    "1M": "hazard map, 1,000,000 sites x 6 columns",
    "gmf": "GMF zip, 10,000 sites x 100 events = 1,000,000 rows x 3 IMTs",
}
TARGET = 1.5


def make_file(name: str) -> tuple[str, bytes]:
    if name == "100k":
        return "hazard_map-mean_1.csv", hazard_map_csv(400, 250, step=0.05, imts=IMTS, poes=POES, newline="\r\n")
    if name == "1M":
        return "hazard_map-mean_2.csv", hazard_map_csv(1000, 1000, step=0.02, imts=IMTS, poes=POES, newline="\r\n")
    return "output-7-gmf_data-csv.zip", gmf_data_zip(100, 100, 100, step=0.05)


def without_metadata_row(data: bytes) -> bytes:
    """The CSV from its header row on: what COPY ... (HEADER) reads by hand."""
    return data[data.index(b"\n") + 1:] if data.startswith(b"#") else data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="interleaved runs of the 100k upload (the others: 1)")
    parser.add_argument("--files", default=",".join(FILES), help=f"comma-separated, of {','.join(FILES)}")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the in-process, per-statement breakdown")
    args = parser.parse_args()
    args.files = args.files.split(",")
    if not set(args.files) <= set(FILES):
        parser.error(f"--files takes {','.join(FILES)}")
    started = time.perf_counter()
    servers: list[Server] = []
    with fresh_database(BENCH_DB) as (url, env):
        try:
            rows, breakdown = run(args, url, env, servers)
        finally:
            for server in servers:
                server.stop()
    print_tables(rows, breakdown, time.perf_counter() - started, args)
    return 0


def run(args, url: str, env: dict, servers: list) -> tuple[dict, dict]:
    import psycopg2
    import requests
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token
    from urllib3 import encode_multipart_formdata

    user = get_user_model().objects.create_user("bench", password=secrets.token_urlsafe(16))
    token = Token.objects.create(user=user).key
    # A 1M-row upload parsed by Python takes longer than gunicorn's default worker timeout.
    env = {**env, "ICEBOX_WEB_TIMEOUT": "900"}
    print("starting two gunicorns (PostgreSQL parses / Python parses) ...", flush=True)
    after = Server(env)
    servers.append(after)
    before = Server({**env, "ICEBOX_PARSE_IN_DATABASE": "0"})
    servers.append(before)
    session = requests.Session()
    session.headers.update({"Authorization": f"Token {token}"})
    sql = psycopg2.connect(psql_dsn(url))

    def upload(server: Server, body: bytes, content_type: str) -> float:
        start = time.perf_counter()
        response = session.post(server.url + "/artifacts", data=body, headers={"Content-Type": content_type})
        seconds = time.perf_counter() - start
        assert response.status_code == 201, (response.status_code, response.text[:500])
        for artifact in response.json()["artifacts"]:
            assert session.delete(f"{server.url}/artifact/{artifact['id']}").status_code == 204
        return seconds

    rows: dict = {}
    breakdown: dict = {}
    for name in args.files:
        print(f"generating the {name} file ...", flush=True)
        file_name, data = make_file(name)
        # Encoded once: the client's own work is not Icebox's (curl streams a file the same way).
        body, content_type = encode_multipart_formdata({"file": (file_name, data, "application/octet-stream")})
        floor = _floor_gmf(sql, data) if name == "gmf" else _floor_map(sql, data)
        runs = args.runs if name == "100k" else 1
        print(f"uploading {name} ({len(data) / 1e6:.0f} MB): floor, Icebox, Icebox before, x {runs} ...", flush=True)
        if name == "100k":  # warm-up: each worker's first request imports what it needs
            upload(after, body, content_type), upload(before, body, content_type), floor()
        times: dict[str, list[float]] = {"floor": [], "after": [], "before": []}
        for _ in range(runs):
            times["floor"].append(floor())
            times["after"].append(upload(after, body, content_type))
            times["before"].append(upload(before, body, content_type))
        rows[name] = {key: statistics.median(values) for key, values in times.items()} | {"mb": len(data) / 1e6}
        if not args.no_breakdown:
            print(f"timing each statement of one in-process upload of {name} ...", flush=True)
            breakdown[name] = _breakdown(user, file_name, data)
        del data, body
    sql.close()
    return rows, breakdown


def _floor_map(sql, data: bytes):
    """The by-hand load of a hazard map: COPY into a staging table, make the points, GiST index."""
    csv_text = without_metadata_row(data)
    header = csv_text[: csv_text.index(b"\n")].decode().strip().split(",")
    values = ", ".join(f"c{i} double precision" for i in range(len(header) - 2))
    names = ", ".join(f"c{i}" for i in range(len(header) - 2))

    def load(cur) -> None:
        cur.execute(f"CREATE TEMPORARY TABLE floor_stage (lon double precision, lat double precision, {values}) ON COMMIT DROP")
        cur.copy_expert("COPY floor_stage FROM STDIN WITH (FORMAT csv, HEADER true)", io.BytesIO(csv_text), size=1 << 20)
        cur.execute(f"CREATE TABLE floor_map AS SELECT ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS geom, {names} FROM floor_stage")
        cur.execute("CREATE INDEX ON floor_map USING gist (geom)")

    return lambda: _timed(sql, "floor_map", load)


def _timed(sql, table: str, load) -> float:
    """Seconds of load(cursor) and its commit; `table`, which it creates, dropped before and after, untimed."""
    cur = sql.cursor()
    cur.execute(f"DROP TABLE IF EXISTS {table}")
    sql.commit()
    start = time.perf_counter()
    load(cur)
    sql.commit()
    seconds = time.perf_counter() - start
    cur.execute(f"DROP TABLE {table}")
    sql.commit()
    return seconds


def _floor_gmf(sql, data: bytes):
    """The by-hand load of a GMF export: both CSVs COPYed, rows joined to their site's point, GiST index."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    rows = without_metadata_row(next(v for k, v in members.items() if k.startswith("gmf-data_")))
    mesh = without_metadata_row(next(v for k, v in members.items() if k.startswith("sitemesh_")))
    header = rows[: rows.index(b"\n")].decode().strip().split(",")
    gmvs = [f"g{i}" for i in range(len(header) - 2)]

    def load(cur) -> None:
        cur.execute("CREATE TEMPORARY TABLE floor_mesh (site text, lon double precision, lat double precision) ON COMMIT DROP")
        cur.copy_expert("COPY floor_mesh FROM STDIN WITH (FORMAT csv, HEADER true)", io.BytesIO(mesh), size=1 << 20)
        cur.execute(f"CREATE TEMPORARY TABLE floor_stage (event_id bigint, {', '.join(g + ' double precision' for g in gmvs)}, site text) ON COMMIT DROP")
        cur.copy_expert("COPY floor_stage FROM STDIN WITH (FORMAT csv, HEADER true)", io.BytesIO(rows), size=1 << 20)
        cur.execute("ANALYZE floor_mesh")
        cur.execute(f"CREATE TABLE floor_gmf AS SELECT ST_SetSRID(ST_MakePoint(m.lon, m.lat), 4326) AS geom, s.event_id, "
                    f"{', '.join('s.' + g for g in gmvs)}, s.site FROM floor_stage s JOIN floor_mesh m USING (site)")
        cur.execute("CREATE INDEX ON floor_gmf USING gist (geom)")

    return lambda: _timed(sql, "floor_gmf", load)


# The breakdown's row for what the worker does once an upload has committed
# (geo.tasks.build_tile_overview): printed below the upload's total, not in it.
_AFTER_UPLOAD = "after the upload, in the worker: the tile overview and sparse zoom"


def _breakdown(user, file_name: str, data: bytes) -> dict:
    """Seconds of one in-process upload by kind of work: each statement timed, the rest is Python."""
    from django.db import connection

    from artifacts.services import artifact_delete, artifact_upload
    from geo.overview import build_artifact_overview

    spent: dict[str, float] = {}

    def kind_of(sql: str) -> str:
        if "icebox_artifactfile" in sql:
            return "storing the file's bytes (bytea)"
        if sql.startswith("INSERT INTO") and "geo_feature" in sql or sql.startswith("SELECT count(*)"):
            return "PostgreSQL: checks, points and properties (INSERT ... SELECT)"
        if "PRIMARY KEY" in sql or "CREATE INDEX" in sql:
            return "primary key, GiST and filter indexes"
        if sql.startswith("ANALYZE") or "; ANALYZE " in sql:
            return "ANALYZE"
        return "other statements"

    def timer(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            key = kind_of(sql)
            spent[key] = spent.get(key, 0.0) + time.perf_counter() - start

    start = time.perf_counter()
    with connection.execute_wrapper(timer):
        artifacts = artifact_upload(owner=user, file_name=file_name, data=data)
    total = time.perf_counter() - start
    spent["reading the file, COPY (the CSV to PostgreSQL), Python"] = total - sum(spent.values())
    spent["total"] = total
    # Not part of the upload: what the worker does once it has committed (geo.tasks.build_tile_overview).
    start = time.perf_counter()
    for artifact in artifacts:
        build_artifact_overview(artifact.pk)
    spent[_AFTER_UPLOAD] = time.perf_counter() - start
    for artifact in artifacts:
        artifact_delete(artifact=artifact)
    return spent


def print_tables(rows: dict, breakdown: dict, elapsed: float, args) -> None:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    print()
    print(f"Machine: {os.cpu_count()} CPUs ({cpu}); date {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; medians of {args.runs} "
          f"interleaved runs for 100k, 1 run for the others; bench time {elapsed:.0f} s")
    print()
    print("| upload through HTTP | Icebox | floor: COPY, points, GiST by hand | ratio | target | met | Icebox before (Python parses) | ratio before |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        ratio, before = r["after"] / r["floor"], r["before"] / r["floor"]
        print(f"| {FILES[name]} ({r['mb']:.0f} MB) | {_fmt(r['after'])} | {_fmt(r['floor'])} | {ratio:.2f}× | ≤ {TARGET}× | "
              f"{'yes' if ratio <= TARGET else 'NO'} | {_fmt(r['before'])} | {before:.2f}× |")
    if breakdown:
        print()
        print("Where one in-process upload's time goes (no HTTP; PostgreSQL parses):")
        print()
        names = list(breakdown)
        print("| work | " + " | ".join(names) + " |")
        print("|---|" + "---|" * len(names))
        keys = [key for key in next(iter(breakdown.values())) if key != "total"]
        for key in dict.fromkeys(k for b in breakdown.values() for k in b if k not in ("total", _AFTER_UPLOAD)) or keys:
            print(f"| {key} | " + " | ".join(_fmt(breakdown[n].get(key, 0.0)) for n in names) + " |")
        print("| total | " + " | ".join(_fmt(breakdown[n]["total"]) for n in names) + " |")
        print(f"| {_AFTER_UPLOAD} | " + " | ".join(_fmt(breakdown[n].get(_AFTER_UPLOAD, 0.0)) for n in names) + " |")


def _fmt(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


if __name__ == "__main__":
    sys.exit(main())
