"""Every output of real calcs of four kinds (scenario, scenario_damage, classical_risk, event_based),
imported from a REAL OpenQuake Engine 3.26.2 and compared byte for byte with the engine's own exports.

The jobs are the engine package's own (qa_tests_data), run once for the module in one data dir.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections import defaultdict

import pytest
import requests

from engine import runs, services
from engine.models import ImportedOutput
from engine.servers import parse_engine_servers
from tests import engine_harness as eh

pytestmark = pytest.mark.engine

# calculation mode -> the package's job folder and file: the smallest jobs giving these outputs.
CALCS = {
    "scenario": ("scenario/case_1", "job.ini"),  # avg_gmf, events, gmf_data
    "scenario_damage": ("scenario_damage/case_1", "job_risk.ini"),  # damages-rlzs, exposure zip, aggrisk, risk_by_event
    "classical_risk": ("classical_risk/case_1", "job.ini"),  # avg_losses-stats, loss_curves-stats
    "event_based": ("event_based/case_1", "job.ini"),  # gmf_data, ruptures, event_based_mfd, hcurves
}


@pytest.fixture(scope="module")
def oq(tmp_path_factory):
    datadir = eh.prepare_datadir(tmp_path_factory.mktemp("oq-outputs"))
    calcs = {mode: eh.run_calc(datadir, eh.package_job(folder, ini)) for mode, (folder, ini) in CALCS.items()}
    with eh.EngineServer(datadir) as server:
        yield server, calcs


def engine_files(url: str, output: dict) -> dict[str, bytes]:
    """The engine's own export of one output, fetched directly: {file name: bytes}, a zip member by member."""
    export_type = "csv" if "csv" in output["outtypes"] else output["outtypes"][0]
    response = requests.get(f"{url}/v1/calc/result/{output['id']}", params={"export_type": export_type}, timeout=300)
    response.raise_for_status()
    name = response.headers["Content-Disposition"].split("filename=")[1].strip('"')
    if not name.endswith(".zip"):
        return {name: response.content}
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        return {info.filename.rsplit("/", 1)[-1]: archive.read(info) for info in members}


def raw_bytes(client, artifact_id: int) -> bytes:
    response = client.get(f"/artifact/{artifact_id}/raw")
    assert response.status_code == 200
    return b"".join(response.streaming_content) if response.streaming else response.content


def run(owner, url: str, calc_id: int, **kwargs):
    job = services.import_request(requested_by=owner, engine_url=url, calc_id=calc_id, enqueue=False, **kwargs)
    return runs.import_job_run(job_id=job.pk)


@pytest.mark.django_db
@pytest.mark.parametrize("mode", CALCS)
def test_an_import_stores_every_output_of_the_calc_byte_for_byte(oq, mode, owner, owner_client, settings):
    server, calcs = oq
    settings.ICEBOX_ENGINE_SERVERS = parse_engine_servers(server.url)
    calc_id = calcs[mode]
    outputs = requests.get(f"{server.url}/v1/calc/{calc_id}/results", timeout=60).json()

    job = run(owner, server.url, calc_id)

    assert job.status == "done", job.error
    assert job.calculation.calculation_mode == mode
    # Every output the engine lists is stored, or listed as skipped with a reason (none of these is).
    skipped = {entry["output_id"]: entry["reason"] for entry in job.skipped}
    assert all(reason for reason in skipped.values())
    stored = defaultdict(dict)
    for row in ImportedOutput.objects.filter(calculation=job.calculation).select_related("artifact"):
        stored[row.output_id][row.file_name] = row.artifact
    assert sorted([*stored, *skipped]) == sorted(output["id"] for output in outputs)
    assert skipped == {}

    checked = 0
    for output in outputs:
        files = engine_files(server.url, output)
        assert stored[output["id"]].keys() == files.keys(), output["type"]
        for name, data in files.items():
            artifact = stored[output["id"]][name]
            assert hashlib.sha256(raw_bytes(owner_client, artifact.pk)).hexdigest() == hashlib.sha256(data).hexdigest() == artifact.sha256, \
                (output["type"], name)
            assert artifact.metadata["source"]["output_type"] == output["type"]
            checked += 1
    assert checked >= len(outputs) and job.artifacts.count() == checked


@pytest.mark.django_db
def test_the_datastore_asked_for_is_the_engines_byte_for_byte(oq, owner, owner_client, settings):
    server, calcs = oq
    settings.ICEBOX_ENGINE_SERVERS = parse_engine_servers(server.url)
    calc_id = calcs["classical_risk"]

    job = run(owner, server.url, calc_id, datastore=True)

    assert job.status == "done", job.error
    artifact = ImportedOutput.objects.get(calculation=job.calculation, output_type="datastore").artifact
    direct = requests.get(f"{server.url}/v1/calc/{calc_id}/datastore", timeout=300)
    direct.raise_for_status()
    assert (artifact.artifact_type, artifact.file_name, artifact.content_type) == ("file", f"calc_{calc_id}.hdf5", "application/x-hdf5")
    assert raw_bytes(owner_client, artifact.pk) == direct.content and direct.content[:8] == b"\x89HDF\r\n\x1a\n"


# The spatial kinds' artifacts of these imports, feature by feature against the engine's own files
# read with the csv module: kind -> the columns of the point (None: the site mesh places it).
SPATIAL = {"gmf": None, "site_mesh": ("lon", "lat"), "avg_gmf": ("lon", "lat"), "site_model": ("lon", "lat"),
           "ruptures": ("centroid_lon", "centroid_lat"), "exposure": ("lon", "lat"), "avg_losses": ("lon", "lat"),
           "damages": ("lon", "lat"), "loss_maps": ("lon", "lat")}


def csv_rows(data: bytes) -> list[dict]:
    rows = [row for row in csv.reader(io.StringIO(data.decode())) if row]
    if rows[0][0] == "#":
        rows = rows[1:]
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def cell_value(served, cell: str):
    """What a served property must be for the file's cell: the text itself, or the number it writes."""
    if isinstance(served, str):
        return cell
    if isinstance(served, int) and not isinstance(served, bool):
        return int(cell)
    return float(cell)


@pytest.mark.django_db
@pytest.mark.parametrize("mode", CALCS)
def test_every_spatial_feature_is_the_engines_row(oq, mode, owner, owner_client, settings):
    server, calcs = oq
    settings.ICEBOX_ENGINE_SERVERS = parse_engine_servers(server.url)
    job = run(owner, server.url, calcs[mode])
    assert job.status == "done", job.error
    files = {}
    for output in requests.get(f"{server.url}/v1/calc/{calcs[mode]}/results", timeout=60).json():
        files.update(engine_files(server.url, output))
    spatial = [a for a in job.artifacts.all() if a.artifact_type in SPATIAL]
    assert spatial, f"the {mode} calc has spatial outputs"
    for artifact in spatial:
        name = artifact.file_name
        rows = csv_rows(files[name])
        coordinates = SPATIAL[artifact.artifact_type]
        if coordinates is None:
            mesh = {row.get("custom_site_id", row.get("site_id")): row for row in csv_rows(files[f"sitemesh_{calcs[mode]}.csv"])}
        response = owner_client.get(f"/artifact/{artifact.pk}")
        features = json.loads(b"".join(response.streaming_content))["features"]
        assert len(features) == len(rows) == artifact.feature_count, name
        for feature, row in zip(features, rows):
            if coordinates is None:
                site = mesh[row.get("custom_site_id", row.get("site_id"))]
                point = [float(site["lon"]), float(site["lat"])]
            else:
                point = [float(row.pop(coordinates[0])), float(row.pop(coordinates[1]))]
            assert feature["geometry"]["coordinates"] == point, name
            assert feature["properties"].keys() == row.keys(), name
            for column, cell in row.items():
                assert feature["properties"][column] == cell_value(feature["properties"][column], cell), (name, column)
