"""POST /inputs: a job's inputs checked, stored byte for byte and drawn (owner, another user, anonymous)."""

import io
import json

import pytest

from icebox.models import Artifact
from inputs.models import InputFile, InputModel
from tests.conftest import FIXTURES
from tests.kinds.test_input_archive import job_files, make_zip


def post_zip(client, members: dict[str, bytes], name="case_36.zip", data: bytes | None = None):
    upload = io.BytesIO(data if data is not None else make_zip(members))
    upload.name = name
    return client.post("/inputs", {"file": upload}, format="multipart")


def test_a_zip_of_a_job_is_stored_with_every_file_as_an_artifact_of_its_kind(owner_client):
    members = job_files("classical_case_36")
    data = make_zip(members)  # once: a zip records when it was written
    response = post_zip(owner_client, members, data=data)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["Location"] == body["url"] and body["job_ini"] == "job.ini" and body["calculation_mode"] == "classical"
    roles = {f["path"]: f["role"] for f in body["files"]}
    assert roles == {"job.ini": "job_ini", "gsim_logic_tree.xml": "gsim_logic_tree", "source_model.xml": "source_model",
                     "source_model_logic_tree.xml": "source_model_logic_tree"}
    types = {f["path"]: owner_client.get(f["artifact_url"]).status_code for f in body["files"]}
    assert set(types.values()) == {200}
    by_path = {f["path"]: Artifact.objects.get(pk=f["artifact"]) for f in body["files"]}
    assert by_path["source_model.xml"].artifact_type == "source_model" and by_path["source_model.xml"].feature_count > 0
    assert by_path["gsim_logic_tree.xml"].artifact_type == "logic_tree"
    # Byte for byte: the archive, and each file.
    raw = owner_client.get(body["archive_url"])
    assert (b"".join(raw.streaming_content) if raw.streaming else raw.content) == data
    for path, artifact in by_path.items():
        got = owner_client.get(f"/artifact/{artifact.pk}/raw")
        assert (b"".join(got.streaming_content) if got.streaming else got.content) == members[path]
    # The source model is on the map: its features as GeoJSON.
    stream = owner_client.get(f"/artifact/{by_path['source_model.xml'].pk}")
    features = json.loads(b"".join(stream.streaming_content))["features"]
    assert {f["geometry"]["type"] for f in features if f["geometry"]} >= {"Point", "Polygon", "LineString"}


def test_the_same_files_again_are_the_same_input_model(owner_client):
    first = post_zip(owner_client, job_files("classical_case_36")).json()
    again = post_zip(owner_client, job_files("classical_case_36"), name="again.zip")
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    assert InputModel.objects.count() == 1


def test_a_job_ini_and_its_files_sent_one_by_one_are_one_input_model(owner_client):
    files = []
    for path, data in job_files("classical_case_36").items():
        part = io.BytesIO(data)
        part.name = path
        files.append(part)
    response = owner_client.post("/inputs", {"file": files, "name": "case 36"}, format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "case 36" and len(body["files"]) == 4
    raw = owner_client.get(body["archive_url"])
    assert raw["Content-Type"] == "application/zip"


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m.pop("source_model.xml"), "source_model.xml"),
        (lambda m: m.update({"../escape.xml": b"<x/>"}), "escape"),
        (lambda m: m.update({"source_model.xml": b"<nrml><sourceModel"}), "source_model.xml"),
        (lambda m: m.update({"job.ini": b"this is not an ini file\n"}), "job.ini"),
    ],
)
def test_a_bad_archive_is_a_400_naming_the_file_and_stores_nothing(owner_client, change, message):
    members = job_files("classical_case_36")
    change(members)
    response = post_zip(owner_client, members)
    assert response.status_code == 400
    assert message in str(response.json())
    assert (InputModel.objects.count(), InputFile.objects.count(), Artifact.objects.count()) == (0, 0, 0)


def test_a_zip_bomb_is_refused_before_it_is_expanded(owner_client):
    members = job_files("classical_case_36")
    members["padding.csv"] = b"0" * (50 * 1024 * 1024)
    response = post_zip(owner_client, members)
    assert response.status_code == 400 and "padding.csv" in str(response.json())
    assert Artifact.objects.count() == 0


def test_no_file_is_a_400(owner_client):
    assert owner_client.post("/inputs", {}, format="multipart").status_code == 400


def test_another_user_and_anonymous_neither_see_nor_upload(owner_client, other_client, anon_client):
    body = post_zip(owner_client, job_files("classical_case_36")).json()
    assert other_client.get(body["url"]).status_code == 404
    assert other_client.get(body["archive_url"]).status_code == 404
    assert other_client.get("/inputs").json()["results"] == []
    assert anon_client.get("/inputs").status_code in (401, 403)
    upload = io.BytesIO(make_zip(job_files("classical_case_36")))
    upload.name = "x.zip"
    assert anon_client.post("/inputs", {"file": upload}, format="multipart").status_code in (401, 403)
    assert InputModel.objects.count() == 1


def test_the_list_filters_by_calculation_mode_label_and_text_and_labels_are_the_owners(owner_client, other_client):
    body = post_zip(owner_client, job_files("classical_case_36")).json()
    scenario = post_zip(owner_client, job_files("scenario_case_1"), name="scenario.zip").json()
    response = owner_client.patch(body["url"], {"labels": ["2026 model", " review "]}, format="json")
    assert response.status_code == 200 and response.json()["labels"] == ["2026 model", "review"]

    def ids(**query):
        return [m["id"] for m in owner_client.get("/inputs", query).json()["results"]]

    assert ids(mode="classical") == [body["id"]] and ids(mode="scenario") == [scenario["id"]]
    assert ids(label="review") == [body["id"]] and ids(label=["review", "2026 model"]) == [body["id"]] and ids(label="x") == []
    assert sorted(ids()) == sorted([body["id"], scenario["id"]])
    assert owner_client.get("/inputs", {"mode": ""}).status_code == 400
    assert owner_client.patch(body["url"], {"labels": "review"}, format="json").status_code == 400
    assert other_client.patch(body["url"], {"labels": ["mine"]}, format="json").status_code == 404


@pytest.mark.parametrize("job", sorted(p.name for p in (FIXTURES / "inputs").iterdir() if p.is_dir()))
def test_every_real_input_set_in_the_fixtures_uploads_with_each_file_stored_as_sent(owner_client, job):
    members = job_files(job)
    response = post_zip(owner_client, members, name=f"{job}.zip")
    assert response.status_code == 201, response.json()
    files = response.json()["files"]
    assert {f["path"] for f in files} == set(members)
    for f in files:
        raw = owner_client.get(f"/artifact/{f['artifact']}/raw")
        assert b"".join(raw.streaming_content) == members[f["path"]], f["path"]
