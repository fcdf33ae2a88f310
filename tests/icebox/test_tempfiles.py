"""icebox.tempfiles with real processes: what a killed process leaves is swept, nothing in use is."""

import os
import signal
import socket
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from rest_framework.authtoken.models import Token

from icebox import tempfiles
from icebox.env import env_path
from tests.engine.worker import REPO, database_url
from tests.processes import children, free_port, holders, wait_for
from tests.synthetic import hazard_map_csv

# A process holding one temporary file and one import directory (with a download in it) until
# its stdin closes, as an upload or an import in progress does.
HOLDER = """
import sys
from django.conf import settings
settings.configure(ICEBOX_TMP_DIR=sys.argv[1])
from icebox import tempfiles
upload = tempfiles.named_temporary_file(prefix="upload-", suffix=".upload.csv")
upload.write(b"x" * 4096)
upload.flush()
with tempfiles.locked_directory(prefix="import-") as tmp:
    (tmp / "icebox-engine-1.download").write_bytes(b"y" * 4096)
    print(upload.name, tmp, flush=True)
    sys.stdin.read()
upload.close()
"""


def _holder(tmp_dir):
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_dir)], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    upload, directory = process.stdout.readline().split()
    return process, upload, directory


def test_the_sweep_removes_what_dead_processes_left_and_nothing_in_use(tmp_path, settings):
    tmp = tmp_path / "tmp"
    settings.ICEBOX_TMP_DIR = tmp
    dead, dead_upload, dead_dir = _holder(tmp)
    live, live_upload, live_dir = _holder(tmp)
    try:
        (tmp / "icebox-upload-left-before.upload.csv").write_bytes(b"z")  # held by nobody
        (tmp / "someone-elses-file").write_bytes(b"z")  # not Icebox's: never touched
        dead.kill()
        dead.wait(10)

        assert tempfiles.sweep() == 3
        assert sorted(os.listdir(tmp)) == sorted([os.path.basename(live_upload), os.path.basename(live_dir), "someone-elses-file"])
        assert os.listdir(live_dir) == ["icebox-engine-1.download"]
        assert not os.path.exists(dead_upload) and not os.path.exists(dead_dir)
        assert tempfiles.sweep() == 0
    finally:
        live.communicate("", timeout=10)
    # The live one, ending normally, removed its own.
    assert live.returncode == 0
    assert os.listdir(tmp) == ["someone-elses-file"]


def test_the_temporary_directory_must_be_an_absolute_path(monkeypatch):
    monkeypatch.setenv("ICEBOX_TMP_DIR", "var/tmp")
    with pytest.raises(ImproperlyConfigured, match="ICEBOX_TMP_DIR='var/tmp' is not an absolute path"):
        env_path("ICEBOX_TMP_DIR", REPO / "var" / "tmp")
    monkeypatch.setenv("ICEBOX_TMP_DIR", "/srv/icebox/tmp")
    assert str(env_path("ICEBOX_TMP_DIR", REPO / "var" / "tmp")) == "/srv/icebox/tmp"


def test_an_odd_file_name_extension_is_left_out_of_the_temporary_name(tmp_path, settings):
    settings.ICEBOX_TMP_DIR = tmp_path
    for name, suffix in [("map.csv", ".upload.csv"), ("map." + "x" * 300, ".upload"), ("map.c\x00sv", ".upload")]:
        upload = tempfiles._LockedTemporaryUploadedFile(name, "text/csv", 0, None)
        try:
            assert os.path.basename(upload.temporary_file_path()).endswith(suffix)
        finally:
            upload.close()
    assert os.listdir(tmp_path) == []


def _multipart(token: str, port: int, data: bytes) -> bytes:
    boundary = "icebox-test-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="hazard_map-mean_2.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    head = (
        f"POST /artifacts HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Token {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    return head + body


@pytest.mark.django_db(transaction=True)
def test_a_web_worker_killed_mid_upload_leaves_no_file_once_its_replacement_starts(tmp_path):
    tmp = tmp_path / "tmp"
    token = Token.objects.create(user=get_user_model().objects.create_user("owner")).key
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "SECRET_KEY": "test-only-secret-key-not-for-production-use",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "0",
        "ICEBOX_TMP_DIR": str(tmp),
    }
    log = open(tmp_path / "gunicorn.log", "wb")
    # --timeout: on a loaded machine, gunicorn must not kill the stalled uploads' workers itself.
    # gunicorn reads ./gunicorn.conf.py (threaded workers) by itself: sync workers, one connection
    # each, put the two stalled uploads in two workers for sure.
    server = subprocess.Popen(
        [str(REPO / ".venv/bin/gunicorn"), "icebox.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "300",
         "--worker-class", "sync", "--threads", "1"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    # Over FILE_UPLOAD_MAX_MEMORY_SIZE, so Django streams it to a temporary file.
    request = _multipart(token, port, hazard_map_csv(400, 400))
    assert len(request) > 10 * 1024 * 1024
    clients = []
    try:

        def serving():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return len(children(server.pid)) == 2
            except OSError:
                return False

        wait_for(serving, timeout=60, what="gunicorn and its two workers")
        # Two uploads stalled half-way, one on each sync worker.
        for _ in range(2):
            client = socket.create_connection(("127.0.0.1", port), timeout=30)
            client.sendall(request[: 1 << 20])
            clients.append(client)
        uploads = wait_for(lambda: len(files := sorted(tmp.glob("icebox-upload-*.upload.csv"))) == 2 and files, timeout=30, what="two upload files")
        workers = children(server.pid)
        holder = {path: holders(path, workers) for path in uploads}
        assert all(len(pids) == 1 for pids in holder.values()) and len(set.union(*holder.values())) == 2, holder
        killed_upload, live_upload = uploads
        [victim] = holder[killed_upload]

        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: not killed_upload.exists(), timeout=60, what="the killed worker's upload to be swept")
        assert live_upload.exists()

        # The other upload, in progress all along, completes; the killed one's connection is gone.
        answers = []
        for client in clients:
            answer = b""
            try:
                client.sendall(request[1 << 20 :])
                while chunk := client.recv(65536):
                    answer += chunk
            except OSError:
                pass
            answers.append(answer[:12])
        assert sorted(answers) == [b"", b"HTTP/1.1 201"], answers
        assert list(tmp.iterdir()) == []
    finally:
        for client in clients:
            client.close()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        log.close()


def test_a_new_temporary_directory_is_created_before_django_checks_it(tmp_path):
    # Django's checks refuse a FILE_UPLOAD_TEMP_DIR that does not exist: a fresh clone, or a new
    # ICEBOX_TMP_DIR, must still start with a plain manage.py, without make.
    tmp_dir = tmp_path / "not" / "there" / "yet"
    env = {**os.environ, "ICEBOX_TMP_DIR": str(tmp_dir), "DATABASE_URL": database_url()}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert tmp_dir.is_dir()
