"""icebox.housekeeping: what a killed worker leaves is cleared by a live one, on schedule."""

import threading

import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from engine.models import ImportJob
from engine.runs import WORKER_DIED
from engine.servers import parse_engine_servers
from icebox import housekeeping
from tests.engine.fake_engine import CALC, EXPORTS, FakeEngine, Reply, export_reply
from tests.engine.worker import Worker, wait_for
from tests.processes import holders

INTERVAL = 1


def _stalled(reply: Reply, release: threading.Event):
    """The export's headers at once, its body only once `release` is set: a download in progress."""

    def route(_handler):
        def body():
            release.wait(120)
            yield reply.body

        return Reply(200, headers={**reply.headers, "Content-Length": str(len(reply.body))}, chunks=body())

    return route


def _job(job_id) -> ImportJob:
    return ImportJob.objects.get(pk=job_id)


def _workers_of(job_ids) -> dict[int, str]:
    running = DBTaskResult.objects.filter(status="RUNNING")
    found = {task.args_kwargs["args"][0]: task.worker_ids[-1] for task in running}
    return found if set(job_ids) <= set(found) else {}


@pytest.mark.django_db(transaction=True)
def test_a_live_worker_fails_a_killed_workers_job_and_removes_its_download_within_the_interval(owner_client, tmp_path, settings):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    release = threading.Event()
    env = {"ICEBOX_TMP_DIR": str(tmp), "ICEBOX_HOUSEKEEPING_INTERVAL": str(INTERVAL)}
    with FakeEngine() as engine:
        settings.ICEBOX_ENGINE_SERVERS = parse_engine_servers(engine.url)
        for output_id in EXPORTS:
            engine.routes[f"/v1/calc/result/{output_id}"] = _stalled(export_reply(output_id), release)
        try:
            with Worker(engine.url, tmp_path, env=env) as first, Worker(engine.url, tmp_path, env=env) as second:
                jobs = [
                    owner_client.post("/artifacts/import", {"engine_url": engine.url, "calc_id": CALC}, format="json").json()["id"]
                    for _ in range(2)
                ]
                # Each worker runs one of the two imports, both stalled mid-download.
                by_job = wait_for(lambda: _workers_of(jobs), timeout=60, what="both imports to be claimed", worker=first)
                workers = {first.worker_id: first, second.worker_id: second}
                victim, survivor = workers[by_job[jobs[0]]], workers[by_job[jobs[1]]]
                assert victim is not survivor
                downloads = wait_for(
                    lambda: len(found := list(tmp.glob("icebox-import-*/icebox-engine-*.download"))) == 2 and found,
                    timeout=60,
                    what="both downloads to start",
                    worker=survivor,
                )
                dirs = {d.parent for d in downloads}
                [victims_dir] = [d for d in dirs if holders(d, {victim.process.pid})]
                [survivors_dir] = dirs - {victims_dir}
                assert holders(victims_dir, {victim.process.pid}) == {victim.process.pid}

                victim.kill()
                # No worker restarts: the survivor, busy with its own import, clears the dead one's.
                wait_for(lambda: _job(jobs[0]).status == "failed", timeout=10 * INTERVAL, what="the killed worker's job to fail", worker=survivor)
                assert _job(jobs[0]).error == WORKER_DIED
                wait_for(lambda: not victims_dir.exists(), timeout=10 * INTERVAL, what="the killed worker's download to be removed", worker=survivor)
                assert _job(jobs[1]).status == "running"
                assert len(list(survivors_dir.glob("icebox-engine-*.download"))) == 1

                release.set()
                wait_for(lambda: _job(jobs[1]).status != "running", timeout=60, what="the live import to finish", worker=survivor)
                assert _job(jobs[1]).status == "done", _job(jobs[1]).error
                assert list(tmp.iterdir()) == []
        finally:
            release.set()


def test_a_failing_step_does_not_stop_the_others(monkeypatch, db):
    ran = []

    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(housekeeping, "STEPS", [("broken", broken), ("fine", lambda: ran.append(1) or 1)])
    assert housekeeping.sweep() == {"fine": 1}
    assert ran == [1]


@pytest.mark.django_db(transaction=True)
def test_the_housekeeper_thread_sweeps_on_its_own_connection_until_stopped(monkeypatch):
    rounds = threading.Semaphore(0)
    connections_used = []

    def step():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            connections_used.append(cursor.fetchone()[0])
        rounds.release()
        return 0

    monkeypatch.setattr(housekeeping, "STEPS", [("probe", step)])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        mine = cursor.fetchone()[0]
    keeper = housekeeping.Housekeeper(interval=0.05)
    keeper.start()
    try:
        assert rounds.acquire(timeout=30) and rounds.acquire(timeout=30)
    finally:
        keeper.stop()
    assert mine not in connections_used
    assert not keeper._thread.is_alive()


@pytest.mark.django_db(transaction=True)
def test_the_sweep_drops_the_partition_a_delete_during_a_read_left(settings):
    from django.contrib.auth import get_user_model

    from geo.loading import orphan_partitions
    from artifacts.services import artifact_delete, artifact_upload
    from tests.conftest import fixture_bytes
    from tests.pg_sessions import backend_pid, end_session, other_session

    settings.ICEBOX_SHARED_PARTITION_MAX_ROWS = 0  # a partition of its own, whatever its size
    user = get_user_model().objects.create_user("owner")
    [artifact] = artifact_upload(owner=user, file_name="hazard_map-mean_2.csv", data=fixture_bytes("hazard_map-mean_2.csv"))
    artifact_id = artifact.pk
    reader = other_session()
    try:
        with reader.cursor() as cursor:
            # A read in progress holds the feature table, so the delete's own drop cannot run.
            cursor.execute("SELECT count(*) FROM geo_feature")
            pid = backend_pid(cursor)
            artifact_delete(artifact=artifact)
        assert orphan_partitions() == [artifact_id]
        with connection.cursor() as cursor:
            end_session(cursor, pid)
    finally:
        reader.close()
    assert housekeeping.sweep()["feature partitions of deleted artifacts"] == 1
    assert orphan_partitions() == []


# A worker stopped at once (serve.sh's second signal: db_worker's SystemExit, raised wherever the
# main thread is) while a sweep is in progress, e.g. a step waiting on a lock: seen as a
# `make run` that Ctrl-C could not stop.
STOPPED_MID_SWEEP = """
import sys, threading, django
django.setup()
from icebox import housekeeping
running = threading.Event()
def stuck():
    running.set()
    threading.Event().wait()
housekeeping.STEPS[:] = [("stuck", stuck)]
housekeeping.Housekeeper(interval=0.01).start()
running.wait()
sys.exit(3)
"""


def test_a_worker_that_exits_mid_sweep_is_not_kept_alive_by_the_housekeeping_thread():
    import os
    import subprocess
    import sys

    from tests.engine.worker import database_url

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "icebox.settings", "DATABASE_URL": database_url(),
           "SECRET_KEY": "test-only-secret-key-not-for-production-use"}
    result = subprocess.run([sys.executable, "-c", STOPPED_MID_SWEEP], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr
