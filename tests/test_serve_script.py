"""scripts/serve.sh, what `make run` serves with: gunicorn and the import worker live and die together."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.engine.worker import database_url

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> set[int]:
    """Every live descendant of `pid`, from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name may hold spaces and parentheses: fields start after the last ')'.
            fields = stat[stat.rindex(")") + 2 :].split()
            if fields[0] != "Z":
                parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if stat[stat.rindex(")") + 2] != "Z":
            alive.add(pid)
    return alive


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_service_stops_gunicorn_and_the_worker(tmp_path, sig):
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "SECRET_KEY": "test-only-secret-key-not-for-production-use",
        "ALLOWED_HOSTS": "127.0.0.1",
        "ICEBOX_BIND": f"127.0.0.1:{port}",
        "ICEBOX_WEB_WORKERS": "1",
    }
    log = open(tmp_path / "serve.log", "wb")
    # Its own session, as a terminal or a service manager would start it; the signal goes to the
    # script alone (as `kill PID` or a timeout does), not to a whole process group.
    service = subprocess.Popen(["scripts/serve.sh"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/ogc/conformance", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.3)
        children = _children(service.pid)
        commands = {Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ") for pid in children}
        assert any(b"icebox_worker" in c for c in commands), commands
        assert any(b"gunicorn" in c for c in commands), commands

        service.send_signal(sig)
        service.wait(timeout=30)
        deadline = time.monotonic() + 30
        while _alive(children) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _alive(children) == set(), (tmp_path / "serve.log").read_text()
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/ogc/conformance", timeout=2)
    finally:
        if service.poll() is None:
            os.killpg(service.pid, signal.SIGKILL)
        for pid in _alive(_children(service.pid)):
            os.kill(pid, signal.SIGKILL)
        log.close()
