"""Benchmark of Icebox's map reads against the database's own speed (`make bench`, issue 4).

Creates a throw-away database, generates engine-format hazard maps (100k and 1M sites on a
regular grid, 6 IMT/PoE columns), imports them through Icebox's own import path
(`icebox.services.artifact_upload`), serves them with gunicorn as `make run` does, and prints
each measurement beside the same work done by ONE SQL statement on the same data, in the same
run: medians of interleaved runs (Icebox, SQL, Icebox, SQL, ...). Drops the database at the end
(`--keep` keeps it, to EXPLAIN by hand). Run time: a few minutes.

    .venv/bin/python bench/maps.py [--runs 5] [--keep]
"""

from __future__ import annotations

import argparse
import io
import math
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.database import fresh_database, psql_dsn  # noqa: E402
from tests.synthetic import hazard_map_csv  # noqa: E402

# Its own database; ICEBOX_BENCH_DB names another, so that two benches can run side by side.
BENCH_DB = os.environ.get("ICEBOX_BENCH_DB", "icebox_bench")
IMTS = ("PGA", "SA(0.2)", "SA(1.0)")
POES = ("0.002105", "0.000404")
GRIDS = {  # name: (nlon, nlat, step), from lon 5 / lat 40 (Europe)
    "100k": (400, 250, 0.05),
    "1M": (1000, 1000, 0.02),
}
LON0, LAT0 = 5.0, 40.0


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(runs: int, icebox, floor) -> tuple[float, float]:
    """Median seconds of `icebox` and of `floor`, alternating, after one warm-up of each."""
    icebox(), floor()
    a, b = [], []
    for _ in range(runs):
        a.append(timed(icebox))
        b.append(timed(floor))
    return statistics.median(a), statistics.median(b)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180.0) / 360.0 * n), int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)


def grid_bbox(step: float, cells: int, lon: float = 10.0, lat: float = 45.0) -> str:
    """A bbox holding exactly cells x cells grid sites, edges half a step away from any site."""
    return f"{lon - step / 2:.6f},{lat - step / 2:.6f},{lon + (cells - 0.5) * step:.6f},{lat + (cells - 0.5) * step:.6f}"


_SERVERS: list = []  # every gunicorn started, stopped in main()'s finally whatever happens


class Server:
    """gunicorn serving Icebox on the bench database, as `make run` does (gunicorn.conf.py)."""

    def __init__(self, env: dict, workers: int = 2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py", "icebox.wsgi:application"],
            cwd=ROOT,
            env={**env, "ICEBOX_BIND": f"127.0.0.1:{self.port}", "ICEBOX_WEB_WORKERS": str(workers)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _SERVERS.append(self)
        import requests

        for _ in range(200):
            try:
                requests.get(self.url + "/ogc/conformance", timeout=5)
                return
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still importing Django
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def peak_rss_mb(self) -> float:
        """The highest VmHWM (peak resident set) of the master and its workers."""
        peaks = []
        for pid in [self.proc.pid, *self.worker_pids()]:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        return max(peaks)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="interleaved runs per measurement (median reported)")
    parser.add_argument("--import-runs", type=int, default=3, help="interleaved import runs of the 100k map (1M: 1)")
    parser.add_argument("--tiles-only", action="store_true", help="measure the imports and the vector tiles only")
    parser.add_argument("--keep", action="store_true", help=f"keep the database {BENCH_DB} afterwards")
    args = parser.parse_args()
    started = time.perf_counter()

    with fresh_database(BENCH_DB, keep=args.keep) as (url, env):
        try:
            rows = run(args, url, env)
            rows.pop("_server", None)
        finally:
            for server in _SERVERS:
                server.stop()
    print_table(rows, time.perf_counter() - started, args)
    return 0


def run(args, url, env) -> dict:
    import psycopg2
    import requests
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from geo.loading import _copy_lines, _CopyReader
    import kinds
    from icebox.services import artifact_delete, artifact_upload

    user = get_user_model().objects.create_user("bench", password=secrets.token_urlsafe(16))
    token = Token.objects.create(user=user).key
    sql = psycopg2.connect(psql_dsn(url))
    sql.autocommit = True
    cur = sql.cursor()
    # The SQL floor gets the same planner settings Icebox uses (PERF-NOTES.md): a stricter floor.
    cur.execute("SET jit = off; SET max_parallel_workers_per_gather = 0")

    results: dict = {}
    artifacts: dict = {}
    # Seconds Icebox's import spends in Python parsing, validating and formatting the rows
    # (single-threaded, before PostgreSQL sees them): reported to explain the import ratio.
    python_share: dict = {}
    for name, (nlon, nlat, step) in GRIDS.items():
        print(f"generating the {name} map ...", flush=True)
        data = hazard_map_csv(nlon, nlat, lon0=LON0, lat0=LAT0, step=step, imts=IMTS, poes=POES)
        file_name = f"hazard_map-mean_{nlon * nlat}.csv"
        (table,) = kinds.read_export(file_name, data, max_uncompressed=len(data))
        start = time.perf_counter()
        copy_text = "".join(_copy_lines(0, table, type("S", (), {})()))
        python_share[name] = time.perf_counter() - start

        def icebox_import():
            [artifact] = artifact_upload(owner=user, file_name=file_name, data=data)
            return artifact

        def floor_import():
            cur.execute("DROP TABLE IF EXISTS floor_copy")
            cur.execute("CREATE TABLE floor_copy (artifact_id bigint NOT NULL, idx integer NOT NULL, geom geometry(Geometry, 4326) NOT NULL, properties jsonb NOT NULL, PRIMARY KEY (artifact_id, idx))")
            cur.execute("CREATE INDEX ON floor_copy USING gist (geom)")
            start = time.perf_counter()
            cur.copy_expert("COPY floor_copy (artifact_id, idx, geom, properties) FROM STDIN", io.StringIO(copy_text))
            return time.perf_counter() - start

        print(f"importing the {name} map (Icebox vs COPY into an indexed table) ...", flush=True)
        runs = args.import_runs if name == "100k" else 1
        icebox_t, floor_t = [], []
        for i in range(runs):
            start = time.perf_counter()
            artifact = icebox_import()
            icebox_t.append(time.perf_counter() - start)
            floor_t.append(floor_import())
            if i < runs - 1:
                artifact_delete(artifact=artifact)
        cur.execute("DROP TABLE IF EXISTS floor_copy")
        results[f"import {name} map ({nlon * nlat:,} rows, {len(IMTS) * len(POES)} columns)"] = (statistics.median(icebox_t), statistics.median(floor_t), 1.5, None)
        artifacts[name] = (artifact, step)
        del data, table, copy_text
    cur.execute("ANALYZE")

    print("starting gunicorn ...", flush=True)
    server = Server(env)
    results["_server"] = server
    session = requests.Session()
    session.headers.update({"Authorization": f"Token {token}", "Accept-Encoding": "identity"})

    def http_get(path: str, *, gzip: bool = False, expect: int = 200) -> int:
        headers = {"Accept-Encoding": "gzip"} if gzip else {}
        with session.get(server.url + path, stream=True, headers=headers) as response:
            assert response.status_code == expect, (path, response.status_code, response.text[:300])
            return sum(len(chunk) for chunk in response.raw.stream(1 << 20, decode_content=False))

    def sql_once(statement: str, params=()) -> None:
        cur.execute(statement, params)
        cur.fetchall()

    def geojson_floor(part: str, where: str = "") -> str:
        return (
            "SELECT json_build_object('type','FeatureCollection','features', json_agg(ST_AsGeoJSON(t.*)::json))::text"
            f" FROM (SELECT idx AS id, geom, properties FROM {part}{where}) AS t"
        )

    def mvt_floor(part: str, z: int, x: int, y: int) -> str:
        return (
            "SELECT ST_AsMVT(q, 'layer') FROM (SELECT idx, properties, ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(%d, %d, %d)) AS geom"
            " FROM %s WHERE geom && ST_Transform(ST_TileEnvelope(%d, %d, %d), 4326)) AS q" % (z, x, y, part, z, x, y)
        )

    a100, step100 = artifacts["100k"]
    a1m, step1m = artifacts["1M"]
    part100, part1m = f"geo_feature_{a100.pk}", f"geo_feature_{a1m.pk}"
    if not args.tiles_only:
        geojson(args, results, http_get, sql_once, geojson_floor, cur, a100, part100, a1m, part1m, step100, step1m)

    print("measuring vector tiles ...", flush=True)
    for label, artifact, part in (("100k", a100, part100), ("1M", a1m, part1m)):
        for z in (4, 8, 12):
            x, y = tile_of(10.01, 45.01, z)
            cur.execute(f"SELECT count(*) FROM {part} WHERE geom && ST_Transform(ST_TileEnvelope({z}, {x}, {y}), 4326)")
            count = cur.fetchone()[0]
            path = f"/artifact/{artifact.pk}/tiles/{z}/{x}/{y}.mvt"
            # The floor is the unthinned tile (every point): Icebox's tile before thinning.
            cur.execute(mvt_floor(part, z, x, y))
            floor_kb = len(cur.fetchone()[0]) / 1024
            icebox_kb = http_get(path) / 1024
            results[f"MVT z{z} ({count:,} points; {icebox_kb:,.0f} KB thinned vs {floor_kb:,.0f} KB unthinned), {label} map"] = (
                *interleaved(args.runs, lambda: http_get(path), lambda: sql_once(mvt_floor(part, z, x, y))),
                1.5,
                0.005 if z == 12 else None,
            )
    if args.tiles_only:
        results["_rss_tiles"] = server.peak_rss_mb()
        if args.keep:
            print(f"kept database {BENCH_DB}: partitions {part100} (100k) and {part1m} (1M)")
        cur.close()
        sql.close()
        return results

    print("measuring concurrency (8 clients, 1% bbox on 100k, 10 s each) ...", flush=True)
    results["_rps"] = concurrency(server, token, url, a100.pk, part100, step100, geojson_floor)

    print("streaming the whole 1M map (peak RSS of a fresh gunicorn) ...", flush=True)
    # Peak RSS so far includes the z4 tile of the 1M map: report it,
    # then measure the stream on a fresh server so the number is the stream's own.
    after_tiles = server.peak_rss_mb()
    server.stop()
    server = Server(env)
    results["_server"] = server
    http_get(f"/artifact/{a1m.pk}?limit=1")  # the worker has imported everything it will use
    before = server.peak_rss_mb()
    seconds = timed(lambda: http_get(f"/artifact/{a1m.pk}"))
    results["_rss"] = (before, server.peak_rss_mb(), seconds, after_tiles)
    results["_python"] = python_share

    if args.keep:
        print(f"kept database {BENCH_DB}: partitions {part100} (100k) and {part1m} (1M)")
    cur.close()
    sql.close()
    return results


def geojson(args, results, http_get, sql_once, geojson_floor, cur, a100, part100, a1m, part1m, step100, step1m) -> None:
    print("measuring GeoJSON ...", flush=True)
    whole = f"/artifact/{a100.pk}"
    results["GeoJSON whole 100k map"] = (*interleaved(args.runs, lambda: http_get(whole), lambda: sql_once(geojson_floor(part100))), 1.5, None)
    results["GeoJSON whole 100k map, gzip (client accepts it)"] = (
        *interleaved(args.runs, lambda: http_get(whole, gzip=True), lambda: sql_once(geojson_floor(part100))),
        None,
        None,
    )
    for label, artifact, part, step in (("100k", a100, part100, step100), ("1M", a1m, part1m, step1m)):
        bbox = grid_bbox(step, 100)
        where = " WHERE geom && ST_MakeEnvelope(%s, 4326)" % bbox
        cur.execute(f"SELECT count(*) FROM {part}{where}")
        count = cur.fetchone()[0]
        results[f"GeoJSON bbox -> {count:,} features, {label} map"] = (
            *interleaved(args.runs, lambda: http_get(f"/artifact/{artifact.pk}?bbox={bbox}"), lambda: sql_once(geojson_floor(part, where))),
            1.5,
            None,
        )


def concurrency(server, token, url, artifact_id, part, step, geojson_floor, clients=8, seconds=10.0) -> tuple[float, float, int]:
    import random

    import psycopg2
    import requests

    cells = 32  # 32 x 32 = 1,024 sites: 1% of the 100k map
    boxes = [grid_bbox(step, cells, lon=LON0 + step * random.randrange(0, 400 - cells), lat=LAT0 + step * random.randrange(0, 250 - cells)) for _ in range(200)]

    def icebox_client(stop, counter):
        s = requests.Session()
        s.headers.update({"Authorization": f"Token {token}", "Accept-Encoding": "identity"})
        n = 0
        while not stop.is_set():
            r = s.get(f"{server.url}/artifact/{artifact_id}?bbox={random.choice(boxes)}")
            assert r.status_code == 200
            n += 1
        counter.append(n)

    def sql_client(stop, counter):
        conn = psycopg2.connect(psql_dsn(url))
        conn.autocommit = True
        c = conn.cursor()
        c.execute("SET jit = off")
        n = 0
        while not stop.is_set():
            c.execute(geojson_floor(part, " WHERE geom && ST_MakeEnvelope(%s, 4326)" % random.choice(boxes)))
            c.fetchall()
            n += 1
        counter.append(n)
        conn.close()

    def rate(worker) -> float:
        stop, counter = threading.Event(), []
        threads = [threading.Thread(target=worker, args=(stop, counter)) for _ in range(clients)]
        for t in threads:
            t.start()
        time.sleep(seconds)
        stop.set()
        for t in threads:
            t.join()
        return sum(counter) / seconds

    return rate(icebox_client), rate(sql_client), clients


def print_table(rows: dict, elapsed: float, args) -> None:
    rps = rows.pop("_rps", None)
    rss = rows.pop("_rss", None)
    python = rows.pop("_python", None)
    rss_tiles = rows.pop("_rss_tiles", None)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    mem = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))) / 1024**2
    print()
    print(f"Machine: {os.cpu_count()} CPUs ({cpu}), {mem:.0f} GB RAM, {platform.system()} {platform.release()}; "
          f"date {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; medians of {args.runs} interleaved runs "
          f"(imports: {args.import_runs} on 100k, 1 on 1M); bench time {elapsed:.0f} s")
    print()
    print("| work | Icebox | one SQL statement | ratio | target | met |")
    print("|---|---|---|---|---|---|")
    for label, (icebox, floor, target, absolute) in rows.items():
        ratio = icebox / floor
        if target is None:
            goal, met = "–", "–"
        else:
            ok = ratio <= target or (absolute is not None and icebox <= absolute)
            goal = f"≤ {target}×" + (f" or ≤ {absolute * 1000:.0f} ms" if absolute else "")
            met = "yes" if ok else "NO"
        print(f"| {label} | {_fmt(icebox)} | {_fmt(floor)} | {ratio:.2f}× | {goal} | {met} |")
    if rps:
        icebox_rps, floor_rps, clients = rps
        print(f"| {clients} concurrent clients, 1% bbox (~1,000 features) on 100k, gunicorn.conf.py (2 workers x 16 threads) | {icebox_rps:.0f} req/s | {floor_rps:.0f} req/s | {floor_rps / icebox_rps:.2f}× | report | – |")
    if rss:
        before, after, seconds, after_tiles = rss
        print(f"| peak RSS of a gunicorn worker streaming the whole 1M map ({seconds:.1f} s) | {after:.0f} MB (idle: {before:.0f} MB) | – | – | ≤ 150 MB | {'yes' if after <= 150 else 'NO'} |")
        print()
        print(f"Peak RSS of the first server after all the runs above, including the z4 tile of the 1M map: {after_tiles:.0f} MB.")
    if rss_tiles:
        print()
        print(f"Peak RSS of a gunicorn worker after all the tiles above, including the z4 tile of the 1M map: {rss_tiles:.0f} MB.")
    if python:
        shares = ", ".join(f"{name}: {seconds:.2f} s" for name, seconds in python.items())
        print(f"Of each import, Python parsing + validating + formatting the COPY rows alone took {shares}.")


def _fmt(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


if __name__ == "__main__":
    sys.exit(main())
