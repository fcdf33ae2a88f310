"""Benchmark of big files (`make bench-bytes`): a 2 GB engine file imported by a real worker and
downloaded raw from gunicorn, and a 2 GB HTTP upload, each against a plain copy of the same bytes
measured in the same run, with the peak resident set (VmHWM) of the web and worker processes.

The floors: `cp` of the file with an fsync of the copy (what storing it costs at least: the store
writes and fsyncs once), and a plain socket copy over 127.0.0.1 (sendfile into a reader that
writes it to a file: what moving it between two processes costs at least). An import is a
download from the engine into a temporary file and a copy into the store: its floor is one
socket copy plus one cp. A raw download's floor is one socket copy (into /dev/null on both sides).
An upload is the request body into Django's temporary file, then the store: socket copy plus cp.
Targets (issue 8): peak RSS flat, under 200 MB, whatever the size. Ratios are printed; a missed
target is reported, not loosened. Its own database (icebox_bench_bytes) and blob directory.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.database import fresh_database  # noqa: E402
from tests.blobs.big import big_file, peak_rss_bytes, post_file  # noqa: E402

RSS_TARGET_MB = 200


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cp_floor(source: Path, work: Path) -> float:
    target = work / "cp.copy"

    def copy():
        subprocess.run(["cp", str(source), str(target)], check=True)
        fd = os.open(target, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    seconds = timed(copy)
    target.unlink()
    return seconds


def socket_floor(source: Path, sink: str) -> float:
    """sendfile() of the file over 127.0.0.1 to a reader writing it to `sink` (a path or /dev/null)."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def receive():
        connection, _ = server.accept()
        with connection, open(sink, "wb") as out:
            while block := connection.recv(1 << 20):
                out.write(block)

    reader = threading.Thread(target=receive)
    reader.start()

    def send():
        with socket.create_connection(("127.0.0.1", port)) as sender, open(source, "rb") as handle:
            sender.sendfile(handle)
        reader.join()

    seconds = timed(send)
    server.close()
    if sink != os.devnull:
        os.unlink(sink)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bytes", type=int, default=2 * 10**9, help="size of the file (default 2 GB)")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    size = args.bytes

    work = Path(tempfile.mkdtemp(prefix="icebox-bench-bytes-"))
    os.environ["ICEBOX_BLOB_DIR"] = str(work / "blobs")
    os.environ.pop("ICEBOX_BLOB_STORE", None)
    try:
        with fresh_database("icebox_bench_bytes", keep=args.keep_db) as (_url, env):
            run(size, work, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(size: int, work: Path, env: dict) -> None:
    import requests
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from bench.maps import Server, _SERVERS
    from tests.engine.fake_engine import FakeEngine, Reply
    from tests.engine.worker import Worker, wait_for

    source = work / "engine-file.bin"
    sha256 = big_file(source, size)
    user = get_user_model().objects.create_user("bench-bytes")
    token = Token.objects.create(user=user).key
    session = requests.Session()
    session.headers.update({"Authorization": f"Token {token}", "Accept-Encoding": "identity"})

    def measure_floors() -> dict:
        return {
            "cp": cp_floor(source, work),
            "socket to file": socket_floor(source, str(work / "socket.copy")),
            "socket to /dev/null": socket_floor(source, os.devnull),
        }

    # Measured before and after Icebox's runs; the faster of the two is the floor (the disk's and
    # the machine's state change under a shared load).
    floors = measure_floors()

    def chunks():
        with open(source, "rb") as handle:
            while block := handle.read(1 << 20):
                yield block

    rows = []
    with FakeEngine() as engine:
        # Output 8 of the fake engine's calc (the full report, kept raw) is the big file.
        engine.routes["/v1/calc/result/8"] = lambda handler: Reply(
            200, headers={"Content-Type": "text/plain", "Content-Disposition": "attachment; filename=report_2.rst"}, chunks=chunks())
        env = {**env, "ICEBOX_ENGINE_SERVERS": engine.url, "ICEBOX_WEB_TIMEOUT": "600"}
        os.environ.update(env)
        server = Server(env, workers=1)
        try:
            with Worker(engine.url, work, env=env) as worker:
                from engine.models import ImportJob

                started = time.perf_counter()
                job = session.post(server.url + "/artifacts/import", json={"engine_url": engine.url, "calc_id": 2}, timeout=60).json()
                wait_for(lambda: ImportJob.objects.get(pk=job["id"]).status in ("done", "failed"), timeout=1800, what="the import", worker=worker)
                imported = time.perf_counter() - started
                done = ImportJob.objects.get(pk=job["id"])
                if done.status != "done":
                    raise SystemExit(f"the import failed: {done.error}")
                big = done.artifacts.get(size=size)
                assert big.sha256 == sha256
                worker_rss = peak_rss_bytes(worker.process.pid) / 2**20
            rows.append(("import (engine -> store)", imported, lambda f: f["socket to file"] + f["cp"], "socket copy + cp"))

            def download():
                with session.get(f"{server.url}/artifact/{big.pk}/raw", stream=True, timeout=600) as response:
                    assert response.status_code == 200
                    got = 0
                    for block in response.iter_content(1 << 20):
                        got += len(block)
                    assert got == size

            rows.append(("raw download", timed(download), lambda f: f["socket to /dev/null"], "socket copy"))

            def upload():
                response = post_file(session, server.url + "/artifacts", source, fields={"raw": "true"}, file_name="upload.bin")
                assert response.status_code == 201, response.text[:500]

            # The same bytes as the import's: stored once, so the upload's store step finds them.
            # Uploading other bytes measures the write too: the file's first byte changed.
            with open(source, "r+b") as handle:
                first = handle.read(1)
                handle.seek(0)
                handle.write(bytes([first[0] ^ 0xFF]))
            rows.append(("HTTP upload (raw=true)", timed(upload), lambda f: f["socket to file"] + f["cp"], "socket copy + cp"))
            web_rss = server.peak_rss_mb()
        finally:
            for started_server in _SERVERS:
                started_server.stop()

    again = measure_floors()
    floors = {name: min(seconds, again[name]) for name, seconds in floors.items()}
    rows = [(what, seconds, floor_of(floors), floor_is) for what, seconds, floor_of, floor_is in rows]
    print(f"\n{size / 1e9:.2f} GB file, {os.cpu_count()} CPUs (shared: ratios within this run)")
    print(f"floors: cp+fsync {floors['cp']:.2f} s, socket to file {floors['socket to file']:.2f} s, socket to /dev/null {floors['socket to /dev/null']:.2f} s\n")
    print(f"| what | Icebox | floor | floor is | ratio |\n|---|---|---|---|---|")
    for what, seconds, floor, floor_is in rows:
        print(f"| {what} | {seconds:.2f} s | {floor:.2f} s | {floor_is} | {seconds / floor:.2f}x |")
    print(f"\n| process | peak RSS (VmHWM) | target |\n|---|---|---|")
    for name, mb in (("web (gunicorn, every process)", web_rss), ("import worker", worker_rss)):
        verdict = "met" if mb < RSS_TARGET_MB else "MISSED"
        print(f"| {name} | {mb:.0f} MB | < {RSS_TARGET_MB} MB: {verdict} |")


if __name__ == "__main__":
    main()
