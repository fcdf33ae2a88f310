"""engine.services on real PostGIS against the fake engine: imports, failures, idempotence, recovery."""

import hashlib
import io
import threading
import zipfile

import pytest
from django.db import connection, connections

from engine import runs, services
from engine.models import Calculation, ImportedOutput, ImportJob
from engine.servers import parse_engine_servers
from icebox.models import Artifact
from tests.engine.conftest import NOTHING, stored_counts, transactional
from tests.engine.fake_engine import CALC, EXPECTED_ARTIFACTS, EXPORTS, PARSED_ARTIFACTS, FakeEngine, Reply
from tests.conftest import FIXTURES
from tests.pg_sessions import backend_pid, end_session
from tests.support import stored_bytes

pytestmark = pytest.mark.django_db


def run(owner, engine, **kwargs) -> ImportJob:
    job = services.import_request(requested_by=owner, engine_url=engine.url, calc_id=kwargs.pop("calc_id", CALC), enqueue=False, **kwargs)
    return runs.import_job_run(job_id=job.pk)


def test_it_imports_every_csv_of_every_parsed_output_with_its_provenance(owner, fake_engine):
    job = run(owner, fake_engine)
    assert job.status == "done", job.error
    assert (job.outputs_done, job.outputs_total) == (7, 7) and job.skipped == []
    assert job.bytes_done == job.bytes_total > 0
    assert job.artifacts.count() == Artifact.objects.filter(owner=owner).count() == EXPECTED_ARTIFACTS

    calculation = Calculation.objects.get()
    assert (calculation.owner, calculation.engine_url, calculation.calc_id) == (owner, fake_engine.url, CALC)
    assert calculation.engine_version == "3.26.2" and calculation.calculation_mode == "classical"
    assert calculation.status == "complete" and calculation.description.startswith("Vancouver Schools")
    assert calculation.start_time.isoformat() == "2026-11-27T18:18:03.525742+00:00"
    assert calculation.stop_time.isoformat() == "2026-11-27T18:18:16.373625+00:00"
    assert calculation.oqparam["quantiles"] == [0.15, 0.85]

    artifact = Artifact.objects.get(file_name="hazard_map-mean-475y_2.csv")
    source = artifact.metadata["source"]
    assert source == {
        "engine_url": fake_engine.url,
        "engine_version": "3.26.2",
        "calc_id": CALC,
        "calculation": calculation.pk,
        "output_id": 11,
        "output_type": "hmaps-stats",
        "output_name": "Hazard Maps Statistics",
        "export_name": "output-11-hmaps-stats-csv.zip",
        "export_type": "csv",
        "file_name": "hazard_map-mean-475y_2.csv",
        "description": calculation.description,
        "calculation_mode": "classical",
        "start_time": "2026-11-27T18:18:03.525742+00:00",
        "stop_time": "2026-11-27T18:18:16.373625+00:00",
        "job_parameters": calculation.oqparam,
    }
    assert artifact.metadata["return_period"] == 475  # what the parser read is kept beside it
    assert artifact.imported_output.output_id == 11 and artifact.feature_count == 3
    # No engine credentials or tokens anywhere in what was stored.
    assert "@" not in calculation.engine_url


def test_outputs_no_kind_parses_are_kept_raw_byte_for_byte(owner, fake_engine):
    job = run(owner, fake_engine)
    assert job.status == "done", job.error
    raw = {a.imported_output.output_id: a for a in Artifact.objects.filter(artifact_type="file").select_related("imported_output", "blob")}
    assert sorted(raw) == [8]  # the site model (13) and the realizations (12) are read by their kinds
    for output_id, artifact in raw.items():
        data = (FIXTURES / EXPORTS[output_id]).read_bytes()
        assert stored_bytes(artifact) == data and artifact.sha256 == hashlib.sha256(data).hexdigest()
        assert artifact.feature_count == 0 and artifact.bbox is None
    report = raw[8]
    assert (report.file_name, report.content_type) == ("output-1-report_1.rst", "text/x-rst")
    assert report.metadata["source"]["output_type"] == "fullreport" and report.metadata["source"]["export_type"] == "rst"
    realizations = Artifact.objects.get(imported_output__output_id=12)
    assert (realizations.artifact_type, realizations.feature_count, realizations.bbox) == ("table", 3, None)
    assert realizations.metadata["output_type"] == realizations.metadata["source"]["output_type"] == "realizations"
    site_model = Artifact.objects.get(imported_output__output_id=13)
    assert (site_model.artifact_type, site_model.feature_count) == ("site_model", 3)
    # The report was asked for in the one format the engine offers for it.
    assert "/v1/calc/result/8?export_type=rst" in fake_engine.paths()
    assert "/v1/calc/result/12?export_type=csv" in fake_engine.paths()


def test_an_output_the_engine_fails_to_export_is_skipped_with_its_reason_and_retried_next_time(owner, fake_engine):
    good = fake_engine.routes["/v1/calc/result/13"]
    # What engine 3.26.2's calc_result view answers when an exporter raises DataStoreExportError
    # (openquake/server/views.py); none of the real calcs of the suite has an output that does.
    fake_engine.routes["/v1/calc/result/13"] = Reply(
        500, b"DataStoreExportError: Could not export site_model in csv", {"Content-Type": "text/plain"})

    job = run(owner, fake_engine)

    assert job.status == "done", job.error
    assert job.skipped == [{"output_id": 13, "type": "site_model", "name": "Site Model",
                            "reason": f"the engine failed to export it: engine at {fake_engine.url} answered 500 for output 13 "
                                      "of calc 2: DataStoreExportError: Could not export site_model in csv"}]
    assert (job.outputs_done, job.outputs_total) == (7, 7)
    assert job.artifacts.count() == EXPECTED_ARTIFACTS - 1
    assert not ImportedOutput.objects.filter(output_id=13).exists()

    fake_engine.routes["/v1/calc/result/13"] = good
    fetched = len(fake_engine.paths())
    again = run(owner, fake_engine)
    assert again.status == "done" and again.skipped == []
    assert again.artifacts.count() == EXPECTED_ARTIFACTS
    assert set(again.artifacts.values_list("pk", flat=True)) > set(job.artifacts.values_list("pk", flat=True))
    # Only the output that failed is fetched again.
    assert [p for p in fake_engine.paths()[fetched:] if p.startswith("/v1/calc/result/")] == ["/v1/calc/result/13?export_type=csv"]


@pytest.mark.parametrize("status", [404, 503])
def test_an_output_answering_another_error_fails_the_whole_import(owner, fake_engine, status):
    fake_engine.routes["/v1/calc/result/13"] = Reply(status, b"down for maintenance", {"Content-Type": "text/plain"})

    job = run(owner, fake_engine)

    assert job.status == "failed" and f"answered {status} for output 13 of calc 2" in job.error
    assert stored_counts() == NOTHING


def test_the_datastore_is_stored_only_when_asked_and_bounded_by_its_own_limit(owner, fake_engine, settings):
    datastore = b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 40  # stands in for the engine's HDF5 file
    fake_engine.routes[f"/v1/calc/{CALC}/datastore"] = Reply(
        200, datastore, {"Content-Type": "application/x-hdf5", "Content-Disposition": "attachment; filename=calc_2.hdf5"})

    assert run(owner, fake_engine).status == "done"
    assert not any(p.startswith(f"/v1/calc/{CALC}/datastore") for p in fake_engine.paths())

    settings.ICEBOX_ENGINE_MAX_DATASTORE_BYTES = len(datastore) - 1
    job = run(owner, fake_engine, datastore=True)
    assert job.status == "failed" and "the datastore of calc 2" in job.error and f"limit of {len(datastore) - 1} bytes" in job.error

    settings.ICEBOX_ENGINE_MAX_DATASTORE_BYTES = len(datastore)
    job = run(owner, fake_engine, datastore=True)
    assert job.status == "done", job.error
    artifact = ImportedOutput.objects.get(output_type="datastore").artifact
    assert (artifact.artifact_type, artifact.file_name, artifact.content_type) == ("file", "calc_2.hdf5", "application/x-hdf5")
    assert stored_bytes(artifact) == datastore and artifact.imported_output.output_id == 0
    assert job.artifacts.count() == EXPECTED_ARTIFACTS + 1


def test_an_output_type_the_calc_does_not_list_is_reported_not_refused(owner, fake_engine):
    job = run(owner, fake_engine, outputs=["gmf_data", "hmaps"])
    assert job.status == "done"
    assert set(ImportedOutput.objects.values_list("output_type", flat=True)) == {"hmaps"}
    assert {"output_id": None, "type": "gmf_data", "name": None, "reason": "calc 2 has no `gmf_data` output"} in job.skipped


def test_only_the_requested_outputs_are_imported(owner, fake_engine):
    job = run(owner, fake_engine, outputs=["hmaps", "uhs"])
    assert job.status == "done"
    assert set(ImportedOutput.objects.values_list("output_type", flat=True)) == {"hmaps", "uhs"}
    assert {s["output_id"]: s["reason"] for s in job.skipped}[9] == "not requested"


def test_a_requested_output_the_calc_lacks_is_listed(owner, fake_engine):
    fake_engine.routes[f"/v1/calc/{CALC}/results"] = Reply(200, b'[{"id": 10, "name": "Hazard Maps", "type": "hmaps", "outtypes": ["csv"]}]')
    job = run(owner, fake_engine, outputs=["hmaps", "uhs"])
    assert job.status == "done"
    assert job.skipped == [{"output_id": None, "type": "uhs", "name": None, "reason": "calc 2 has no `uhs` output"}]


def test_importing_twice_gives_the_same_artifacts(owner, fake_engine):
    first = run(owner, fake_engine)
    downloads = len([p for p in fake_engine.paths() if p.startswith("/v1/calc/result/")])
    second = run(owner, fake_engine)
    assert second.status == "done"
    assert set(second.artifacts.values_list("pk", flat=True)) == set(first.artifacts.values_list("pk", flat=True))
    assert Artifact.objects.count() == ImportedOutput.objects.count() == EXPECTED_ARTIFACTS
    assert Calculation.objects.count() == 1
    # What is already stored is not fetched again.
    assert len([p for p in fake_engine.paths() if p.startswith("/v1/calc/result/")]) == downloads


def test_two_owners_each_get_their_own_copy(owner, other_user, fake_engine):
    run(owner, fake_engine)
    run(other_user, fake_engine)
    assert Calculation.objects.count() == 2
    assert Artifact.objects.filter(owner=other_user).count() == EXPECTED_ARTIFACTS


@pytest.mark.parametrize("status", ["executing", "created", "failed", "aborted"])
def test_a_calc_that_is_not_complete_is_refused(owner, fake_engine, status):
    fake_engine.routes[f"/v1/calc/{CALC}/status"] = Reply(200, f'{{"id": 2, "status": "{status}"}}'.encode())
    job = run(owner, fake_engine)
    assert job.status == "failed"
    assert job.error.startswith(f"calc 2 is `{status}`, not complete")
    assert stored_counts() == NOTHING
    assert not any(p.startswith("/v1/calc/result/") for p in fake_engine.paths())


def test_an_unknown_calc_says_so(owner, fake_engine):
    job = run(owner, fake_engine, calc_id=7)
    assert job.status == "failed"
    assert job.error == f"engine at {fake_engine.url} answered 404 for calc 7: no such calculation (nothing was stored for this import)"


def test_a_malformed_file_fails_the_import_and_stores_nothing_then_a_retry_succeeds(owner, fake_engine):
    good = fake_engine.routes["/v1/calc/result/14"]
    bad = _with_bad_value(good.body)
    fake_engine.routes["/v1/calc/result/14"] = Reply(200, bad, good.headers)
    job = run(owner, fake_engine)
    assert job.status == "failed"
    assert "output-14-uhs-csv.zip/" in job.error and "'not-a-number' is not a number" in job.error
    assert stored_counts() == NOTHING

    fake_engine.routes["/v1/calc/result/14"] = good
    assert run(owner, fake_engine).status == "done"
    assert Artifact.objects.count() == EXPECTED_ARTIFACTS


def _with_bad_value(zip_bytes: bytes) -> bytes:
    """The same zip, its last member's last row ending in a value that is not a number."""
    source = zipfile.ZipFile(io.BytesIO(zip_bytes))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        names = source.namelist()
        for name in names:
            data = source.read(name)
            if name == names[-1]:
                data = data.rstrip(b"\r\n").rsplit(b",", 1)[0] + b",not-a-number\n"
            target.writestr(name, data)
    return out.getvalue()


def test_an_engine_that_dies_mid_download_leaves_nothing_and_a_retry_succeeds(owner, fake_engine):
    good = fake_engine.routes["/v1/calc/result/11"]
    fake_engine.routes["/v1/calc/result/11"] = Reply(200, chunks=iter([good.body[:300]]), headers={"Content-Length": str(len(good.body))})
    job = run(owner, fake_engine)
    assert job.status == "failed"
    assert "broke off while sending output 11 of calc 2" in job.error
    assert stored_counts() == NOTHING

    fake_engine.routes["/v1/calc/result/11"] = good
    assert run(owner, fake_engine).status == "done"
    assert stored_counts()["artifacts"] == EXPECTED_ARTIFACTS


def test_a_server_removed_from_the_allow_list_is_not_contacted(owner, fake_engine, settings):
    job = services.import_request(requested_by=owner, engine_url=fake_engine.url, calc_id=CALC, enqueue=False)
    settings.ICEBOX_ENGINE_SERVERS = parse_engine_servers("http://127.0.0.1:1")
    job = runs.import_job_run(job_id=job.pk)
    assert job.status == "failed" and "is not in ICEBOX_ENGINE_SERVERS" in job.error
    assert fake_engine.connections == 0


def test_a_job_is_run_once(owner, fake_engine):
    job = run(owner, fake_engine)
    requests_made = len(fake_engine.requests)
    assert runs.import_job_run(job_id=job.pk).status == "done"
    assert len(fake_engine.requests) == requests_made


# -- a worker that died --------------------------------------------------------------------------


def test_a_running_job_whose_worker_is_gone_is_marked_failed(owner, fake_engine):
    job = services.import_request(requested_by=owner, engine_url=fake_engine.url, calc_id=CALC, enqueue=False)
    ImportJob.objects.filter(pk=job.pk).update(status="running")
    assert runs.import_jobs_recover() == 1
    job.refresh_from_db()
    assert job.status == "failed" and job.error == runs.WORKER_DIED
    # ... and importing again then works.
    assert run(owner, fake_engine).status == "done"


def test_every_import_task_first_fails_the_jobs_of_dead_workers(owner, fake_engine):
    from engine.tasks import run_import

    stale = services.import_request(requested_by=owner, engine_url=fake_engine.url, calc_id=CALC, enqueue=False)
    ImportJob.objects.filter(pk=stale.pk).update(status="running")
    job = services.import_request(requested_by=owner, engine_url=fake_engine.url, calc_id=CALC, enqueue=False)
    assert run_import.call(job.pk) == "done"
    stale.refresh_from_db()
    assert stale.status == "failed" and stale.error == runs.WORKER_DIED


def test_a_running_job_whose_worker_lives_is_left_alone(owner, fake_engine, django_db_blocker):
    job = services.import_request(requested_by=owner, engine_url=fake_engine.url, calc_id=CALC, enqueue=False)
    ImportJob.objects.filter(pk=job.pk).update(status="running")
    # Another connection (another worker) holds the job's lock.
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [runs._LOCK_NAMESPACE + job.pk])
            other_pid = backend_pid(cursor)
        assert runs.import_jobs_recover() == 0
        # and a second worker does not run it either
        assert runs.import_job_run(job_id=job.pk).status == "running"
    finally:
        other.close()
    # The worker is gone once the server has ended its session, a moment after the close.
    with connection.cursor() as cursor:
        end_session(cursor, other_pid)
    assert runs.import_jobs_recover() == 1


# -- concurrency (real transactions: each thread has its own connection) -----------------------


@transactional
def test_two_imports_of_one_calc_at_once_store_it_once(owner, settings):
    with FakeEngine() as engine:
        settings.ICEBOX_ENGINE_SERVERS = parse_engine_servers(engine.url)
        for oid in (9, 10, 11, 14):  # slow downloads, so that both jobs overlap
            route = engine.routes[f"/v1/calc/result/{oid}"]
            route.delay = 0.2
        jobs = [services.import_request(requested_by=owner, engine_url=engine.url, calc_id=CALC, enqueue=False) for _ in range(2)]
        barrier = threading.Barrier(2)
        errors = []

        def work(job_id):
            try:
                barrier.wait()
                runs.import_job_run(job_id=job_id)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=work, args=(job.pk,)) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert errors == []
    done = [ImportJob.objects.get(pk=job.pk) for job in jobs]
    assert [job.status for job in done] == ["done", "done"], [job.error for job in done]
    assert set(done[0].artifacts.values_list("pk", flat=True)) == set(done[1].artifacts.values_list("pk", flat=True))
    counts = stored_counts()
    assert counts["artifacts"] == counts["provenance"] == EXPECTED_ARTIFACTS and counts["with_rows"] == PARSED_ARTIFACTS
    assert counts["calculations"] == 1
    # Both really downloaded (they overlapped), one stored.
    assert len([p for p in engine.paths() if p.startswith("/v1/calc/result/9")]) == 2


def test_the_status_of_a_failed_calc_results_404(owner, fake_engine):
    # A calc that failed after its status was read: its results answer 404 with an empty body.
    fake_engine.routes[f"/v1/calc/{CALC}/results"] = Reply(404, b"")
    job = run(owner, fake_engine)
    assert job.status == "failed" and "answered 404 for calc 2" in job.error


def test_the_three_timestamp_formats_reach_the_calculation(owner, fake_engine):
    fake_engine.routes[f"/v1/calc/{CALC}"] = Reply(200, b'{"id": 2, "start_time": "2026-11-27T18:19:58", "stop_time": null}')
    assert run(owner, fake_engine).status == "done"
    calculation = Calculation.objects.get()
    assert calculation.start_time.isoformat() == "2026-11-27T18:19:58+00:00" and calculation.stop_time is None
    assert calculation.description.startswith("Vancouver")  # from /status when /v1/calc/ID lacks it
