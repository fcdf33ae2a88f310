"""A real gunicorn, started with the repository's gunicorn.conf.py, serving the test database."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

import requests

from tests.engine.worker import database_url
from tests.processes import free_port

REPO = Path(__file__).resolve().parent.parent


class Gunicorn:
    """`with Gunicorn(log_dir, ICEBOX_WEB_THREADS="4") as server:` gunicorn in its own process group."""

    def __init__(self, log_dir: Path, **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "SECRET_KEY": "test-only-secret-key-not-for-production-use",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DEBUG": "0",
            "ICEBOX_BIND": f"127.0.0.1:{self.port}",
            **env,
        }
        self.log_path = Path(log_dir) / f"gunicorn-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        with open(self.log_path, "wb") as out:
            self.process = subprocess.Popen(
                [str(REPO / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py", "icebox.wsgi:application"],
                cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(self.url + "/ogc/conformance", timeout=2).status_code == 200:
                    return self
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or a loaded machine's slow first answer
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError(f"gunicorn did not start:\n{self.log()}")
            time.sleep(0.1)

    def __exit__(self, *exc):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]


def raw_session(token: str) -> requests.Session:
    """A keep-alive client that asks for the uncompressed body, as `curl` does."""
    session = requests.Session()
    session.headers.update({"Authorization": f"Token {token}", "Accept-Encoding": "identity"})
    return session


def sha256_of_stream(response: requests.Response, *, bytes_per_second: float | None = None, chunk: int = 64 * 1024) -> tuple[str, int]:
    """Read the whole body (at most `bytes_per_second`, as a slow client would); its sha256 and length."""
    digest = hashlib.sha256()
    length = 0
    started = time.monotonic()
    for block in response.iter_content(chunk):
        digest.update(block)
        length += len(block)
        if bytes_per_second:
            # A slow reader: sleeping is the throttle itself, not a way to order events.
            ahead = length / bytes_per_second - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    return digest.hexdigest(), length
