"""A file of gigabytes (written in the test from a pattern, ICEBOX_TEST_BIG_FILE_BYTES, default
2 GiB) through real processes: uploaded over HTTP to gunicorn and imported from an engine by a
worker, downloaded whole and by ranges, sha256 equal, and the memory of the processes that moved
it bounded (their peak resident set, VmHWM): the bytes are streamed, never held."""

from __future__ import annotations

import hashlib
import os

import pytest
import requests
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from tests.blobs.big import big_file, expected_range, peak_rss_bytes, post_file
from tests.web_server import Gunicorn, raw_session, sha256_of_stream

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.big_file]

SIZE = int(os.environ.get("ICEBOX_TEST_BIG_FILE_BYTES", str(2 * 1024**3 + 123)))
# Python, Django and the app take about 100 MB before a byte moves; the file must add nothing like its size.
RSS_LIMIT = 200 * 1024 * 1024


@pytest.fixture
def token(db):
    user = get_user_model().objects.create_user("big", password="big-password-1")
    return Token.objects.create(user=user).key


def check_download(session, url: str, path, sha256: str) -> None:
    whole = session.get(url, stream=True, timeout=600)
    assert whole.status_code == 200 and whole.headers["Content-Length"] == str(SIZE)
    assert sha256_of_stream(whole, chunk=1 << 20) == (sha256, SIZE)
    for start, end in [(0, 100), (SIZE // 2 + 7, SIZE // 2 + 7 + (1 << 20) + 5), (SIZE - 1000, SIZE)]:
        part = session.get(url, headers={"Range": f"bytes={start}-{end - 1}"}, timeout=600)
        assert part.status_code == 206 and part.headers["Content-Range"] == f"bytes {start}-{end - 1}/{SIZE}"
        assert part.content == expected_range(path, start, end)
    resumed = session.get(url, headers={"Range": f"bytes={SIZE - (3 << 20)}-"}, stream=True, timeout=600)
    assert resumed.status_code == 206
    assert sha256_of_stream(resumed, chunk=1 << 20)[0] == hashlib.sha256(expected_range(path, SIZE - (3 << 20), SIZE)).hexdigest()


def test_a_multi_gigabyte_upload_and_its_downloads_are_streamed(request, tmp_path, token):
    path = tmp_path / "big.bin"
    sha256 = big_file(path, SIZE)
    request.addfinalizer(lambda: path.unlink(missing_ok=True))  # pytest keeps tmp_path: not gigabytes of it
    with Gunicorn(tmp_path, ICEBOX_WEB_WORKERS="1", ICEBOX_WEB_TIMEOUT="600") as server:
        session = raw_session(token)
        response = post_file(session, server.url + "/artifacts", path, fields={"raw": "true"}, file_name="calc_2.hdf5")
        assert response.status_code == 201, response.text[:2000]
        [artifact] = response.json()["artifacts"]
        assert (artifact["artifact_type"], artifact["size"], artifact["sha256"]) == ("file", SIZE, sha256)
        check_download(session, f"{server.url}/artifact/{artifact['id']}/raw", path, sha256)
        peaks = {pid: peak_rss_bytes(pid) for pid in [server.process.pid, *server.worker_pids()]}
    assert max(peaks.values()) < RSS_LIMIT, f"peak resident set of gunicorn's processes: {peaks}"


def test_a_multi_gigabyte_engine_output_is_imported_streamed(request, tmp_path, token, fake_engine):
    from engine.models import ImportJob
    from tests.engine.fake_engine import Reply
    from tests.engine.worker import Worker, wait_for

    path = tmp_path / "big.rst"
    sha256 = big_file(path, SIZE)
    request.addfinalizer(lambda: path.unlink(missing_ok=True))

    def chunks():
        with open(path, "rb") as handle:
            while block := handle.read(1 << 20):
                yield block

    # The calc's full report (output 8, kept raw) is the big file here; its other outputs are the real ones.
    fake_engine.routes["/v1/calc/result/8"] = lambda handler: Reply(
        200, headers={"Content-Type": "text/plain", "Content-Disposition": "attachment; filename=report_2.rst"}, chunks=chunks())
    with Gunicorn(tmp_path, ICEBOX_WEB_WORKERS="1", ICEBOX_ENGINE_SERVERS=fake_engine.url) as server, \
            Worker(fake_engine.url, tmp_path) as worker:
        session = raw_session(token)
        job = session.post(server.url + "/artifacts/import", json={"engine_url": fake_engine.url, "calc_id": 2}, timeout=60).json()
        wait_for(lambda: ImportJob.objects.get(pk=job["id"]).status in ("done", "failed"), timeout=600, what="the import", worker=worker)
        done = ImportJob.objects.get(pk=job["id"])
        assert done.status == "done", done.error
        [big] = done.artifacts.filter(size=SIZE)
        assert (big.sha256, big.artifact_type) == (sha256, "file")
        check_download(session, f"{server.url}/artifact/{big.pk}/raw", path, sha256)
        peaks = {"worker": peak_rss_bytes(worker.process.pid)} | {pid: peak_rss_bytes(pid) for pid in server.worker_pids()}
    assert max(peaks.values()) < RSS_LIMIT, f"peak resident set: {peaks}"
