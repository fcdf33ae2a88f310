"""Runs of input models on a REAL OpenQuake Engine 3.26.2, their results imported and linked.

The job is the engine package's classical/case_01 (a point source, 4 sites): a few seconds.
"""

import csv
import io
import shutil
import zipfile

import pytest
import requests

from engine.client import EngineClient
from engine.models import Calculation
from engine.servers import parse_engine_servers
from icebox.models import Artifact
from inputs import recovery, runs
from inputs.models import Run, RunStatus
from tests import engine_harness as eh
from tests.engine.conftest import transactional
from tests.inputs.support import model_from_zip, zip_folder

pytestmark = [pytest.mark.engine, transactional]


@pytest.fixture(scope="module")
def job_folder(tmp_path_factory):
    source = eh.package_job("classical/case_01").parent
    folder = tmp_path_factory.mktemp("case_01") / "case_01"
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("expected", "__pycache__", "__init__.py", "job_wrong.ini"))
    return folder


@pytest.fixture(scope="module")
def oq(tmp_path_factory, job_folder):
    """The engine's data dir and server, and the same job run by the engine's CLI with investigation_time 2."""
    datadir = eh.prepare_datadir(tmp_path_factory.mktemp("oq-runs"))
    cli = tmp_path_factory.mktemp("cli") / "case_01"
    shutil.copytree(job_folder, cli)
    ini = cli / "job.ini"
    ini.write_text(ini.read_text().replace("investigation_time = 1.0", "investigation_time = 2.0"))
    cli_calc = eh.run_calc(datadir, ini)
    with eh.EngineServer(datadir) as server:
        yield server, cli_calc


@pytest.fixture
def engine(oq, settings):
    server, _cli = oq
    settings.ICEBOX_ENGINE_SERVERS = parse_engine_servers(server.url)
    settings.ICEBOX_RUN_POLL_SECONDS = 1
    return server


def curve_rows(data: bytes) -> list[list[str]]:
    """The data rows of an engine hazard curve CSV (its metadata line names the calc, so it differs)."""
    return [row for row in csv.reader(io.StringIO(data.decode())) if row and not row[0].startswith("#")]


def engine_hcurves(url: str, calc_id: int) -> dict[str, bytes]:
    outputs = requests.get(f"{url}/v1/calc/{calc_id}/results", timeout=60).json()
    [hcurves] = [o for o in outputs if o["type"] == "hcurves"]
    response = requests.get(f"{url}/v1/calc/result/{hcurves['id']}", params={"export_type": "csv"}, timeout=60)
    response.raise_for_status()
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return {name.rsplit("_", 1)[0]: archive.read(name) for name in archive.namelist() if name.endswith(".csv")}


def test_a_run_comes_back_imported_and_linked_with_the_values_of_the_same_job_run_by_the_cli(engine, oq, owner, owner_client, job_folder):
    model = model_from_zip(owner, zip_folder(job_folder))
    response = owner_client.post(f"/inputs/{model.pk}/run", {"engine_url": engine.url, "params": {"investigation_time": "2.0"}}, format="json")
    assert response.status_code == 202, response.json()
    run = runs.run_execute(run_id=response.json()["id"])
    assert run.status == RunStatus.COMPLETE, (run.error, run.traceback)

    body = owner_client.get(f"/runs/{run.pk}").json()
    assert body["engine_status"] == "complete" and body["calculation_url"].endswith(f"/calculations/{run.calculation_id}")
    assert owner_client.get(f"/inputs/{model.pk}").json()["calculations"] == [
        {"id": run.calculation_id, "origin": "run", "url": body["calculation_url"]}
    ]
    assert [(i["id"], i["origin"]) for i in owner_client.get(body["calculation_url"]).json()["inputs"]] == [(model.pk, "run")]
    calculation = Calculation.objects.get(pk=run.calculation_id)
    assert calculation.calc_id == run.engine_calc_id and calculation.oqparam["investigation_time"] == 2.0
    assert f"[icebox run {run.pk}]" in calculation.description  # how a resumed run finds it
    # The stored model never changes: the override went to a copy.
    stored = owner_client.get(owner_client.get(f"/inputs/{model.pk}").json()["archive_url"])
    with zipfile.ZipFile(io.BytesIO(b"".join(stored.streaming_content) if stored.streaming else stored.content)) as archive:
        assert b"investigation_time = 1.0" in archive.read("job.ini")

    _server, cli_calc = oq
    expected = engine_hcurves(engine.url, cli_calc)
    assert expected
    for prefix, data in expected.items():
        artifact = Artifact.objects.get(imported_output__calculation=calculation, file_name__startswith=prefix)
        raw = owner_client.get(f"/artifact/{artifact.pk}/raw")
        got = b"".join(raw.streaming_content) if raw.streaming else raw.content
        assert curve_rows(got) == curve_rows(data)  # every poE, as the CLI's run of the same job wrote it


def test_a_job_the_engine_refuses_fails_with_the_engines_traceback_and_imports_nothing(engine, owner, job_folder):
    from inputs.services import run_request

    model = model_from_zip(owner, zip_folder(job_folder))
    # Icebox reads job.ini values as text; the engine checks them, and refuses this one.
    run = run_request(requested_by=owner, input_model=model, engine_url=engine.url, params={"truncation_level": "minus one"}, enqueue=False)
    run = runs.run_execute(run_id=run.pk)
    assert run.status == RunStatus.FAILED
    assert "truncation_level" in run.error and run.traceback and run.traceback[0].startswith("Traceback")
    assert run.import_job is None and Calculation.objects.count() == 0


def test_a_run_whose_worker_died_while_submitting_is_taken_up_without_submitting_twice(engine, owner, job_folder, tmp_path):
    from inputs.services import run_request

    model = model_from_zip(owner, zip_folder(job_folder))
    run = run_request(requested_by=owner, input_model=model, engine_url=engine.url, enqueue=False)
    # What a worker killed right after the engine answered leaves: submitting, no calc id saved.
    runs._save(run, status=RunStatus.SUBMITTING, submit_started=run.created)
    with EngineClient.from_settings(parse_engine_servers(engine.url)[0]) as client:
        submitted = client.submit(runs._archive_for_engine(run, tmp_path), job_ini="job.ini")["job_id"]

    assert recovery.runs_resume() == 1
    assert Run.objects.get(pk=run.pk).status == RunStatus.QUEUED
    assert recovery.runs_resume() == 0  # queued once, not again each round
    run = runs.run_execute(run_id=run.pk)
    assert run.status == RunStatus.COMPLETE, run.error
    assert run.engine_calc_id == submitted
    with EngineClient.from_settings(parse_engine_servers(engine.url)[0]) as client:
        assert [c["id"] for c in client.calc_list() if run.marker in c["description"]] == [submitted]


def test_a_run_past_its_deadline_fails_saying_so_and_leaves_the_calc_to_the_engine(engine, owner, job_folder, settings):
    from inputs.services import run_request

    settings.ICEBOX_RUN_TIMEOUT_SECONDS = 1
    model = model_from_zip(owner, zip_folder(job_folder))
    run = runs.run_execute(run_id=run_request(requested_by=owner, input_model=model, engine_url=engine.url, enqueue=False).pk)
    assert run.status == RunStatus.FAILED
    assert f"calc {run.engine_calc_id} was still" in run.error and "ICEBOX_RUN_TIMEOUT_SECONDS" in run.error
    assert Calculation.objects.count() == 0


def test_icebox_run_runs_it_from_the_shell_with_its_steps_and_fails_with_the_reason(engine, owner, job_folder, tmp_path):
    from django.core.management import CommandError, call_command

    model = model_from_zip(owner, zip_folder(job_folder))
    out, err = io.StringIO(), io.StringIO()
    call_command("icebox_run", "--input", str(model.pk), "--engine", engine.url, "--owner", "owner",
                 "--param", "investigation_time=2.0", stdout=out, stderr=err)
    run = Run.objects.get(input_model=model)
    assert out.getvalue().strip() == f"run {run.pk} complete: engine calc {run.engine_calc_id} -> calculation {run.calculation_id}"
    assert f"run {run.pk}: submitting" in err.getvalue() and f"run {run.pk}: importing" in err.getvalue()
    with pytest.raises(CommandError, match="--param 'investigation_time': write it as key=value"):
        call_command("icebox_run", "--input", str(model.pk), "--engine", engine.url, "--owner", "owner", "--param", "investigation_time")
    with pytest.raises(CommandError, match=f"input model {model.pk + 1000} not found"):
        call_command("icebox_run", "--input", str(model.pk + 1000), "--engine", engine.url, "--owner", "owner")


def test_a_risk_job_runs_on_the_hazard_calc_of_an_earlier_run(engine, owner, owner_client):
    """classical_damage/case_1a: its job_haz.ini, then its job_risk.ini on that hazard (hazard_job_id)."""
    package = eh.qa_tests_data("classical_damage")  # read only: the files are copied into the zip
    members = {name: (package / name).read_bytes() for name in
               ("exposure_model.xml", "gmpe_logic_tree.xml", "source_model.xml", "source_model_logic_tree.xml")}
    for name in ("job_haz.ini", "job_risk.ini", "fragility_model.xml"):
        members[f"case_1a/{name}"] = (package / "case_1a" / name).read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    model = model_from_zip(owner, buffer.getvalue())
    assert model.job_ini == "case_1a/job_haz.ini"

    hazard = owner_client.post(f"/inputs/{model.pk}/run", {"engine_url": engine.url}, format="json").json()
    hazard = runs.run_execute(run_id=hazard["id"])
    assert hazard.status == RunStatus.COMPLETE, (hazard.error, hazard.traceback)
    response = owner_client.post(f"/inputs/{model.pk}/run", {"engine_url": engine.url, "job_ini": "case_1a/job_risk.ini",
                                                              "hazard_job_id": hazard.engine_calc_id}, format="json")
    assert response.status_code == 202, response.json()
    risk = runs.run_execute(run_id=response.json()["id"])
    assert risk.status == RunStatus.COMPLETE, (risk.error, risk.traceback)
    calculation = Calculation.objects.get(pk=risk.calculation_id)
    assert calculation.calculation_mode == "classical_damage" and calculation.oqparam["hazard_calculation_id"] == hazard.engine_calc_id
    assert sorted(model.calculations.values_list("pk", flat=True)) == sorted([hazard.calculation_id, risk.calculation_id])
    outputs = set(Artifact.objects.filter(imported_output__calculation=calculation).values_list("imported_output__output_type", flat=True))
    assert "damages-rlzs" in outputs  # the damage distribution per asset, computed on the stored hazard
    bad = owner_client.post(f"/inputs/{model.pk}/run", {"engine_url": engine.url, "job_ini": "case_1a/missing.ini"}, format="json")
    assert bad.status_code == 400 and "job_ini must be one of" in str(bad.json())
