"""POST /inputs/<id>/run, GET /runs, /inputs: checks and access (owner, another user, anonymous)."""

import io
import zipfile

import pytest

from engine.servers import parse_engine_servers
from inputs.models import Run
from tests.inputs.support import model_from_zip

ENGINE = "http://127.0.0.1:8800"


def tiny_zip() -> bytes:
    """The same bytes at every call: writestr of a bare name stamps the current time, so two calls
    a second apart (the fixture's and a test's) made two different archives."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("job.ini", date_time=(2026, 1, 1, 0, 0, 0)), "[general]\ndescription = tiny\ncalculation_mode = classical\n")
    return buffer.getvalue()


@pytest.fixture
def model(owner, settings):
    settings.ICEBOX_ENGINE_SERVERS = parse_engine_servers(ENGINE)
    return model_from_zip(owner, tiny_zip())


def test_the_owner_queues_a_run_and_reads_it_back(owner_client, model):
    response = owner_client.post(f"/inputs/{model.pk}/run", {"engine_url": ENGINE, "params": {"investigation_time": "1"}}, format="json")
    assert response.status_code == 202, response.json()
    run = response.json()
    assert (run["status"], run["params"], run["engine_calc_id"]) == ("queued", {"investigation_time": "1"}, None)
    assert response["Location"] == run["url"]
    assert owner_client.get(run["url"]).json()["id"] == run["id"]
    assert [r["id"] for r in owner_client.get("/runs").json()["results"]] == [run["id"]]


def test_another_user_and_anonymous_cannot_see_or_run_it(owner_client, other_client, anon_client, model):
    run = owner_client.post(f"/inputs/{model.pk}/run", {"engine_url": ENGINE}, format="json").json()
    assert other_client.post(f"/inputs/{model.pk}/run", {"engine_url": ENGINE}, format="json").status_code == 404
    assert other_client.get(f"/inputs/{model.pk}").status_code == 404
    assert other_client.get(f"/runs/{run['id']}").status_code == 404
    assert other_client.get("/runs").json()["results"] == [] and other_client.get("/inputs").json()["results"] == []
    for path in (f"/inputs/{model.pk}", f"/runs/{run['id']}", "/runs", "/inputs"):
        assert anon_client.get(path).status_code in (401, 403)
    assert anon_client.post(f"/inputs/{model.pk}/run", {"engine_url": ENGINE}, format="json").status_code in (401, 403)
    assert Run.objects.count() == 1


@pytest.mark.parametrize(
    "body, message",
    [
        ({}, "engine_url is required"),
        ({"engine_url": "http://10.0.0.1:8800"}, "ICEBOX_ENGINE_SERVERS"),
        ({"engine_url": ENGINE, "params": ["x"]}, "params must be an object"),
        ({"engine_url": ENGINE, "params": {"Bad-Key": "1"}}, "is not a job.ini parameter name"),
        ({"engine_url": ENGINE, "params": {"investigation_time": "1\nexposure_file = /etc/passwd"}}, "must be one line"),
        ({"engine_url": ENGINE, "params": {"investigation_time": True}}, "must be text or a number"),
        ({"engine_url": ENGINE, "hazard_job_id": "12"}, "hazard_job_id must be"),
        ({"engine_url": ENGINE, "hazard_job_id": 0}, "hazard_job_id must be"),
        ({"engine_url": ENGINE, "calc_id": 3}, "unknown field(s) calc_id"),
    ],
)
def test_a_bad_request_is_a_400_naming_the_problem_and_queues_nothing(owner_client, model, body, message):
    response = owner_client.post(f"/inputs/{model.pk}/run", body, format="json")
    assert response.status_code == 400
    assert message in str(response.json())
    assert Run.objects.count() == 0


def test_the_input_model_lists_its_files_and_links_its_archive(owner_client, model):
    body = owner_client.get(f"/inputs/{model.pk}").json()
    assert body["job_ini"] == "job.ini" and body["params"]["description"] == "tiny" and body["calculations"] == []
    assert [f["path"] for f in body["files"]] == ["job.ini"]
    raw = owner_client.get(body["archive_url"])
    assert raw.status_code == 200 and (b"".join(raw.streaming_content) if raw.streaming else raw.content) == tiny_zip()


def test_the_same_files_are_stored_once_per_owner(owner, model):
    assert model_from_zip(owner, tiny_zip()).pk == model.pk


@pytest.fixture
def calc(owner):
    from engine.models import Calculation

    return Calculation.objects.create(
        owner=owner, engine_url=ENGINE, calc_id=41, calculation_mode="classical", description="tiny",
        oqparam={"description": "tiny", "inputs": {"job_ini": "/home/eng/oqdata/calc_41/job.ini"}},
    )


def test_a_matching_input_model_is_offered_and_linked_by_the_owner(owner_client, model, calc):
    offered = owner_client.get(f"/calculations/{calc.pk}/inputs").json()
    assert [m["id"] for m in offered["candidates"]] == [model.pk] and offered["linked"] == []
    response = owner_client.post(f"/calculations/{calc.pk}/inputs", {"input_model": model.pk}, format="json")
    assert response.status_code == 201
    assert owner_client.post(f"/calculations/{calc.pk}/inputs", {"input_model": model.pk}, format="json").status_code == 200
    offered = owner_client.get(f"/calculations/{calc.pk}/inputs").json()
    assert [m["id"] for m in offered["linked"]] == [model.pk] and offered["candidates"] == []
    detail = owner_client.get(f"/calculations/{calc.pk}").json()
    assert [(i["id"], i["origin"]) for i in detail["inputs"]] == [(model.pk, "confirmed")]
    assert [(c["id"], c["origin"]) for c in owner_client.get(f"/inputs/{model.pk}").json()["calculations"]] == [(calc.pk, "confirmed")]


def test_a_model_of_another_description_or_missing_an_input_file_is_not_offered(owner, owner_client, model, calc):
    calc.oqparam = {"description": "tiny", "inputs": {"job_ini": "job.ini", "site_model": ["sites.csv"]}}
    calc.save()
    assert owner_client.get(f"/calculations/{calc.pk}/inputs").json()["candidates"] == []
    calc.oqparam, calc.description = {"description": "another"}, "another"
    calc.save()
    assert owner_client.get(f"/calculations/{calc.pk}/inputs").json()["candidates"] == []


def test_nobody_else_links_or_sees_the_links(owner_client, other_client, anon_client, other_user, model, calc):
    assert other_client.get(f"/calculations/{calc.pk}/inputs").status_code == 404
    assert other_client.post(f"/calculations/{calc.pk}/inputs", {"input_model": model.pk}, format="json").status_code == 404
    assert anon_client.post(f"/calculations/{calc.pk}/inputs", {"input_model": model.pk}, format="json").status_code in (401, 403)
    # The owner cannot link another user's input model either: it is a 404 for them.
    theirs = model_from_zip(other_user, tiny_zip())
    assert owner_client.post(f"/calculations/{calc.pk}/inputs", {"input_model": theirs.pk}, format="json").status_code == 404
    assert owner_client.post(f"/calculations/{calc.pk}/inputs", {"model": model.pk}, format="json").status_code == 400


def test_a_job_file_the_engine_would_confuse_with_another_is_refused(owner, owner_client, settings):
    settings.ICEBOX_ENGINE_SERVERS = parse_engine_servers(ENGINE)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a/job.ini", "[general]\ndescription = a\ncalculation_mode = classical\n")
        archive.writestr("b/job.ini", "[general]\ndescription = b\ncalculation_mode = classical\n")
    model = model_from_zip(owner, buffer.getvalue())
    response = owner_client.post(f"/inputs/{model.pk}/run", {"engine_url": ENGINE, "job_ini": "b/job.ini"}, format="json")
    assert response.status_code == 400 and "a/job.ini also ends with 'job.ini'" in str(response.json())
    assert Run.objects.count() == 0
