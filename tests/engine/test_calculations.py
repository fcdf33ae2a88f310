"""GET /calculations (filters), GET /calculations/<id> (the tree), GET /calculations/<id>/export (the
zip), PATCH /calculations/<id> (labels): owner, other user, anonymous and a grantee.

The calculations hold the real engine exports of fixtures/ (calc 2: hcurves, hmaps, hmaps-stats and
uhs zips, and one single-file download) stored as an import stores them: one artifact per CSV, with
its provenance row. The expected files are read from the fixture zips with zipfile, independently
of Icebox.
"""

from __future__ import annotations

import io
import zipfile

import pytest

from artifacts.services import artifact_delete, artifact_upload
from engine.models import Calculation, ImportedOutput
from tests.conftest import fixture_bytes

pytestmark = pytest.mark.django_db

ENGINE = "http://127.0.0.1:8800"
# (output id, output type, fixture): the engine's downloads of calc 2, named as the engine names them.
CALC2 = [
    (9, "hcurves", "calc2_output-9-hcurves-csv.zip"),
    (10, "hmaps", "calc2_output-10-hmaps-csv.zip"),
    (11, "hmaps-stats", "calc2_output-11-hmaps-stats-csv.zip"),
    (14, "uhs", "calc2_output-14-uhs-csv.zip"),
]
IMTLS = {"PGA": [0.1], "SA(0.2)": [0.1], "SA(1.0)": [0.1]}


def store(calculation: Calculation, output_id: int, output_type: str, fixture: str, export_name: str | None = None) -> list:
    """What an import stores for one output: its CSVs as artifacts, each with its provenance."""
    export_name = export_name or fixture.removeprefix("calc2_")
    artifacts = artifact_upload(owner=calculation.owner, file_name=export_name, data=fixture_bytes(fixture))
    for artifact in artifacts:
        ImportedOutput.objects.create(
            calculation=calculation, output_id=output_id, output_type=output_type, export_name=export_name, file_name=artifact.file_name, artifact=artifact
        )
    return artifacts


def calc2(owner, **fields) -> Calculation:
    fields = {"engine_url": ENGINE, "calc_id": 2, "engine_version": "3.26.2", "calculation_mode": "classical", "oqparam": {"hazard_imtls": IMTLS}, **fields}
    calculation = Calculation.objects.create(owner=owner, **fields)
    for output_id, output_type, fixture in CALC2:
        store(calculation, output_id, output_type, fixture)
    return calculation


def expected_files() -> dict[str, bytes]:
    files = {}
    for _output_id, output_type, fixture in CALC2:
        archive = zipfile.ZipFile(io.BytesIO(fixture_bytes(fixture)))
        files.update({f"{output_type}/{name}": archive.read(name) for name in archive.namelist()})
    return files


def walk(nodes, trail=()):
    """{path: (levels above the leaf, leaf)} of a tree."""
    leaves = {}
    for node in nodes:
        here = (*trail, (node["level"], node["name"]))
        for leaf in node["artifacts"]:
            assert leaf["path"] not in leaves
            leaves[leaf["path"]] = (list(here), leaf)
        leaves.update(walk(node["children"], here))
    return leaves


def export(client, calculation_id) -> zipfile.ZipFile:
    response = client.get(f"/calculations/{calculation_id}/export")
    assert response.status_code == 200, response.content
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


# --- the tree ----------------------------------------------------------------------------------


def test_the_tree_has_every_artifact_once_under_output_type_kind_and_imt_or_return_period(owner, owner_client):
    calculation = calc2(owner)
    detail = owner_client.get(f"/calculations/{calculation.pk}").json()
    # Today's fields stay.
    assert {"id", "url", "owner", "access", "engine_url", "calc_id", "description", "artifacts_url", "artifacts", "oqparam"} <= detail.keys()
    assert detail["export_url"].endswith(f"/calculations/{calculation.pk}/export")

    leaves = walk(detail["tree"])
    assert sorted(leaves) == sorted(expected_files())
    assert sorted(leaf["id"] for _trail, leaf in leaves.values()) == sorted(a["id"] for a in detail["artifacts"])
    assert [node["name"] for node in detail["tree"]] == ["hcurves", "hmaps", "hmaps-stats", "uhs"]
    assert {node["level"] for node in detail["tree"]} == {"output_type"}

    hcurves = detail["tree"][0]
    assert hcurves["artifacts"] == []
    assert [k["name"] for k in hcurves["children"]] == ["mean", "quantile-0.15", "quantile-0.85", "rlz-000", "rlz-001", "rlz-002"]
    assert {k["level"] for k in hcurves["children"]} == {"kind"}
    # IMTs in the job's order.
    assert [i["name"] for i in hcurves["children"][1]["children"]] == ["PGA", "SA(0.2)", "SA(1.0)"]
    trail, leaf = leaves["hcurves/quantile_curve-0.15-SA(0.2)_2.csv"]
    assert trail == [("output_type", "hcurves"), ("kind", "quantile-0.15"), ("imt", "SA(0.2)")]
    assert leaf["file_name"] == leaf["engine_file_name"] == "quantile_curve-0.15-SA(0.2)_2.csv" and leaf["export_name"] == "output-9-hcurves-csv.zip"
    assert leaf["output_id"] == 9 and leaf["artifact_type"] == "hazard_curve" and leaf["url"].endswith(f"/artifact/{leaf['id']}")
    assert owner_client.get(leaf["url"]).status_code == 200

    # Hazard maps: one file per kind, no third level; their statistics per return period.
    trail, _ = leaves["hmaps/hazard_map-rlz-001_2.csv"]
    assert trail == [("output_type", "hmaps"), ("kind", "rlz-001")]
    trail, _ = leaves["hmaps-stats/quantile_map-0.85-475y_2.csv"]
    assert trail == [("output_type", "hmaps-stats"), ("kind", "quantile-0.85"), ("return_period", "475y")]
    trail, _ = leaves["uhs/hazard_uhs-mean_2.csv"]
    assert trail == [("output_type", "uhs"), ("kind", "mean")]


def test_a_single_file_download_is_named_without_the_engines_output_prefix_and_files_with_no_kind_sit_under_their_type(owner, owner_client):
    calculation = Calculation.objects.create(owner=owner, engine_url=ENGINE, calc_id=2)
    [single] = store(calculation, 4, "hmaps-stats", "hazard_map-mean-475y_2.csv", export_name="output-4-hazard_map-mean-475y_2.csv")
    assert single.file_name == "output-4-hazard_map-mean-475y_2.csv"
    [bare] = store(calculation, 12, "realizations-like", "hazard_map-mean_2.csv", export_name="output-12-hazard_map-mean_2.csv")
    # A file whose metadata names no statistic (realizations, events, a raw file) has no kind level.
    bare.metadata = {key: value for key, value in bare.metadata.items() if key != "kind"}
    bare.save()

    detail = owner_client.get(f"/calculations/{calculation.pk}").json()
    leaves = walk(detail["tree"])
    assert sorted(leaves) == ["hmaps-stats/hazard_map-mean-475y_2.csv", "realizations-like/hazard_map-mean_2.csv"]
    trail, leaf = leaves["hmaps-stats/hazard_map-mean-475y_2.csv"]
    assert trail == [("output_type", "hmaps-stats"), ("kind", "mean"), ("return_period", "475y")]
    assert leaf["export_name"] == leaf["file_name"] == "output-4-hazard_map-mean-475y_2.csv"
    assert leaf["engine_file_name"] == "hazard_map-mean-475y_2.csv" and leaf["output_type"] == "hmaps-stats"
    assert detail["tree"][1]["artifacts"][0]["id"] == bare.pk and detail["tree"][1]["children"] == []

    archive = export(owner_client, calculation.pk)
    assert archive.namelist() == ["hmaps-stats/hazard_map-mean-475y_2.csv", "realizations-like/hazard_map-mean_2.csv"]
    assert archive.read("hmaps-stats/hazard_map-mean-475y_2.csv") == fixture_bytes("hazard_map-mean-475y_2.csv")


def test_without_job_parameters_imts_are_ordered_by_name(owner, owner_client):
    calculation = calc2(owner, oqparam=None)
    hcurves = owner_client.get(f"/calculations/{calculation.pk}").json()["tree"][0]
    assert [i["name"] for i in hcurves["children"][0]["children"]] == ["PGA", "SA(0.2)", "SA(1.0)"]


# --- the export zip ----------------------------------------------------------------------------


def test_the_export_zip_holds_every_stored_file_byte_for_byte_under_its_output_type(owner, owner_client):
    calculation = calc2(owner)
    response = owner_client.get(f"/calculations/{calculation.pk}/export")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="calc_2.zip"'
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    expected = expected_files()
    assert sorted(archive.namelist()) == sorted(expected)
    for path, data in expected.items():
        assert archive.read(path) == data, path
    assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive.infolist())
    # Regular files, readable once unzipped (a zero mode would make unzip create them unreadable).
    assert {info.external_attr >> 16 for info in archive.infolist()} == {0o100644}


def test_two_outputs_of_one_type_with_one_file_name_keep_both_files(owner, owner_client):
    calculation = Calculation.objects.create(owner=owner, engine_url=ENGINE, calc_id=2)
    store(calculation, 11, "hmaps-stats", "calc2_output-11-hmaps-stats-csv.zip")
    store(calculation, 4, "hmaps-stats", "hazard_map-mean-475y_2.csv", export_name="output-4-hazard_map-mean-475y_2.csv")
    archive = export(owner_client, calculation.pk)
    names = archive.namelist()
    assert len(names) == len(set(names)) == 4
    assert archive.read("hmaps-stats/output-11/hazard_map-mean-475y_2.csv") == zipfile.ZipFile(
        io.BytesIO(fixture_bytes("calc2_output-11-hmaps-stats-csv.zip"))
    ).read("hazard_map-mean-475y_2.csv")
    assert archive.read("hmaps-stats/hazard_map-mean-475y_2.csv") == fixture_bytes("hazard_map-mean-475y_2.csv")


def test_a_calculation_with_no_artifacts_exports_an_empty_zip(owner, owner_client):
    calculation = Calculation.objects.create(owner=owner, engine_url=ENGINE, calc_id=3)
    assert export(owner_client, calculation.pk).namelist() == []


def test_the_export_is_sent_from_one_snapshot_an_artifact_deleted_meanwhile_is_still_whole_in_it(owner, owner_client):
    calculation = calc2(owner)
    response = owner_client.get(f"/calculations/{calculation.pk}/export")
    chunks = iter(response.streaming_content)
    first = next(chunks)
    for row in ImportedOutput.objects.filter(calculation=calculation, output_type="uhs").select_related("artifact"):
        artifact_delete(artifact=row.artifact)
    archive = zipfile.ZipFile(io.BytesIO(first + b"".join(chunks)))
    assert sorted(archive.namelist()) == sorted(expected_files())
    assert archive.read("uhs/hazard_uhs-mean_2.csv") == expected_files()["uhs/hazard_uhs-mean_2.csv"]
    # The next export no longer has them.
    assert not [name for name in export(owner_client, calculation.pk).namelist() if name.startswith("uhs/")]


def test_only_readers_get_the_export(owner, owner_client, other_client, anon_client, grantee_client):
    calculation = calc2(owner)
    assert other_client.get(f"/calculations/{calculation.pk}/export").json() == {
        "detail": f"calculation {calculation.pk} not found", "code": "not_found"
    }
    assert other_client.get("/calculations/999999/export").status_code == 404
    missing = owner_client.get("/calculations/999999/export", HTTP_ACCEPT="application/zip")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert owner_client.get(f"/calculations/{calculation.pk}/export", HTTP_ACCEPT="application/zip").status_code == 200
    assert anon_client.get(f"/calculations/{calculation.pk}/export").status_code == 401
    assert grantee_client.get(f"/calculations/{calculation.pk}/export").status_code == 404
    assert owner_client.post(f"/calculations/{calculation.pk}/shares", {"user": "grantee"}, format="json").status_code == 201
    assert sorted(export(grantee_client, calculation.pk).namelist()) == sorted(expected_files())


# --- labels ------------------------------------------------------------------------------------


def patch(client, calculation_id, body):
    return client.patch(f"/calculations/{calculation_id}", body, format="json")


def test_the_owner_sets_labels_cleaned_and_deduplicated_in_their_order(owner, owner_client):
    calculation = calc2(owner, labels=["old"])
    response = patch(owner_client, calculation.pk, {"labels": ["  design ", "2026 review", "design", "Ünïcode ★", "2026 review"]})
    assert response.status_code == 200, response.json()
    assert response.json()["labels"] == ["design", "2026 review", "Ünïcode ★"]
    assert response.json()["tree"]  # the detail, as GET answers it
    calculation.refresh_from_db()
    assert calculation.labels == ["design", "2026 review", "Ünïcode ★"]
    assert owner_client.get("/calculations").json()["results"][0]["labels"] == ["design", "2026 review", "Ünïcode ★"]
    assert patch(owner_client, calculation.pk, {"labels": []}).json()["labels"] == []
    assert patch(owner_client, calculation.pk, {"labels": ["x" * 64] * 40}).json()["labels"] == ["x" * 64]


@pytest.mark.parametrize(
    "body, message",
    [
        ({"labels": "design"}, "labels must be a list of strings"),
        ({"labels": None}, "labels must be a list of strings"),
        ({"labels": [1]}, "labels[0] must be a string"),
        ({"labels": ["ok", ["nested"]]}, "labels[1] must be a string"),
        ({"labels": ["ok", "  "]}, "labels[1] is empty"),
        ({"labels": ["x" * 65]}, "labels[0] has 65 characters; a label has at most 64"),
        ({"labels": ["a\nb"]}, "labels[0] contains the control character U+000A"),
        ({"labels": ["a\x00b"]}, "labels[0] contains the control character U+0000"),
        ({"labels": ["a\u2028b"]}, "labels[0] contains the control character U+2028"),
        ({"labels": [f"l{i}" for i in range(33)]}, "a calculation has at most 32 labels; got 33"),
        ({"labels": ["ok"], "description": "x"}, "send a JSON object with labels only"),
        ({}, "send a JSON object with labels only"),
        (["ok"], "send a JSON object with labels only"),
    ],
)
def test_bad_labels_are_a_400_naming_the_problem_and_change_nothing(owner, owner_client, body, message):
    calculation = calc2(owner, labels=["kept"])
    response = patch(owner_client, calculation.pk, body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter"
    assert response.json()["detail"].startswith(message), response.json()
    calculation.refresh_from_db()
    assert calculation.labels == ["kept"]


def test_a_lone_surrogate_in_json_is_a_400_not_a_database_error(owner, owner_client):
    calculation = calc2(owner)
    response = owner_client.generic("PATCH", f"/calculations/{calculation.pk}", b'{"labels": ["a\\ud800b"]}', content_type="application/json")
    assert response.status_code == 400
    assert "U+D800" in response.json()["detail"]


def test_only_the_owner_sets_labels(owner, owner_client, other_client, anon_client, grantee_client):
    calculation = calc2(owner, labels=["kept"])
    assert patch(other_client, calculation.pk, {"labels": ["x"]}).status_code == 404
    assert patch(other_client, 999999, {"labels": ["x"]}).status_code == 404
    assert patch(anon_client, calculation.pk, {"labels": ["x"]}).status_code == 401
    assert patch(grantee_client, calculation.pk, {"labels": ["x"]}).status_code == 404
    assert owner_client.post(f"/calculations/{calculation.pk}/shares", {"user": "grantee"}, format="json").status_code == 201
    response = patch(grantee_client, calculation.pk, {"labels": ["x"]})
    assert response.status_code == 403 and response.json()["code"] == "read_only"
    # A grantee sees the owner's labels.
    assert grantee_client.get(f"/calculations/{calculation.pk}").json()["labels"] == ["kept"]
    calculation.refresh_from_db()
    assert calculation.labels == ["kept"]
    assert owner_client.patch(f"/calculations/{calculation.pk}", "labels=x", content_type="application/x-www-form-urlencoded").status_code == 415


# --- the list and its filters ------------------------------------------------------------------


def ids(client, query=None) -> list[int]:
    response = client.get("/calculations", query or {})
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["results"]]


def test_the_list_filters_by_mode_engine_label_and_description_text(owner, owner_client, other_user, other_client):
    classical = Calculation.objects.create(
        owner=owner, engine_url=ENGINE, calc_id=1, engine_version="3.26.2", calculation_mode="classical",
        description="Vancouver Schools, 3 sites", labels=["design", "review"],
    )
    scenario = Calculation.objects.create(
        owner=owner, engine_url="https://oq.example.org", calc_id=6, engine_version="3.23.1", calculation_mode="scenario",
        description="Puebla 100% scenario_case", labels=["review"],
    )
    others = Calculation.objects.create(owner=other_user, engine_url=ENGINE, calc_id=1, engine_version="3.26.2", calculation_mode="classical", labels=["design"])

    assert sorted(ids(owner_client)) == sorted([classical.pk, scenario.pk])
    assert ids(owner_client, {"mode": "classical"}) == [classical.pk]
    assert ids(owner_client, {"mode": "event_based"}) == []
    assert ids(owner_client, {"engine": ENGINE}) == [classical.pk]
    assert ids(owner_client, {"engine": "https://oq.example.org/"}) == [scenario.pk]
    assert ids(owner_client, {"engine": "3.23.1"}) == [scenario.pk]
    assert ids(owner_client, {"label": "design"}) == [classical.pk]
    assert sorted(ids(owner_client, {"label": "review"})) == sorted([classical.pk, scenario.pk])
    assert ids(owner_client, {"label": ["review", "design"]}) == [classical.pk]
    assert ids(owner_client, {"label": "Design"}) == []  # labels match exactly
    assert ids(owner_client, {"q": "vancouver"}) == [classical.pk]
    assert ids(owner_client, {"q": "100%"}) == [scenario.pk]  # % and _ are text, not patterns
    assert ids(owner_client, {"q": "s,_3"}) == []
    assert ids(owner_client, {"q": "Van%Schools"}) == []
    assert ids(owner_client, {"q": "scenario_c"}) == [scenario.pk]
    assert ids(owner_client, {"mode": "classical", "label": "review", "q": "schools", "engine": "3.26.2"}) == [classical.pk]
    assert ids(owner_client, {"mode": "classical", "label": "review", "engine": "3.23.1"}) == []

    # Another user's calc is never listed; shared, it is, and filters apply to it too.
    assert ids(other_client, {"label": "review"}) == []
    assert owner_client.post(f"/calculations/{scenario.pk}/shares", {"user": "other"}, format="json").status_code == 201
    assert ids(other_client, {"label": "review"}) == [scenario.pk]
    assert sorted(ids(other_client, {"label": "design"})) == [others.pk]
    assert ids(other_client, {"label": "review", "shared": "false"}) == []


@pytest.mark.parametrize(
    "query, message",
    [
        ("mode=", "mode is empty"),
        ("q=%20", "q is empty"),
        ("label=a%00b", "label contains a NUL character"),
        ("engine=" + "x" * 256, "engine is 256 characters long"),
        ("label=" + "x" * 65, "label is 65 characters long"),
        ("mode=classical&mode=scenario", "give mode once"),
        ("shared=maybe", "shared must be true"),
    ],
)
def test_bad_filters_are_a_400(owner_client, query, message):
    response = owner_client.get(f"/calculations?{query}")
    assert response.status_code == 400
    assert response.json()["detail"].startswith(message), response.json()


def test_the_filtered_list_is_paged(owner, owner_client):
    Calculation.objects.bulk_create(
        [Calculation(owner=owner, engine_url=ENGINE, calc_id=calc_id, labels=["batch"] if calc_id % 2 else []) for calc_id in range(1, 104)]
    )
    first = owner_client.get("/calculations", {"label": "batch"}).json()
    assert first["count"] == 52 and len(first["results"]) == 50
    second = owner_client.get(first["next"]).json()
    assert len(second["results"]) == 2 and second["next"] is None
    assert "label=batch" in first["next"]
