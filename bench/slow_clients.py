"""Slow clients beside fast ones (`make bench-slow`, issue 11).

Creates a throw-away database, imports an engine-format hazard map (1M sites by default, the
map of `make bench`), and serves it with gunicorn as `make run` does (gunicorn.conf.py). Then:

1. unloaded: `--others` clients read tiles (z8-z12), TileJSON and artifact lists, with a short
   pause between requests, as map viewers do, for `--unloaded` seconds;
2. loaded: the same clients again, while `--slow` clients each read the WHOLE map as GeoJSON at
   `--rate` MB/s (a map of 1M sites is ~190 MB: minutes per stream);
3. unloaded again, so that the baseline brackets the load.

It prints whether every slow stream is complete and byte-identical to an unthrottled read, and
the others' p50/p95 latency, loaded vs unloaded, as ratios measured in the same run. Failures
(an error, a timeout, a cut stream) are counted and printed, never retried. Drops the database
at the end. About 5 minutes at the defaults (the streams take 190 MB / rate).

    .venv/bin/python bench/slow_clients.py [--sites 1000000] [--slow 8] [--others 8] [--rate 1.0]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import secrets
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.database import fresh_database  # noqa: E402
from bench.maps import IMTS, LAT0, LON0, POES, tile_of  # noqa: E402
from tests.synthetic import hazard_map_csv  # noqa: E402

BENCH_DB = "icebox_bench_slow"
STEP = 0.02  # the 1M map of bench/maps.py: 1000 x 1000 sites, 0.02 degrees apart


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", type=int, default=1_000_000, help="sites of the streamed map (a multiple of 1000; scales the stream length)")
    parser.add_argument("--slow", type=int, default=8, help="clients reading the whole map slowly")
    parser.add_argument("--others", type=int, default=8, help="clients reading tiles, TileJSON and lists")
    parser.add_argument("--rate", type=float, default=1.0, help="MB/s each slow client reads at")
    parser.add_argument("--unloaded", type=float, default=20.0, help="seconds of each unloaded phase")
    parser.add_argument("--think-ms", type=float, default=20.0, help="pause of an other client between two requests")
    args = parser.parse_args()
    started = time.perf_counter()

    with fresh_database(BENCH_DB):
        report = run(args)
    print_report(report, args, time.perf_counter() - started)
    return 0 if report["ok"] else 1


def run(args) -> dict:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from artifacts.services import artifact_upload
    from geo.overview import build_artifact_overview
    from tests.web_server import Gunicorn, raw_session, sha256_of_stream

    nlon, nlat = 1000, max(1, args.sites // 1000)
    user = get_user_model().objects.create_user("bench", password=secrets.token_urlsafe(16))
    token = Token.objects.create(user=user).key
    print(f"generating and importing a map of {nlon * nlat:,} sites ...", flush=True)
    data = hazard_map_csv(nlon, nlat, lon0=LON0, lat0=LAT0, step=STEP, imts=IMTS, poes=POES)
    [artifact] = artifact_upload(owner=user, file_name=f"hazard_map-mean_{nlon * nlat}.csv", data=data)
    del data
    # What the worker does once the upload has committed: the tiles are read as they are served then.
    build_artifact_overview(artifact.pk)

    # Tiles anywhere on the map, at the zooms a viewer shows it.
    tiles = []
    for z in (8, 10, 12):
        for _ in range(50):
            x, y = tile_of(LON0 + random.random() * nlon * STEP, LAT0 + random.random() * nlat * STEP, z)
            tiles.append(f"/artifact/{artifact.pk}/tiles/{z}/{x}/{y}.mvt")
    paths = tiles + ["/artifacts", f"/artifact/{artifact.pk}/tiles.json"] * 10

    with tempfile.TemporaryDirectory() as logs, Gunicorn(Path(logs), LOG_LEVEL="WARNING") as server:
        map_url = f"{server.url}/artifact/{artifact.pk}"
        print("reading the whole map once, unthrottled ...", flush=True)
        t0 = time.perf_counter()
        response = raw_session(token).get(map_url, stream=True, timeout=600)
        expected = sha256_of_stream(response)
        fast_seconds = time.perf_counter() - t0
        print(f"  {expected[1] / 1e6:.0f} MB in {fast_seconds:.1f} s", flush=True)

        def others_for(stop: threading.Event, samples: list, failures: list):
            def client():
                session = raw_session(token)
                rnd = random.Random()
                while not stop.is_set():
                    path = rnd.choice(paths)
                    t = time.perf_counter()
                    try:
                        r = session.get(server.url + path, timeout=30)
                        elapsed = time.perf_counter() - t
                        if r.status_code in (200, 204):
                            samples.append((time.monotonic(), elapsed))
                        else:
                            failures.append((path, r.status_code))
                    except Exception as exc:  # counted, never retried
                        failures.append((path, repr(exc)))
                    stop.wait(args.think_ms / 1000)

            threads = [threading.Thread(target=client) for _ in range(args.others)]
            for thread in threads:
                thread.start()
            return threads

        def unloaded_phase(label: str) -> tuple[list, list]:
            print(f"{label}: {args.others} clients, tiles and lists, {args.unloaded:.0f} s ...", flush=True)
            stop, samples, failures = threading.Event(), [], []
            threads = others_for(stop, samples, failures)
            stop.wait(args.unloaded)
            stop.set()
            for thread in threads:
                thread.join()
            return [s for _, s in samples], failures

        before, fail_before = unloaded_phase("unloaded")

        print(f"loaded: {args.slow} clients reading the whole map at {args.rate} MB/s, {args.others} others (~{expected[1] / 1e6 / args.rate:.0f} s) ...", flush=True)
        streams: list = []
        stream_times: list = []
        stop, samples, fail_loaded = threading.Event(), [], []

        def slow_client():
            t = time.monotonic()
            try:
                r = raw_session(token).get(map_url, stream=True, timeout=60)
                streams.append(sha256_of_stream(r, bytes_per_second=args.rate * 1e6) if r.status_code == 200 else r.status_code)
            except Exception as exc:  # a cut stream: reported
                streams.append(repr(exc))
            stream_times.append((t, time.monotonic()))

        slow_threads = [threading.Thread(target=slow_client) for _ in range(args.slow)]
        for thread in slow_threads:
            thread.start()
        others = others_for(stop, samples, fail_loaded)
        for thread in slow_threads:
            thread.join()
        stop.set()
        for thread in others:
            thread.join()
        # Only the requests answered while every slow stream was running count as loaded.
        all_running = (max(t for t, _ in stream_times), min(t for _, t in stream_times))
        loaded = [s for at, s in samples if all_running[0] <= at <= all_running[1]]

        after, fail_after = unloaded_phase("unloaded again")
        workers_alive = len(server.worker_pids())
        peak_rss = max(peak_rss_mb(pid) for pid in server.worker_pids())

    unloaded = before + after
    complete = sum(1 for s in streams if s == expected)
    return {
        "ok": complete == args.slow and not (fail_before or fail_loaded or fail_after) and bool(loaded),
        "sites": nlon * nlat,
        "size": expected[1],
        "fast_seconds": fast_seconds,
        "complete": complete,
        "streams": streams,
        "expected": expected,
        "stream_seconds": [b - a for a, b in stream_times],
        "loaded_window": all_running[1] - all_running[0],
        "unloaded": unloaded,
        "loaded": loaded,
        "failures": fail_before + fail_loaded + fail_after,
        "workers_alive": workers_alive,
        "peak_rss": peak_rss,
    }


def print_report(r: dict, args, elapsed: float) -> None:
    print()
    print(f"date {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs; bench time {elapsed:.0f} s; "
          f"gunicorn.conf.py defaults (ICEBOX_WEB_WORKERS={os.environ.get('ICEBOX_WEB_WORKERS', '2')}, ICEBOX_WEB_THREADS={os.environ.get('ICEBOX_WEB_THREADS', '16')})")
    print(f"map: {r['sites']:,} sites, {r['size'] / 1e6:.0f} MB of GeoJSON; unthrottled read {r['fast_seconds']:.1f} s")
    seconds = r["stream_seconds"]
    print(f"slow streams: {r['complete']} of {args.slow} complete and identical to the unthrottled read "
          f"({min(seconds):.0f}-{max(seconds):.0f} s each at {args.rate} MB/s)")
    for s in r["streams"]:
        if s != r["expected"]:
            print(f"  NOT identical: {s}")
    print(f"other requests failed or timed out: {len(r['failures'])}" + (f" e.g. {r['failures'][:3]}" if r["failures"] else ""))
    if not r["loaded"]:
        print("no request was answered while all slow streams ran")
        return
    u, lo = r["unloaded"], r["loaded"]
    print()
    print("| others (tiles z8-z12, TileJSON, lists) | requests | p50 | p95 |")
    print("|---|---|---|---|")
    print(f"| unloaded (before and after) | {len(u)} | {statistics.median(u) * 1000:.1f} ms | {percentile(u, 0.95) * 1000:.1f} ms |")
    print(f"| while {args.slow} slow streams ran ({r['loaded_window']:.0f} s) | {len(lo)} | {statistics.median(lo) * 1000:.1f} ms | {percentile(lo, 0.95) * 1000:.1f} ms |")
    print(f"| loaded / unloaded | | {statistics.median(lo) / statistics.median(u):.2f}× | {percentile(lo, 0.95) / percentile(u, 0.95):.2f}× |")
    print(f"gunicorn workers alive at the end: {r['workers_alive']}; highest peak RSS of a worker: {r['peak_rss']:.0f} MB")


if __name__ == "__main__":
    sys.exit(main())
