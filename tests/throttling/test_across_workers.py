"""The limit of /api/token holds across processes: every web process counts in one place.

Two gunicorn servers of one worker each, on two ports, stand for the workers of one site (or
two hosts sharing its database): which worker of one server accepts a connection is the kernel's
choice, so alternating between two servers is the only way to be sure two processes counted."""

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(tmp_path, name):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url(), "SECRET_KEY": "test-only-secret-key-not-for-production-use", "ALLOWED_HOSTS": "127.0.0.1"}
    with open(tmp_path / f"{name}.log", "wb") as log:
        server = subprocess.Popen(
            [str(REPO / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py", "icebox.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    return server, f"http://127.0.0.1:{port}"


def _wait_until_up(server, url, log):
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{url}/", timeout=10).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        assert server.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


@pytest.fixture
def gunicorns(tmp_path):
    servers = [_start(tmp_path, name) for name in ("a", "b")]
    try:
        for (server, url), name in zip(servers, ("a", "b")):
            _wait_until_up(server, url, tmp_path / f"{name}.log")
        yield [url for _server, url in servers]
    finally:
        for server, _url in servers:
            os.killpg(server.pid, signal.SIGTERM)
        for server, _url in servers:
            server.wait(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_the_token_limit_is_one_limit_for_all_web_processes(gunicorns):
    get_user_model().objects.create_user("alice", password="alice-password-1")
    limit = int(settings.ICEBOX_THROTTLE_RATES["token_address"].split("/")[0])
    statuses = []
    for attempt in range(limit + 1):
        response = requests.post(f"{gunicorns[attempt % 2]}/api/token", data={"username": "alice", "password": "wrong"}, headers={"Connection": "close"}, timeout=30)
        statuses.append(response.status_code)
    assert statuses == [400] * limit + [429]
    response = requests.post(f"{gunicorns[1]}/api/token", data={"username": "alice", "password": "alice-password-1"}, timeout=30)
    assert response.status_code == 429 and response.json()["code"] == "throttled"
