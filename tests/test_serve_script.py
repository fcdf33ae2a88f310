"""scripts/serve.sh, what `make run` serves with: gunicorn and the import worker live and die together."""

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest
import requests

from tests.engine.worker import database_url
from tests.processes import alive, children, command_line, free_port, wait_for

REPO = Path(__file__).resolve().parent.parent


def service_env(port: int) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "SECRET_KEY": "test-only-secret-key-not-for-production-use",
        "ALLOWED_HOSTS": "127.0.0.1",
        "ICEBOX_BIND": f"127.0.0.1:{port}",
        "ICEBOX_WEB_WORKERS": "1",
    }


def serving(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/ogc/conformance", timeout=10).status_code == 200
    except requests.RequestException:
        return False


def parts(pid: int) -> dict[str, int]:
    """The import worker and the gunicorn master: the children of `pid` (serve.sh) itself."""
    found = {}
    for child in children(pid):
        if parent_of(child) == pid:
            command = command_line(child)
            found["worker" if "icebox_worker" in command else "gunicorn" if "gunicorn" in command else command] = child
    return found


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[1])


class Service:
    """`with Service(tmp_path) as service:` scripts/serve.sh in its own session, serving."""

    def __init__(self, tmp_path: Path):
        self.port = free_port()
        self.log_path = tmp_path / "serve.log"

    def __enter__(self):
        self.log = open(self.log_path, "wb")
        # Its own session, as a terminal or a service manager would start it; signals go to the
        # script alone (as `kill PID` or a timeout does), not to a whole process group.
        self.process = subprocess.Popen(
            ["scripts/serve.sh"], cwd=REPO, env=service_env(self.port), stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        wait_for(lambda: serving(self.port) or self.process.poll() is not None, timeout=60, what="the service")
        assert self.process.poll() is None, self.output()
        self.descendants = children(self.process.pid)
        self.parts = wait_for(lambda: len(found := parts(self.process.pid)) == 2 and found, timeout=30, what="gunicorn and the worker")
        return self

    def __exit__(self, *exc_info):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        for pid in alive(self.descendants | children(self.process.pid)):
            os.kill(pid, signal.SIGKILL)
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def assert_all_stopped(self):
        wait_for(lambda: not alive(self.descendants), timeout=30, what=f"every process of the service to end: {self.output()}")
        assert not serving(self.port)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_service_stops_gunicorn_and_the_worker_cleanly(tmp_path, sig):
    with Service(tmp_path) as service:
        service.process.send_signal(sig)
        assert service.process.wait(timeout=180) == 0, service.output()
        service.assert_all_stopped()
        assert service.output().splitlines()[-1] == f"serve.sh: stopped ({sig.name})"


@pytest.mark.django_db(transaction=True)
def test_a_killed_import_worker_stops_the_service_which_says_so(tmp_path):
    with Service(tmp_path) as service:
        worker = service.parts["worker"]
        os.kill(worker, signal.SIGKILL)
        assert service.process.wait(timeout=180) == 1, service.output()
        service.assert_all_stopped()
        gunicorn = service.parts["gunicorn"]
        assert f"serve.sh: the import worker (pid {worker}) was killed by SIGKILL; stopping gunicorn (pid {gunicorn})" in service.output()


@pytest.mark.django_db(transaction=True)
def test_a_killed_gunicorn_stops_the_service_which_says_so(tmp_path):
    with Service(tmp_path) as service:
        gunicorn = service.parts["gunicorn"]
        os.kill(gunicorn, signal.SIGKILL)
        assert service.process.wait(timeout=180) == 1, service.output()
        # Its orphaned web workers too, not only the import worker.
        service.assert_all_stopped()
        worker = service.parts["worker"]
        assert f"serve.sh: gunicorn (pid {gunicorn}) was killed by SIGKILL; stopping the import worker (pid {worker})" in service.output()


def test_a_worker_that_cannot_start_stops_the_service_with_its_exit_status(tmp_path):
    # gunicorn starts without touching the database; the worker's first housekeeping needs it.
    env = {**service_env(free_port()), "DATABASE_URL": "postgis://icebox:icebox@127.0.0.1:5432/icebox_no_such_database"}
    result = subprocess.run(["scripts/serve.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert re.search(r"^serve.sh: the import worker \(pid \d+\) exited with status 1; stopping gunicorn \(pid \d+\)$", result.stderr, re.MULTILINE), result.stderr


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_make_run_stopped_by_ctrl_c_or_sigterm_ends_with_one_stopped_line(tmp_path, how):
    port = free_port()
    log_path = tmp_path / "make-run.log"
    with open(log_path, "wb") as log:
        # The real `make run` (bootstrap, migrate, demo data, collectstatic, serve.sh) on the test database.
        # As typed at a terminal, not as a sub-make of the `make test` running this test.
        env = {k: v for k, v in service_env(port).items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
        make = subprocess.Popen(
            ["make", "run"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_for(lambda: serving(port) or make.poll() is not None, timeout=180, what="make run to serve")
            assert make.poll() is None, log_path.read_text()
            descendants = children(make.pid)
            if how == "ctrl-c":
                os.killpg(make.pid, signal.SIGINT)  # what the terminal does: the whole foreground group
                sig = signal.SIGINT
            else:
                make.send_signal(signal.SIGTERM)  # `kill PID`: make alone, which passes it on to its recipe
                sig = signal.SIGTERM
            make.wait(180)  # a deadline, generous for a loaded machine: stops take seconds
        finally:
            if make.poll() is None:
                os.killpg(make.pid, signal.SIGKILL)
    output = log_path.read_text()
    wait_for(lambda: not alive(descendants), timeout=30, what=f"every process of make run to end: {output}")
    assert not serving(port)
    assert not re.search(r"^make(\[\d+\])?: \*\*\*", output, re.MULTILINE) and "Error" not in output, output
    assert output.splitlines()[-1] == f"serve.sh: stopped ({sig.name})"
    # serve.sh exited 0; make, which got the signal itself, then ends by it as GNU make always
    # does (so that a calling script knows it was interrupted), printing nothing.
    assert make.returncode == -sig
