"""The limit of /api/token holds across gunicorn's worker processes: they count in one place."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.contrib.auth import get_user_model

from tests.engine.worker import database_url

REPO = Path(__file__).resolve().parents[2]
WORKERS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url(), "SECRET_KEY": "test-only-secret-key-not-for-production-use", "ALLOWED_HOSTS": "127.0.0.1"}
    with open(tmp_path / "gunicorn.log", "wb") as log:
        server = subprocess.Popen(
            [str(REPO / ".venv/bin/gunicorn"), "icebox.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/", timeout=10).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
            time.sleep(0.1)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_the_token_limit_is_one_limit_for_all_workers(gunicorn):
    get_user_model().objects.create_user("alice", password="alice-password-1")
    limit = int(settings.ICEBOX_THROTTLE_RATES["token_address"].split("/")[0])
    statuses = []
    for _ in range(limit + 1):
        # A new connection each time: the workers take turns accepting them.
        response = requests.post(f"{gunicorn}/api/token", data={"username": "alice", "password": "wrong"}, headers={"Connection": "close"}, timeout=30)
        statuses.append(response.status_code)
    assert statuses == [400] * limit + [429]
    response = requests.post(f"{gunicorn}/api/token", data={"username": "alice", "password": "alice-password-1"}, timeout=30)
    assert response.status_code == 429 and response.json()["code"] == "throttled"
