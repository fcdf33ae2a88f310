"""CPU per request of the small map reads, in-process: Django's WSGI handler called directly, no
socket and no gunicorn, against a real database holding a 100k-site map (issue 10).

For each read (a z12 and a z8 tile, TileJSON, /site, a z12 tile revalidated to a 304) it prints
the CPU the Python process spent per request and the CPU the database session serving it spent
(from /proc, the same machine), medians of rounds. Both are CPU time, not wall time: on a
2-CPU machine shared with test runs they move far less than bench/maps.py's wall times, which is
what this is for (a change's effect on the fixed per-request cost). Other processes on the CPUs
still inflate both somewhat: compare runs interleaved, not one against last week's.

    .venv/bin/python bench/request_cpu.py [--requests 300] [--rounds 5] [--keep] [--only z12,tilejson]

Its own database (ICEBOX_BENCH_DB, default icebox_bench_cpu), dropped at the end unless --keep;
--reuse measures on a database kept by an earlier --keep run (no import).
"""

from __future__ import annotations

import argparse
import io
import math
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.database import database_url, fresh_database  # noqa: E402
from tests.synthetic import hazard_map_csv  # noqa: E402

BENCH_DB = os.environ.get("ICEBOX_BENCH_DB", "icebox_bench_cpu")
READS = ("z12", "z8", "tilejson", "site", "z12-304")


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180.0) / 360.0 * n), int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)


def setup() -> None:
    """The bench's user, token and 100k map (bench/maps.py's grid), imported through Icebox's upload."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from artifacts.services import artifact_upload
    from geo.overview import build_artifact_overview

    user = get_user_model().objects.create_user("bench")
    Token.objects.create(user=user)
    data = hazard_map_csv(400, 250, lon0=5.0, lat0=40.0, step=0.05, imts=("PGA", "SA(0.2)", "SA(1.0)"), poes=("0.002105", "0.000404"))
    [artifact] = artifact_upload(owner=user, file_name="hazard_map-mean_100000.csv", data=data)
    # What the worker does once the upload has committed: tiles are measured as they are served then.
    build_artifact_overview(artifact.pk)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def client():
    """call(path, headers) -> (status, headers, body) through the same WSGI application gunicorn serves."""
    from django.core.handlers.wsgi import WSGIHandler
    from rest_framework.authtoken.models import Token

    handler = WSGIHandler()
    token = Token.objects.get(user__username="bench").key

    def call(path: str, headers: dict | None = None):
        path, _, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1:8000", "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr, "HTTP_AUTHORIZATION": f"Token {token}",
            # What a browser sends with a tile request.
            "HTTP_ACCEPT": "*/*", "HTTP_ACCEPT_ENCODING": "gzip, deflate, br", "HTTP_CONNECTION": "keep-alive", "HTTP_USER_AGENT": "Mozilla/5.0 (bench)",
            **(headers or {}),
        }
        started = []
        body = handler(environ, lambda status, response_headers, exc_info=None: started.append((status, dict(response_headers))))
        content = b"".join(body)
        body.close()
        return started[0][0], started[0][1], content

    return call


def session_cpu() -> float:
    """CPU seconds the database session of this thread's connection has used (its server process, from /proc)."""
    from django.db import connection

    if getattr(session_cpu, "driver", None) is not connection.connection:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            session_cpu.pid = cursor.fetchone()[0]
        session_cpu.driver = connection.connection
    fields = Path(f"/proc/{session_cpu.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(args) -> None:
    from icebox.models import Artifact

    call = client()
    artifact = Artifact.objects.get(owner__username="bench")
    x12, y12 = tile_of(10.01, 45.01, 12)
    x8, y8 = tile_of(10.01, 45.01, 8)
    z12 = f"/artifact/{artifact.pk}/tiles/12/{x12}/{y12}.mvt"
    etag = call(z12)[1]["ETag"]
    reads = {
        "z12": (z12, None),
        "z8": (f"/artifact/{artifact.pk}/tiles/8/{x8}/{y8}.mvt", None),
        "tilejson": (f"/artifact/{artifact.pk}/tiles.json", None),
        "site": (f"/artifact/{artifact.pk}/site?lon=10.01234&lat=45.01234", None),
        "z12-304": (z12, {"HTTP_IF_NONE_MATCH": etag}),
    }
    print(f"{args.requests} requests a round, median of {args.rounds} rounds; CPU ms per request")
    print("| read | status | bytes | Python | database session | sum | wall |")
    print("|---|---|---|---|---|---|---|")
    for name in args.only:
        path, headers = reads[name]
        status, _, body = call(path, headers)
        for _ in range(30):  # warm: the connection's prepared statements, Python's caches
            call(path, headers)
        python, database, wall = [], [], []
        for _ in range(args.rounds):
            session_cpu()
            cpu, db, started = time.process_time(), session_cpu(), time.perf_counter()
            for _ in range(args.requests):
                call(path, headers)
            python.append((time.process_time() - cpu) / args.requests * 1000)
            database.append((session_cpu() - db) / args.requests * 1000)
            wall.append((time.perf_counter() - started) / args.requests * 1000)
        p, d, w = statistics.median(python), statistics.median(database), statistics.median(wall)
        print(f"| {name} | {status} | {len(body):,} | {p:.2f} | {d:.2f} | {p + d:.2f} | {w:.2f} |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per read (median reported)")
    parser.add_argument("--only", default=",".join(READS), help=f"comma-separated reads, of {','.join(READS)}")
    parser.add_argument("--keep", action="store_true", help=f"keep the database {BENCH_DB} afterwards")
    parser.add_argument("--reuse", action="store_true", help=f"measure on {BENCH_DB} as an earlier --keep left it")
    args = parser.parse_args()
    args.only = args.only.split(",")
    if not set(args.only) <= set(READS):
        parser.error(f"--only takes {','.join(READS)}")
    # Counted like any client, never refused (bench.database sets the same for a fresh database).
    os.environ["ICEBOX_THROTTLE_USER"] = "100000000/minute"
    if args.reuse:
        os.environ.update({"DATABASE_URL": database_url(BENCH_DB), "DJANGO_SETTINGS_MODULE": "icebox.settings", "DEBUG": "0", "LOG_LEVEL": "WARNING",
                           "ALLOWED_HOSTS": "127.0.0.1,localhost"})
        os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-use")
        import django

        django.setup()
        measure(args)
        return 0
    with fresh_database(BENCH_DB, keep=args.keep):
        print("importing the 100k map ...", flush=True)
        setup()
        measure(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
