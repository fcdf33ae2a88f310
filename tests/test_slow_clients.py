"""Slow clients and long streams, against a real gunicorn started with gunicorn.conf.py.

The worker timeout is deliberately short (3 s) and the slow clients take several times that to
read a whole map: a server model in which a stream depends on that timeout cuts them.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading

import pytest
import requests
from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework.authtoken.models import Token

from artifacts.services import artifact_upload
from geo.loading import drop_orphan_partitions, orphan_partitions, partition_name
from tests.processes import wait_for
from tests.synthetic import hazard_map_csv
from tests.web_server import Gunicorn, raw_session, sha256_of_stream

pytestmark = pytest.mark.django_db(transaction=True)

# 100,000 sites, ~19 MB of GeoJSON: far more than the socket buffers between server and client
# can hold, so a client that stops reading stops the server's stream in the middle.
NLON, NLAT = 400, 250
WORKER_TIMEOUT = "3"
# All clients here are one user, far past a person's rate: this is about the server, not throttles.
UNTHROTTLED = {"ICEBOX_THROTTLE_USER": "100000000/minute"}
DEADLINE = 45  # seconds: a generous bound for anything to happen, never a measurement


@pytest.fixture
def big_map():
    user = get_user_model().objects.create_user("owner")
    data = hazard_map_csv(NLON, NLAT, lon0=5.0, lat0=40.0, step=0.04)
    [artifact] = artifact_upload(owner=user, file_name="hazard_map-mean_1.csv", data=data)
    [small] = artifact_upload(owner=user, file_name="hazard_map-mean_2.csv", data=hazard_map_csv(20, 10))
    return artifact, small, Token.objects.create(user=user).key


def _stream(session: requests.Session, url: str) -> requests.Response:
    response = session.get(url, stream=True, timeout=DEADLINE)
    assert response.status_code == 200, response.text[:500]
    return response


def _started(response: requests.Response):
    """The body's first block, and the iterator over the rest (dropping it would close the connection)."""
    blocks = response.iter_content(64 * 1024)
    return next(blocks), blocks


def _assert_broken(blocks, received: bytes):
    """The rest of the body cannot be read as complete, and what came does not parse."""
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        for block in blocks:
            received += block
    assert received.startswith(b'{"type":"FeatureCollection","features":[')
    assert b"Internal Server Error" not in received
    with pytest.raises(json.JSONDecodeError):
        json.loads(received)


def _stream_backend_pid() -> int | None:
    """The PostgreSQL backend serving the one GeoJSON stream in progress (a server-side cursor)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND xact_start IS NOT NULL AND query LIKE %s",
            ["%icebox_stream_%"],
        )
        rows = cursor.fetchall()
    return rows[0][0] if len(rows) == 1 else None


def test_slow_readers_of_whole_maps_get_every_byte_while_tiles_and_lists_are_answered(big_map, tmp_path):
    artifact, small, token = big_map
    with Gunicorn(tmp_path, ICEBOX_WEB_WORKERS="2", ICEBOX_WEB_THREADS="8", ICEBOX_WEB_TIMEOUT=WORKER_TIMEOUT, **UNTHROTTLED) as server:
        workers = sorted(server.worker_pids())
        url = f"{server.url}/artifact/{artifact.pk}"
        expected, size = sha256_of_stream(_stream(raw_session(token), url))
        assert size > 15_000_000
        # Each slow reader takes about 4x the worker timeout to read the whole map.
        rate = size / (4 * int(WORKER_TIMEOUT))

        slow_results: list = []
        slow_done = threading.Event()
        other_results: list = []

        def slow_reader():
            try:
                slow_results.append(sha256_of_stream(_stream(raw_session(token), url), bytes_per_second=rate))
            except Exception as exc:  # reported below: a thread's exception would otherwise vanish
                slow_results.append(exc)

        def other_client(n: int):
            session = raw_session(token)
            paths = ["/artifacts", f"/artifact/{artifact.pk}/tiles/6/{33 + n}/23.mvt", f"/artifact/{small.pk}", f"/artifact/{artifact.pk}/tiles.json"]
            k = 0
            while not slow_done.is_set():
                path = paths[k % len(paths)]
                k += 1
                try:
                    response = session.get(server.url + path, timeout=DEADLINE)
                    other_results.append((path, response.status_code, slow_done.is_set()))
                except requests.RequestException as exc:
                    other_results.append((path, exc, slow_done.is_set()))

        slow = [threading.Thread(target=slow_reader) for _ in range(3)]
        others = [threading.Thread(target=other_client, args=(n,)) for n in range(2)]
        for thread in slow + others:
            thread.start()
        for thread in slow:
            thread.join()
        slow_done.set()
        for thread in others:
            thread.join()

        assert slow_results == [(expected, size)] * 3
        failures = [r for r in other_results if r[1] not in (200, 204)]
        assert failures == []
        # Answered while the slow streams were still running: with the streams holding every
        # worker, none would be (sync workers, issue 11).
        assert sum(1 for r in other_results if not r[2]) >= 20, other_results[:5]
        # No worker was killed by the timeout, or restarted.
        assert sorted(server.worker_pids()) == workers, server.log()


def test_a_stream_whose_database_connection_dies_ends_as_a_broken_transfer(big_map, tmp_path):
    artifact, _, token = big_map
    # One thread: the next request is served by the thread whose connection died.
    with Gunicorn(tmp_path, ICEBOX_WEB_WORKERS="1", ICEBOX_WEB_THREADS="1", **UNTHROTTLED) as server:
        session = raw_session(token)
        response = _stream(session, f"{server.url}/artifact/{artifact.pk}")
        received, blocks = _started(response)
        pid = wait_for(_stream_backend_pid, timeout=DEADLINE, what="the stream's database backend")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert cursor.fetchone()[0] is True
        _assert_broken(blocks, received)
        # The thread whose connection died answers the next request on a new one.
        assert raw_session(token).get(f"{server.url}/artifacts", timeout=DEADLINE).status_code == 200


def test_a_stream_whose_worker_is_killed_ends_as_a_broken_transfer(big_map, tmp_path):
    artifact, _, token = big_map
    with Gunicorn(tmp_path, ICEBOX_WEB_WORKERS="1", **UNTHROTTLED) as server:
        response = _stream(raw_session(token), f"{server.url}/artifact/{artifact.pk}")
        received, blocks = _started(response)
        [worker] = server.worker_pids()
        os.kill(worker, signal.SIGKILL)
        _assert_broken(blocks, received)
        # gunicorn replaces the worker.
        wait_for(lambda: server.worker_pids() not in ([], [worker]), timeout=DEADLINE, what="a new worker")
        assert raw_session(token).get(f"{server.url}/artifacts", timeout=DEADLINE).status_code == 200


def test_a_delete_during_a_slow_stream_answers_at_once_and_the_stream_still_completes_whole(big_map, tmp_path):
    artifact, small, token = big_map
    with Gunicorn(tmp_path, ICEBOX_WEB_WORKERS="2", ICEBOX_WEB_THREADS="4", **UNTHROTTLED) as server:
        url = f"{server.url}/artifact/{artifact.pk}"
        expected, _ = sha256_of_stream(_stream(raw_session(token), url))

        # A stream that has started and whose client has stopped reading: its transaction is open.
        response = _stream(raw_session(token), url)
        first, blocks = _started(response)
        wait_for(_stream_backend_pid, timeout=DEADLINE, what="the stream's database backend")

        client = raw_session(token)
        deleted = client.delete(url, timeout=DEADLINE)
        assert deleted.status_code == 204, deleted.text
        # Gone for everyone at once.
        assert client.get(url, timeout=DEADLINE).status_code == 404
        assert client.get(url + "/raw", timeout=DEADLINE).status_code == 404
        assert client.get(url + "/tiles/6/33/23.mvt", timeout=DEADLINE).status_code == 404
        # Reads started after the delete do not queue behind it (the stream is still open).
        assert client.get(f"{server.url}/artifact/{small.pk}", timeout=DEADLINE).status_code == 200
        assert client.get(f"{server.url}/artifacts", timeout=DEADLINE).json()["count"] == 1
        # The partition stays while the stream reads it, and nothing can drop it meanwhile...
        assert orphan_partitions() == [artifact.pk]
        assert drop_orphan_partitions() == 0
        assert client.get(f"{server.url}/artifact/{small.pk}/tiles/6/33/23.mvt", timeout=DEADLINE).status_code in (200, 204)

        # ...the stream goes on to its end, whole...
        digest = hashlib.sha256(first)
        for block in blocks:
            digest.update(block)
        assert digest.hexdigest() == expected

        # ...and once it has ended the sweep drops the partition.
        wait_for(lambda: drop_orphan_partitions() == 1 or not orphan_partitions(), timeout=DEADLINE, what="the orphan partition to be dropped")
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)", [partition_name(artifact.pk)])
            assert cursor.fetchone()[0] is None
        assert orphan_partitions() == []
