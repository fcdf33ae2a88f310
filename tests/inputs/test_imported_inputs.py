"""A calc's `input` output, imported, becomes its input model (fake engine: the real 3.26.2 lists none).

The archive served is classical/case_18's inputs (fixtures/inputs/classical_case_18), the job
behind the fake engine's calc 2.
"""

import io
import json

import pytest

from engine import runs, services
from engine.models import ImportStatus
from icebox.models import Artifact
from inputs.models import InputLink, InputModel
from tests.engine.conftest import fake_engine  # noqa: F401 - the fixture
from tests.engine.fake_engine import RESPONSES, Reply
from tests.kinds.test_input_archive import job_files, make_zip

INPUT_OUTPUT = {"id": 15, "name": "Input Files", "type": "input", "outtypes": ["zip"], "size_mb": -1.0}


@pytest.fixture
def engine_with_inputs(fake_engine):
    outputs = json.loads((RESPONSES / "calc_2_results.json").read_bytes()) + [INPUT_OUTPUT]
    fake_engine.routes["/v1/calc/2/results"] = Reply(200, json.dumps(outputs).encode(), {"Content-Type": "application/json"})
    archive = make_zip(job_files("classical_case_18"))
    fake_engine.routes["/v1/calc/result/15"] = Reply(
        200, archive, {"Content-Type": "application/x-zip", "Content-Disposition": "attachment; filename=output-15-input.zip"}
    )
    return fake_engine, archive


def run_import(owner, url):
    job = services.import_request(requested_by=owner, engine_url=url, calc_id=2, outputs=["input"], enqueue=False)
    return runs.import_job_run(job_id=job.pk)


def test_the_input_output_becomes_the_calcs_input_model_with_the_files_the_import_stored(owner, owner_client, engine_with_inputs):
    engine, archive = engine_with_inputs
    job = run_import(owner, engine.url)
    assert job.status == ImportStatus.DONE, job.error
    [model] = InputModel.objects.all()
    assert (model.job_ini, model.calculation_mode) == ("job.ini", "classical")
    assert list(InputLink.objects.values_list("calculation_id", "origin")) == [(job.calculation_id, "imported")]
    # Its files are the import's artifacts (not stored twice), and its archive is the engine's zip.
    imported = set(job.artifacts.values_list("pk", flat=True))
    assert set(model.input_files.values_list("artifact_id", flat=True)) == imported
    assert Artifact.objects.count() == len(imported) + 1
    raw = owner_client.get(owner_client.get(f"/inputs/{model.pk}").json()["archive_url"])
    assert b"".join(raw.streaming_content) == archive
    assert [i["origin"] for i in owner_client.get(f"/calculations/{job.calculation_id}").json()["inputs"]] == ["imported"]


def test_an_input_model_stored_before_with_the_same_files_is_linked_not_stored_again(owner, owner_client, engine_with_inputs):
    engine, archive = engine_with_inputs
    upload = io.BytesIO(archive)
    upload.name = "case_18.zip"
    stored = owner_client.post("/inputs", {"file": upload}, format="multipart").json()
    job = run_import(owner, engine.url)
    assert job.status == ImportStatus.DONE, job.error
    assert list(InputModel.objects.values_list("pk", flat=True)) == [stored["id"]]
    assert list(InputLink.objects.values_list("input_model_id", "calculation_id")) == [(stored["id"], job.calculation_id)]


def test_an_input_output_the_reader_refuses_is_kept_as_files_and_the_import_succeeds(owner, engine_with_inputs):
    engine, _archive = engine_with_inputs
    members = job_files("classical_case_18")
    members.pop("point_source.xml")  # named by the logic tree, missing from the zip
    engine.routes["/v1/calc/result/15"] = Reply(
        200, make_zip(members), {"Content-Type": "application/x-zip", "Content-Disposition": "attachment; filename=output-15-input.zip"}
    )
    job = run_import(owner, engine.url)
    assert job.status == ImportStatus.DONE, job.error
    assert job.artifacts.count() == len(members) and InputModel.objects.count() == 0
