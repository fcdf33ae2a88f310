"""Real worker processes (`manage.py icebox_worker`) on the pytest-django test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from django.db import connection

REPO = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The URL of the database this test run uses (the pytest-django test database), for subprocesses."""
    db = connection.settings_dict
    auth = quote(db["USER"], safe="") + (":" + quote(db["PASSWORD"], safe="") if db["PASSWORD"] else "")
    return f"postgis://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{quote(db['NAME'])}"


class Worker:
    """`with Worker(servers, log_dir) as worker:` one icebox_worker process in its own process group."""

    def __init__(self, engine_servers: str, log_dir: Path, *, env: dict[str, str] | None = None):
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "SECRET_KEY": "test-only-secret-key-not-for-production-use",
            "ICEBOX_ENGINE_SERVERS": engine_servers,
            "DEBUG": "0",
            **(env or {}),
        }
        # Recorded by django-tasks-db on every task the worker claims (DBTaskResult.worker_ids).
        self.worker_id = f"test-worker-{time.monotonic_ns()}"
        self.log_path = Path(log_dir) / f"{self.worker_id}.log"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Worker:
        with open(self.log_path, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "icebox_worker", "--interval", "0.1", "--no-startup-delay", "--no-reload", "--worker-id", self.worker_id],
                cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def wait_for(predicate, *, timeout: float, what: str, worker: Worker | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if worker is not None and worker.process.poll() is not None:
            raise AssertionError(f"worker exited ({worker.process.returncode}) while waiting for {what}:\n{worker.log()}")
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}" + (f"\n{worker.log()}" if worker else ""))
