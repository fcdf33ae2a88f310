"""A real worker process: it runs queued imports, and one killed mid-write leaves nothing behind."""

import psycopg2
import pytest
from django.db import connection

from engine.models import ImportJob
from engine.runs import WORKER_DIED
from tests.engine.conftest import NOTHING, stored_counts, transactional
from tests.engine.fake_engine import CALC, EXPECTED_ARTIFACTS, PARSED_ARTIFACTS
from tests.engine.worker import Worker, wait_for
from tests.pg_sessions import end_session

pytestmark = transactional


def job_status(job_id) -> str:
    return ImportJob.objects.values_list("status", flat=True).get(pk=job_id)


def test_a_worker_killed_while_storing_leaves_nothing_and_the_import_can_run_again(owner_client, fake_engine, tmp_path):
    db = connection.settings_dict
    blocker = psycopg2.connect(dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432)
    try:
        with blocker.cursor() as cursor:
            # The worker will block on this lock in the middle of its store transaction: after
            # writing the artifact row and its bytes, before its features are stored (the calc's
            # files are small: into the shared partition). The calc's first output (8, the full
            # report) is kept raw, with no rows: it is written before the first hazard CSV blocks here.
            cursor.execute("LOCK TABLE geo_feature_shared IN ACCESS EXCLUSIVE MODE")
        job_id = owner_client.post("/artifacts/import", {"engine_url": fake_engine.url, "calc_id": CALC}, format="json").json()["id"]
        with Worker(fake_engine.url, tmp_path) as worker:

            def worker_blocked():
                with blocker.cursor() as cursor:
                    cursor.execute("SELECT pid FROM pg_locks WHERE NOT granted AND relation = 'geo_feature_shared'::regclass")
                    row = cursor.fetchone()
                return row and row[0]

            backend = wait_for(worker_blocked, timeout=60, what="the worker to reach the store phase", worker=worker)
            with blocker.cursor() as cursor:
                cursor.execute("SELECT status FROM engine_importjob WHERE id = %s", [job_id])
                assert cursor.fetchone()[0] == "running"
                cursor.execute("SELECT count(*) FROM icebox_artifact")
                assert cursor.fetchone()[0] == 0  # written, but not committed
            worker.kill()
        blocker.rollback()  # release the lock: the orphaned backend finds its client gone and rolls back
        with blocker.cursor() as cursor:
            end_session(cursor, backend)  # and its locks are gone only once its session has ended
    finally:
        blocker.close()

    # No row: only the bytes the worker wrote before its rows (blobs.store writes them first),
    # which no artifact has, and which the next sweep removes.
    left = stored_counts()
    assert left["stored bytes"] >= 1 and {**left, "stored bytes": 0} == NOTHING
    assert job_status(job_id) == "running"  # as the dead worker left it

    with Worker(fake_engine.url, tmp_path) as worker:
        # A starting worker marks the job of the dead one failed ...
        wait_for(lambda: job_status(job_id) == "failed", timeout=30, what="recovery of the dead worker's job", worker=worker)
        assert ImportJob.objects.get(pk=job_id).error == WORKER_DIED
        # ... in the same housekeeping round that removed the orphaned bytes (icebox's steps run first) ...
        assert stored_counts() == NOTHING
        # ... and the same import, asked again, now succeeds.
        retry = owner_client.post("/artifacts/import", {"engine_url": fake_engine.url, "calc_id": CALC}, format="json").json()["id"]
        wait_for(lambda: job_status(retry) in ("done", "failed"), timeout=60, what="the retried import", worker=worker)
    assert job_status(retry) == "done", ImportJob.objects.get(pk=retry).error
    assert stored_counts()["artifacts"] == EXPECTED_ARTIFACTS and stored_counts()["with_rows"] == PARSED_ARTIFACTS


def test_a_database_connection_dropped_while_storing_leaves_nothing_and_a_retry_succeeds(owner_client, fake_engine, tmp_path):
    db = connection.settings_dict
    blocker = psycopg2.connect(dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432)
    try:
        with Worker(fake_engine.url, tmp_path, env={"ICEBOX_HOUSEKEEPING_INTERVAL": "1"}) as worker:
            with blocker.cursor() as cursor:
                # As above: the store transaction has written the raw report, the first hazard
                # CSV waits for the feature table.
                cursor.execute("LOCK TABLE geo_feature_shared IN ACCESS EXCLUSIVE MODE")
            job_id = owner_client.post("/artifacts/import", {"engine_url": fake_engine.url, "calc_id": CALC}, format="json").json()["id"]

            def worker_blocked():
                with blocker.cursor() as cursor:
                    cursor.execute("SELECT pid FROM pg_locks WHERE NOT granted AND relation = 'geo_feature_shared'::regclass")
                    row = cursor.fetchone()
                return row and row[0]

            backend = wait_for(worker_blocked, timeout=60, what="the worker to reach the store phase", worker=worker)
            with blocker.cursor() as cursor:
                end_session(cursor, backend)  # the database drops the worker's connection mid-transaction
            blocker.rollback()
            # The worker lives on and says why its job failed, on a new connection (not left
            # for recovery to call it a dead worker's).
            wait_for(lambda: job_status(job_id) == "failed", timeout=60, what="the import whose connection dropped to end failed", worker=worker)
            error = ImportJob.objects.get(pk=job_id).error
            assert error != WORKER_DIED and error.startswith("internal error (OperationalError)"), error
            assert stored_counts() == NOTHING
            retry = owner_client.post("/artifacts/import", {"engine_url": fake_engine.url, "calc_id": CALC}, format="json").json()["id"]
            wait_for(lambda: job_status(retry) in ("done", "failed"), timeout=60, what="the retried import", worker=worker)
    finally:
        blocker.close()
    assert job_status(retry) == "done", ImportJob.objects.get(pk=retry).error
    assert stored_counts()["artifacts"] == EXPECTED_ARTIFACTS and stored_counts()["with_rows"] == PARSED_ARTIFACTS


def test_icebox_import_command_runs_the_same_import_with_a_progress_bar(owner, fake_engine, capsys):
    from django.core.management import CommandError, call_command

    call_command("icebox_import", "--engine", fake_engine.url, "--calc", str(CALC), "--owner", "owner", "--outputs", "hmaps", "uhs")
    out, err = capsys.readouterr()
    assert "done: calc 2 from" in out and "12 artifact(s)" in out
    assert "[##############################] 2/2 outputs" in err
    assert "skipped output 12 (realizations): not requested" in err

    with pytest.raises(CommandError, match="answered 404 for calc 7: no such calculation"):
        call_command("icebox_import", "--engine", fake_engine.url, "--calc", "7", "--owner", "owner")
    with pytest.raises(CommandError, match="is not in ICEBOX_ENGINE_SERVERS"):
        call_command("icebox_import", "--engine", "http://127.0.0.1:1", "--calc", "7", "--owner", "owner")
