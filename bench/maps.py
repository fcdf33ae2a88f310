"""Benchmark of Icebox's map reads against the database's own speed (`make bench`, issue 4).

Creates a throw-away database, generates engine-format hazard maps (100k and 1M sites on a
regular grid, 6 IMT/PoE columns), imports them through Icebox's own import path
(`artifacts.services.artifact_upload`), serves them with gunicorn as `make run` does, and prints
each measurement beside the same work done by ONE SQL statement on the same data, in the same
run: medians of interleaved runs (Icebox, SQL, Icebox, SQL, ...). Drops the database at the end
(`--keep` keeps it, to EXPLAIN by hand). Run time: a few minutes.

Small reads (tiles, /site) are measured as a browser makes them: 6 parallel keep-alive
connections (`Browser`), a map view's worth of tiles at once; the floor runs the same statements
on 6 parallel database connections. Per-request time is the wall time of the batch over the
number of requests (how fast the view fills); the median latency of one request is shown beside.

    .venv/bin/python bench/maps.py [--runs 5] [--keep] [--only tiles,site] [--maps 100k]
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

from bench.database import floor_connection, fresh_database  # noqa: E402
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
PARTS = ("geojson", "tiles", "site", "concurrency", "rss")
# Parallel keep-alive connections per client: what browsers open per host (HTTP/1.1).
BROWSER_CONNECTIONS = 6


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

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the workers have used so far: per-request cost, whatever else the machine runs."""
        total = 0
        for pid in self.worker_pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="interleaved runs per measurement (median reported)")
    parser.add_argument("--import-runs", type=int, default=3, help="interleaved import runs of the 100k map (1M: 1)")
    parser.add_argument("--tiles-only", action="store_true", help="measure the imports and the vector tiles only (= --only tiles)")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts to measure, of {','.join(PARTS)} (the maps are always imported)")
    parser.add_argument("--maps", default=",".join(GRIDS), help=f"comma-separated maps to generate and use, of {','.join(GRIDS)}")
    parser.add_argument("--keep", action="store_true", help=f"keep the database {BENCH_DB} afterwards")
    args = parser.parse_args()
    args.only = {"tiles"} if args.tiles_only else set(args.only.split(","))
    args.maps = args.maps.split(",")
    if not args.only <= set(PARTS) or not set(args.maps) <= set(GRIDS):
        parser.error(f"--only takes {','.join(PARTS)}; --maps takes {','.join(GRIDS)}")
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
    import requests
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from geo.loading import _copy_lines, _CopyReader
    import kinds
    from artifacts.services import artifact_delete, artifact_upload
    from geo.overview import build_artifact_overview

    user = get_user_model().objects.create_user("bench", password=secrets.token_urlsafe(16))
    token = Token.objects.create(user=user).key
    # The SQL floor's session is set up as Icebox's are (planner settings, freed memory kept): a stricter floor.
    sql = floor_connection(url)
    cur = sql.cursor()

    results: dict = {}
    artifacts: dict = {}
    # Seconds Icebox's import spends in Python parsing, validating and formatting the rows
    # (single-threaded, before PostgreSQL sees them): reported to explain the import ratio.
    python_share: dict = {}
    overviews: dict = {}
    results["_overviews"] = overviews
    for name, (nlon, nlat, step) in ((name, GRIDS[name]) for name in args.maps):
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
        # What the worker does once the upload has committed (geo.tasks.build_tile_overview):
        # not part of the upload, but of what the tiles below read; timed apart.
        start = time.perf_counter()
        build_artifact_overview(artifact.pk)
        overviews[name] = time.perf_counter() - start
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

    browser = Browser(server.url, token)
    floor_pool = FloorPool(url)
    maps = {name: (artifact, step, f"geo_feature_{artifact.pk}") for name, (artifact, step) in artifacts.items()}
    try:
        if "geojson" in args.only:
            geojson(args, results, http_get, lambda path: session.get(server.url + path).content, sql_once, cur, maps)
        if "tiles" in args.only:
            tiles(args, results, browser, floor_pool, cur, http_get, maps, server)
            results["_rss_tiles"] = server.peak_rss_mb()
        if "site" in args.only:
            site(args, results, browser, floor_pool, maps, server)
        if "concurrency" in args.only and "100k" in maps:
            print("measuring concurrency (8 clients, 1% bbox on 100k, 10 s each) ...", flush=True)
            artifact, step, part = maps["100k"]
            results["_rps"] = concurrency(server, token, url, artifact.pk, part, step, geojson_floor)
    finally:
        browser.close()
        floor_pool.close()

    if "rss" in args.only and "1M" in maps:
        print("streaming the whole 1M map (peak RSS of a fresh gunicorn) ...", flush=True)
        # Peak RSS so far includes the z4 tile of the 1M map: report it,
        # then measure the stream on a fresh server so the number is the stream's own.
        after_tiles = server.peak_rss_mb()
        server.stop()
        server = Server(env)
        results["_server"] = server
        session = requests.Session()
        session.headers.update({"Authorization": f"Token {token}", "Accept-Encoding": "identity"})
        a1m = maps["1M"][0]
        http_get(f"/artifact/{a1m.pk}?limit=1")  # the worker has imported everything it will use
        before = server.peak_rss_mb()
        seconds = timed(lambda: http_get(f"/artifact/{a1m.pk}"))
        results["_rss"] = (before, server.peak_rss_mb(), seconds, after_tiles)
        results.pop("_rss_tiles", None)
    results["_python"] = python_share

    if args.keep:
        print(f"kept database {BENCH_DB}: partitions " + ", ".join(f"{part} ({name})" for name, (_, _, part) in maps.items()))
    cur.close()
    sql.close()
    return results


def geojson_floor(part: str, where: str = "") -> str:
    """The json_agg floor of PERF-NOTES.md (kept for the concurrency figure, comparable with earlier runs)."""
    return (
        "SELECT json_build_object('type','FeatureCollection','features', json_agg(ST_AsGeoJSON(t.*)::json))::text"
        f" FROM (SELECT idx AS id, geom, properties FROM {part}{where}) AS t"
    )


def string_agg_floor(part: str, where: str = "") -> str:
    """The fastest single statement for Icebox's exact bytes: each feature's text built per row, joined by string_agg in file order."""
    feature = "'{\"type\":\"Feature\",\"id\":' || idx || ',\"geometry\":' || ST_AsGeoJSON(geom, 9) || ',\"properties\":' || properties::text || '}'"
    return f"SELECT '{{\"type\":\"FeatureCollection\",\"features\":[' || coalesce(string_agg({feature}, ',' ORDER BY idx), '') || ']}}' FROM {part}{where}"


def mvt_floor(part: str, z: int, x: int, y: int) -> str:
    """One tile as the floor of PERF-NOTES.md: every point, no thinning (Icebox's tile before thinning)."""
    return (
        "SELECT ST_AsMVT(q, 'layer') FROM (SELECT idx, properties, ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(%d, %d, %d)) AS geom"
        " FROM %s WHERE geom && ST_Transform(ST_TileEnvelope(%d, %d, %d), 4326)) AS q" % (z, x, y, part, z, x, y)
    )


class Browser:
    """A browser's way of fetching: BROWSER_CONNECTIONS kept-alive HTTP/1.1 connections, each
    with its own thread, taking the next URL of a batch as soon as it is free."""

    def __init__(self, base_url: str, token: str, connections: int = BROWSER_CONNECTIONS):
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(base_url)
        self.connections = [http.client.HTTPConnection(parts.hostname, parts.port, timeout=60) for _ in range(connections)]
        self.headers = {"Authorization": f"Token {token}"}

    def _get(self, conn, path: str, headers: dict) -> tuple[int, int]:
        import http.client

        try:
            conn.request("GET", path, headers={**self.headers, **headers})
            response = conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server closed a connection left idle past its keep-alive: reconnect, as a browser does.
            conn.close()
            conn.request("GET", path, headers={**self.headers, **headers})
            response = conn.getresponse()
        body = response.read()
        return response.status, len(body)

    def batch(self, paths: list[str], headers: dict | None = None) -> tuple[float, list[float], list[int]]:
        """Fetch every path (in parallel over the connections): (wall seconds, latencies, sizes)."""
        import queue

        todo: queue.SimpleQueue = queue.SimpleQueue()
        for path in paths:
            todo.put(path)
        latencies, sizes, errors = [], [], []
        headers = headers or {"Accept-Encoding": "identity"}

        def work(conn):
            while True:
                try:
                    path = todo.get_nowait()
                except queue.Empty:
                    return
                start = time.perf_counter()
                try:
                    status, size = self._get(conn, path, headers)
                except Exception as exc:  # noqa: BLE001 - reported below, the bench stops
                    errors.append((path, repr(exc)))
                    return
                latencies.append(time.perf_counter() - start)
                if status not in (200, 204):
                    errors.append((path, status))
                sizes.append(size)

        threads = [threading.Thread(target=work, args=(conn,)) for conn in self.connections]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - start
        if errors:
            raise RuntimeError(f"requests failed: {errors[:5]}")
        return wall, latencies, sizes

    def close(self):
        for conn in self.connections:
            conn.close()


class FloorPool:
    """The floor's side of a browser batch: the same statements on BROWSER_CONNECTIONS database connections, in parallel."""

    def __init__(self, url: str, connections: int = BROWSER_CONNECTIONS):
        self.connections = [floor_connection(url) for _ in range(connections)]

    def batch(self, statements: list[tuple[str, object]]) -> tuple[float, list[float]]:
        import queue

        todo: queue.SimpleQueue = queue.SimpleQueue()
        for statement in statements:
            todo.put(statement)
        latencies = []

        def work(conn):
            with conn.cursor() as c:
                while True:
                    try:
                        sql, params = todo.get_nowait()
                    except queue.Empty:
                        return
                    start = time.perf_counter()
                    c.execute(sql, params)
                    c.fetchall()
                    latencies.append(time.perf_counter() - start)

        threads = [threading.Thread(target=work, args=(conn,)) for conn in self.connections]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - start, latencies

    def close(self):
        for conn in self.connections:
            conn.close()


def paired_batches(runs: int, icebox, floor) -> tuple[tuple[float, float], tuple[float, float]]:
    """Interleaved batches, one warm-up each: ((median seconds per request, median latency) of Icebox, the same of the floor)."""
    icebox(), floor()
    a, b, la, lb = [], [], [], []
    for _ in range(runs):
        wall, latencies, n = icebox()
        a.append(wall / n)
        la += latencies
        wall, latencies, n = floor()
        b.append(wall / n)
        lb += latencies
    return (statistics.median(a), statistics.median(la)), (statistics.median(b), statistics.median(lb))


def view_tiles(z: int, lon: float, lat: float, across: int = 4, down: int = 3) -> list[tuple[int, int, int]]:
    """The tiles of a map view around (lon, lat) at zoom z: `across` x `down` 512-pixel tiles, as
    MapLibre asks for a 1280 x 800 view (its tiles are z+1 of 256-pixel XYZ: 2 x 2 each)."""
    cx, cy = tile_of(lon, lat, z)
    return [(z, x, y) for x in range(cx - across // 2, cx - across // 2 + across) for y in range(cy - down // 2, cy - down // 2 + down)]


def paired_views(args, browser, floor_pool, server, paths, statements) -> tuple[float, float, float, float, float]:
    """Icebox's requests `paths` and the floor's `statements`, each sent as a batch over the
    browser's connections, paired: per-item time and latency of each, and gunicorn's CPU ms a request."""

    def icebox():
        wall, latencies, _ = browser.batch(paths)
        return wall, latencies, len(paths)

    def floor():
        wall, latencies = floor_pool.batch(statements)
        return wall, latencies, len(statements)

    cpu = server.cpu_seconds()
    (i_per, i_lat), (f_per, f_lat) = paired_batches(args.runs, icebox, floor)
    cpu_ms = (server.cpu_seconds() - cpu) / ((args.runs + 1) * len(paths)) * 1000
    return i_per, i_lat, f_per, f_lat, cpu_ms


def tiles(args, results, browser, floor_pool, cur, http_get, maps, server) -> None:
    print("measuring vector tiles (a map view at a time, 6 connections) ...", flush=True)
    for label, (artifact, step, part) in maps.items():
        for z in (8, 12):
            view = view_tiles(z, 10.01, 45.01)
            paths = [f"/artifact/{artifact.pk}/tiles/{z}/{x}/{y}.mvt" for z, x, y in view] * 4
            statements = [(mvt_floor(part, z, x, y), None) for z, x, y in view] * 4
            cur.execute(f"SELECT count(*) FROM {part} WHERE geom && ST_Transform(ST_TileEnvelope({z}, {view[0][1]}, {view[0][2]}), 4326)")
            count = cur.fetchone()[0]

            i_per, i_lat, f_per, f_lat, cpu_ms = paired_views(args, browser, floor_pool, server, paths, statements)
            key = (
                f"MVT z{z}, {label} map: a view of {len(view)} tiles x 4, 6 connections (~{count:,} points a tile;"
                f" latency {i_lat * 1000:.1f} vs {f_lat * 1000:.1f} ms; gunicorn CPU {cpu_ms:.1f} ms a tile)"
            )
            results[key] = (i_per, f_per, 1.5, 0.002)
        # z4: one at a time, every tile the map touches: each must be bounded in time and size.
        z = 4
        (nlon, nlat, _) = GRIDS[label]
        x0, y1 = tile_of(LON0, LAT0, z)
        x1, y0 = tile_of(LON0 + nlon * step, LAT0 + nlat * step, z)
        worst = None
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                path = f"/artifact/{artifact.pk}/tiles/{z}/{x}/{y}.mvt"
                size = http_get(path)
                cur.execute(mvt_floor(part, z, x, y))
                floor_bytes = len(cur.fetchone()[0] or b"")
                icebox_t, floor_t = interleaved(args.runs, lambda: http_get(path), lambda: (cur.execute(mvt_floor(part, z, x, y)), cur.fetchall()))
                results[f"MVT z4 {x}/{y}, {label} map ({size / 1024:,.0f} KB thinned vs {floor_bytes / 1024:,.0f} KB unthinned)"] = (icebox_t, floor_t, None, None)
                worst = (max(worst[0], icebox_t), max(worst[1], size)) if worst else (icebox_t, size)
        results[f"_z4_{label}"] = worst


def site(args, results, browser, floor_pool, maps, server) -> None:
    import random

    from geo.sites import ARTIFACT_SITE_SQL, _params

    print("measuring /site (6 connections) ...", flush=True)
    rng = random.Random(4)
    for label, (artifact, step, part) in maps.items():
        nlon, nlat, _ = GRIDS[label]
        points = [(LON0 + rng.uniform(0, nlon * step), LAT0 + rng.uniform(0, nlat * step)) for _ in range(48)]
        paths = [f"/artifact/{artifact.pk}/site?lon={lon:.5f}&lat={lat:.5f}" for lon, lat in points]
        # The floor: the one nearest-neighbour statement /site sends, on the artifact's rows.
        statements = [(ARTIFACT_SITE_SQL, _params(artifact=artifact, lon=round(lon, 5), lat=round(lat, 5), max_distance_km=100.0, k=1)) for lon, lat in points]
        i_per, i_lat, f_per, f_lat, cpu_ms = paired_views(args, browser, floor_pool, server, paths, statements)
        results[f"/artifact/<id>/site, {label} map: 48 points, 6 connections (latency {i_lat * 1000:.1f} vs {f_lat * 1000:.1f} ms; gunicorn CPU {cpu_ms:.1f} ms a request)"] = (
            i_per, f_per, None, 0.005,
        )
        # TileJSON is built from the artifact's row: its floor is reading that row.
        paths = [f"/artifact/{artifact.pk}/tiles.json"] * 48
        statements = [("SELECT * FROM icebox_artifact WHERE id = %s", [artifact.pk])] * 48
        i_per, i_lat, f_per, f_lat, cpu_ms = paired_views(args, browser, floor_pool, server, paths, statements)
        results[f"TileJSON, {label} map: 48 requests, 6 connections (latency {i_lat * 1000:.1f} vs {f_lat * 1000:.1f} ms; gunicorn CPU {cpu_ms:.1f} ms a request)"] = (
            i_per, f_per, None, None,
        )


def geojson(args, results, http_get, http_body, sql_once, cur, maps) -> None:
    print("measuring GeoJSON ...", flush=True)
    if "100k" in maps:
        artifact, _, part = maps["100k"]
        whole = f"/artifact/{artifact.pk}"
        results["GeoJSON whole 100k map (floor: string_agg)"] = (*interleaved(args.runs, lambda: http_get(whole), lambda: sql_once(string_agg_floor(part))), 1.5, None)
        results["GeoJSON whole 100k map, gzip (floor: string_agg, uncompressed)"] = (
            *interleaved(args.runs, lambda: http_get(whole, gzip=True), lambda: sql_once(string_agg_floor(part))), None, None,
        )
    for label, (artifact, step, part) in maps.items():
        bbox = grid_bbox(step, 100)
        where = " WHERE geom && ST_MakeEnvelope(%s, 4326)" % bbox
        path = f"/artifact/{artifact.pk}?bbox={bbox}"
        cur.execute(f"SELECT count(*) FROM {part}{where}")
        count = cur.fetchone()[0]
        # The floor yields Icebox's bytes exactly: checked, so that the two do the same work.
        cur.execute(string_agg_floor(part, where))
        floor_bytes = cur.fetchone()[0].encode()
        assert http_body(path) == floor_bytes, "Icebox's body differs from the floor's"
        results[f"GeoJSON bbox -> {count:,} features ({len(floor_bytes) / 1e6:.1f} MB), {label} map (floor: string_agg)"] = (
            *interleaved(args.runs, lambda: http_get(path), lambda: sql_once(string_agg_floor(part, where))), 1.5, None,
        )
        results[f"GeoJSON bbox -> {count:,} features, {label} map, gzip (against Icebox uncompressed)"] = (
            *interleaved(args.runs, lambda: http_get(path, gzip=True), lambda: http_get(path)), 1.25, None,
        )


def concurrency(server, token, url, artifact_id, part, step, geojson_floor, clients=8, seconds=10.0) -> tuple[float, float, int]:
    import random

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
        conn = floor_connection(url)
        c = conn.cursor()
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
    overviews = rows.pop("_overviews", None)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    mem = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))) / 1024**2
    print()
    print(f"Machine: {os.cpu_count()} CPUs ({cpu}), {mem:.0f} GB RAM, {platform.system()} {platform.release()}; "
          f"date {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; medians of {args.runs} interleaved runs "
          f"(imports: {args.import_runs} on 100k, 1 on 1M); bench time {elapsed:.0f} s")
    print()
    print("| work | Icebox | one SQL statement | ratio | target | met |")
    print("|---|---|---|---|---|---|")
    z4 = {key: rows.pop(key) for key in [k for k in rows if k.startswith("_z4_")]}
    for label, (icebox, floor, target, absolute) in rows.items():
        ratio = icebox / floor
        if target is None and absolute is None:
            goal, met = "–", "–"
        else:
            ok = (target is not None and ratio <= target) or (absolute is not None and icebox <= absolute)
            goal = " or ".join(([f"≤ {target}×"] if target is not None else []) + ([f"≤ {absolute * 1000:.0f} ms"] if absolute else []))
            met = "yes" if ok else "NO"
        print(f"| {label} | {_fmt(icebox)} | {_fmt(floor)} | {ratio:.2f}× | {goal} | {met} |")
    for key, (seconds, size) in z4.items():
        ok = seconds <= 0.150 and size <= 1 << 20
        print(f"| every z4 tile of the {key[4:]} map: the slowest, the largest | {_fmt(seconds)}, {size / 1024:,.0f} KB | – | – | ≤ 150 ms and ≤ 1 MB | {'yes' if ok else 'NO'} |")
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
    if overviews:
        built = ", ".join(f"{name}: {seconds:.2f} s" for name, seconds in overviews.items())
        print(f"After each import, the worker's build of the tile overview and sparse zoom (not in the import's time) took {built}.")
    if python:
        shares = ", ".join(f"{name}: {seconds:.2f} s" for name, seconds in python.items())
        print(f"Of each import, Python parsing + validating + formatting the COPY rows alone took {shares}.")


def _fmt(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


if __name__ == "__main__":
    sys.exit(main())
