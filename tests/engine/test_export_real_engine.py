"""A calculation's tree, export zip and labels against a REAL OpenQuake Engine 3.26.2.

The package's own classical/case_18 job (mean only, 3 realizations, one poe): its hazard map
statistics are the engine's one single-file export here (`output-N-hazard_map-mean-475y_N.csv`),
so both shapes of download are covered. The calc is tagged on the engine before the import.
"""

import hashlib
import io
import zipfile

import pytest
import requests

from engine import runs, services
from engine.servers import parse_engine_servers
from tests import engine_harness as eh

pytestmark = pytest.mark.engine

# One tag of the calc is also set as the tag's preferred job: the engine lists it as "shared-run★".
TAGS = ("icebox-tree", "shared-run")


@pytest.fixture(scope="module")
def oq_datadir(tmp_path_factory):
    return eh.prepare_datadir(tmp_path_factory.mktemp("oq-export"))


@pytest.fixture(scope="module")
def oq_calc(oq_datadir):
    return eh.run_calc(oq_datadir, eh.job("classical_case_18", "job.ini"))


@pytest.fixture(scope="module")
def oq_server(oq_datadir, oq_calc):
    with eh.EngineServer(oq_datadir) as server:
        for tag in TAGS:
            requests.get(f"{server.url}/v1/calc/{oq_calc}/add_tag/{tag}", timeout=30).raise_for_status()
        requests.get(f"{server.url}/v1/calc/{oq_calc}/set_preferred_job_for_tag/shared-run", timeout=30).raise_for_status()
        yield server


def engine_export_files(url: str, calc_id: int, output_types: set[str]) -> dict[str, bytes]:
    """The engine's own exports of the calc's outputs of these types, fetched directly here, in the
    export zip's layout: {"<output type>/<file>": bytes}. A zip download gives its members; a single
    file is named by the engine's Content-Disposition without its `output-<id>-` prefix."""
    files = {}
    for output in requests.get(f"{url}/v1/calc/{calc_id}/results", timeout=60).json():
        if output["type"] not in output_types:
            continue
        export_type = "csv" if "csv" in output["outtypes"] else output["outtypes"][0]
        response = requests.get(f"{url}/v1/calc/result/{output['id']}", params={"export_type": export_type}, timeout=120)
        response.raise_for_status()
        if response.content[:4] == b"PK\x03\x04":
            archive = zipfile.ZipFile(io.BytesIO(response.content))
            files.update({f"{output['type']}/{name}": archive.read(name) for name in archive.namelist()})
        else:
            disposition = response.headers["Content-Disposition"].split("filename=")[1].strip('"')
            prefix = f"output-{output['id']}-"
            assert disposition.startswith(prefix), disposition
            files[f"{output['type']}/{disposition.removeprefix(prefix)}"] = response.content
    return files


@pytest.mark.django_db
def test_the_export_zip_holds_the_engines_files_byte_for_byte_and_the_tree_names_them(
    oq_server, oq_calc, owner, owner_client, grantee_client, other_client, anon_client, settings
):
    settings.ICEBOX_ENGINE_SERVERS = parse_engine_servers(oq_server.url)
    job = runs.import_job_run(job_id=services.import_request(requested_by=owner, engine_url=oq_server.url, calc_id=oq_calc, enqueue=False).pk)
    assert job.status == "done", job.error
    calc_id = job.calculation_id

    detail = owner_client.get(f"/calculations/{calc_id}").json()
    # The engine's tags are the calc's labels, without the star of the preferred job.
    assert sorted(detail["labels"]) == sorted(TAGS) and not any("\u2605" in label for label in detail["labels"])
    assert [c["id"] for c in owner_client.get("/calculations", {"label": "shared-run"}).json()["results"]] == [calc_id]

    stored_types = {a["output_type"] for a in detail["artifacts"]}
    expected = engine_export_files(oq_server.url, oq_calc, stored_types)
    assert len(expected) == len(detail["artifacts"]) > 0

    response = owner_client.get(f"/calculations/{calc_id}/export")
    assert response.status_code == 200
    assert response.streaming and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="calc_{oq_calc}.zip"'
    chunks = list(response.streaming_content)
    assert len(chunks) > 1  # written and sent as it goes, not built whole first
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert archive.testzip() is None
    assert sorted(archive.namelist()) == sorted(expected)
    for path, data in expected.items():
        got = archive.read(path)
        assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest(), path

    # The single-file download is in the zip under the engine's own file name.
    [single] = [p for p in expected if p.startswith("hmaps-stats/")]
    assert single == f"hmaps-stats/hazard_map-mean-475y_{oq_calc}.csv"

    # Every leaf of the tree is a stored artifact at its path in the zip; the levels are the engine's.
    leaves = {}

    def walk(node, trail):
        trail = trail + [(node["level"], node["name"])]
        for leaf in node["artifacts"]:
            leaves[leaf["path"]] = (trail, leaf)
        for child in node["children"]:
            walk(child, trail)

    for node in detail["tree"]:
        walk(node, [])
    assert sorted(leaves) == sorted(expected)
    # An import keeps every output: the tree's output types are the engine's, in its order (by output id).
    listed = sorted(requests.get(f"{oq_server.url}/v1/calc/{oq_calc}/results", timeout=60).json(), key=lambda o: o["id"])
    assert [n["name"] for n in detail["tree"]] == [o["type"] for o in listed]
    assert {"hcurves", "hmaps", "hmaps-stats", "uhs", "fullreport"} <= stored_types
    trail, leaf = leaves[f"hcurves/hazard_curve-rlz-001-SA(0.2)_{oq_calc}.csv"]
    assert trail == [("output_type", "hcurves"), ("kind", "rlz-001"), ("imt", "SA(0.2)")]
    assert leaf["engine_file_name"] == leaf["file_name"] == f"hazard_curve-rlz-001-SA(0.2)_{oq_calc}.csv" and leaf["export_name"].endswith("-hcurves-csv.zip")
    raw = b"".join(owner_client.get(f"/artifact/{leaf['id']}/raw").streaming_content)
    assert raw == expected[leaf["path"]]
    trail, leaf = leaves[single]
    assert trail == [("output_type", "hmaps-stats"), ("kind", "mean"), ("return_period", "475y")]
    assert leaf["export_name"] == leaf["file_name"] == f"output-{leaf['output_id']}-hazard_map-mean-475y_{oq_calc}.csv"
    assert leaf["engine_file_name"] == f"hazard_map-mean-475y_{oq_calc}.csv"
    [hcurves] = [n for n in detail["tree"] if n["name"] == "hcurves"]
    assert [k["name"] for k in hcurves["children"]] == ["mean", "rlz-000", "rlz-001", "rlz-002"]
    assert [i["name"] for i in hcurves["children"][0]["children"]] == ["PGA", "SA(0.2)", "SA(1.0)"]

    # Only readers get the zip.
    assert other_client.get(f"/calculations/{calc_id}/export").status_code == 404
    assert anon_client.get(f"/calculations/{calc_id}/export").status_code == 401
    assert owner_client.post(f"/calculations/{calc_id}/shares", {"user": "grantee"}, format="json").status_code == 201
    shared = grantee_client.get(f"/calculations/{calc_id}/export")
    assert shared.status_code == 200 and b"".join(shared.streaming_content) == b"".join(chunks)

    # The owner drops one engine tag and adds a label; the engine gains a tag: importing again adds
    # only the new tag, and brings back neither the dropped one nor takes the owner's away.
    assert owner_client.patch(f"/calculations/{calc_id}", {"labels": ["mine", "shared-run"]}, format="json").status_code == 200
    requests.get(f"{oq_server.url}/v1/calc/{oq_calc}/add_tag/later", timeout=30).raise_for_status()
    again = runs.import_job_run(job_id=services.import_request(requested_by=owner, engine_url=oq_server.url, calc_id=oq_calc, enqueue=False).pk)
    assert again.status == "done", again.error
    assert owner_client.get(f"/calculations/{calc_id}").json()["labels"] == ["mine", "shared-run", "later"]
