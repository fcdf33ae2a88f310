"""Imports from a REAL OpenQuake Engine 3.26.2 (installed and cached by tests/engine_harness.py).

One data dir and one calc (job_icebox.ini: 3 sites, 3 IMTs, 3 realizations, mean, quantiles
0.15/0.85) for the module; PUBLIC and RESTRICTED servers on 127.0.0.1.
"""

import csv
import io
import json
import zipfile

import pytest
import requests

from engine import client as engine_client
from engine import runs, services
from engine.servers import parse_engine_servers
from icebox.models import Artifact
from tests import engine_harness as eh
from tests.engine.conftest import NOTHING, stored_counts, transactional
from tests.engine.worker import Worker, wait_for

pytestmark = pytest.mark.engine

PARSED = ("hcurves", "hmaps", "hmaps-stats", "uhs")
# 6 kinds (3 rlzs, mean, 2 quantiles) x 3 IMTs of curves; 6 maps; 3 map statistics; 6 spectra;
# the site model (its kind); and kept raw: the full report, the realizations.
EXPECTED = 18 + 6 + 3 + 6 + 3
OUTPUTS = 7
ADMIN_PASSWORD = "Icebox-admin-pw-1"
ALICE_PASSWORD = "Icebox-alice-pw-1"


@pytest.fixture(scope="module")
def oq_datadir(tmp_path_factory):
    return eh.prepare_datadir(tmp_path_factory.mktemp("oq-import"))


@pytest.fixture(scope="module")
def oq_calc(oq_datadir):
    return eh.run_calc(oq_datadir, eh.job("classical_case_18", "job_icebox.ini"))


@pytest.fixture(scope="module")
def oq_server(oq_datadir, oq_calc):
    with eh.EngineServer(oq_datadir) as server:
        yield server


def engine_exports(url: str, calc_id: int, *, parsed: bool) -> dict[str, bytes]:
    """The engine's own exports (CSV where offered) of the parsed outputs or of the others, fetched directly: {file name: bytes}."""
    files = {}
    for output in requests.get(f"{url}/v1/calc/{calc_id}/results", timeout=60).json():
        if (output["type"] in PARSED) != parsed:
            continue
        export_type = "csv" if "csv" in output["outtypes"] else output["outtypes"][0]
        response = requests.get(f"{url}/v1/calc/result/{output['id']}", params={"export_type": export_type}, timeout=120)
        response.raise_for_status()
        if response.content[:4] == b"PK\x03\x04":
            archive = zipfile.ZipFile(io.BytesIO(response.content))
            files.update({name: archive.read(name) for name in archive.namelist()})
        else:
            files[response.headers["Content-Disposition"].split("filename=")[1].strip('"')] = response.content
    return files


def check_every_value(client, artifact: dict, data: bytes) -> int:
    """Every feature of the artifact, as Icebox serves it, against every cell of the engine's CSV."""
    rows = list(csv.reader(io.StringIO(data.decode())))
    header, body = rows[1], rows[2:]
    assert rows[0][0] == "#"
    raw = client.get(f"/artifact/{artifact['id']}/raw")
    assert b"".join(raw.streaming_content) == data  # byte for byte
    response = client.get(f"/artifact/{artifact['id']}")
    features = json.loads(b"".join(response.streaming_content))["features"]
    assert len(features) == len(body) == artifact["feature_count"]
    checked = 0
    for feature, row in zip(features, body):
        cells = dict(zip(header, row))
        lon, lat = feature["geometry"]["coordinates"]
        assert (lon, lat) == (float(cells.pop("lon")), float(cells.pop("lat")))
        assert feature["properties"].keys() == cells.keys()
        for name, text in cells.items():
            assert feature["properties"][name] == float(text), (artifact["file_name"], name)
            checked += 1
    return checked


@transactional
def test_import_through_the_api_and_a_real_worker_matches_the_engine_export(oq_server, oq_calc, owner_client, settings, tmp_path):
    settings.ICEBOX_ENGINE_SERVERS = parse_engine_servers(oq_server.url)
    response = owner_client.post("/artifacts/import", {"engine_url": oq_server.url, "calc_id": oq_calc}, format="json")
    assert response.status_code == 202, response.json()
    job_url = response.json()["url"]
    with Worker(oq_server.url, tmp_path) as worker:
        job = wait_for(
            lambda: (body := owner_client.get(job_url).json())["status"] in ("done", "failed") and body,
            timeout=180, what="the import", worker=worker,
        )
    assert job["status"] == "done", job["error"]
    assert job["progress"]["outputs_done"] == job["progress"]["outputs_total"] == OUTPUTS
    assert job["skipped"] == []

    exports = engine_exports(oq_server.url, oq_calc, parsed=True)
    kept = engine_exports(oq_server.url, oq_calc, parsed=False)
    artifacts = owner_client.get("/artifacts", {"calculation": job["calculation"], "page_size": 100}).json()
    assert artifacts["count"] == len(exports) + len(kept) == EXPECTED
    by_name = {a["file_name"]: a for a in artifacts["results"]}
    while len(by_name) < EXPECTED and artifacts["next"]:  # paginated
        artifacts = owner_client.get(artifacts["next"]).json()
        by_name.update({a["file_name"]: a for a in artifacts["results"]})
    assert by_name.keys() == exports.keys() | kept.keys()
    checked = sum(check_every_value(owner_client, by_name[name], data) for name, data in exports.items())
    assert checked > 0
    for name, data in kept.items():  # the report kept as the engine sent it; the site model and realizations read by their kinds
        if "-site_model_" in name:  # output-<id>-site_model_<calc>.csv
            assert (by_name[name]["artifact_type"], by_name[name]["feature_count"]) == ("site_model", 3)
        elif "-realizations_" in name:  # a table: one row per realization (3 here), as the file has them
            data_rows = [row for row in csv.reader(io.StringIO(data.decode())) if row and row[0] != "#"][1:]
            assert len(data_rows) == 3
            assert (by_name[name]["artifact_type"], by_name[name]["feature_count"]) == ("table", len(data_rows))
        else:
            assert by_name[name]["artifact_type"] == "file" and by_name[name]["feature_count"] == 0
        raw = owner_client.get(f"/artifact/{by_name[name]['id']}/raw")
        assert (b"".join(raw.streaming_content) if raw.streaming else raw.content) == data

    source = by_name[f"hazard_map-mean_{oq_calc}.csv"]["metadata"]["source"]
    assert source["engine_url"] == oq_server.url and source["engine_version"] == eh.ENGINE_VERSION
    assert source["calc_id"] == oq_calc and source["output_type"] == "hmaps" and source["calculation_mode"] == "classical"
    assert source["description"].startswith("Vancouver Schools") and source["start_time"] < source["stop_time"]
    assert source["job_parameters"]["quantiles"] == [0.15, 0.85]
    calculation = owner_client.get(job["calculation_url"]).json()
    assert calculation["oqparam"]["hazard_imtls"]["PGA"][0] == pytest.approx(0.00101972)


def run(owner, url, calc_id):
    job = services.import_request(requested_by=owner, engine_url=url, calc_id=calc_id, enqueue=False)
    return runs.import_job_run(job_id=job.pk)


@pytest.mark.django_db
def test_a_restricted_engine_is_read_after_a_login(oq_datadir, oq_calc, owner, settings):
    users = {"admin": ADMIN_PASSWORD, "alice": ALICE_PASSWORD}
    with eh.EngineServer(oq_datadir, restricted=True, users=users) as server:
        host = server.url.removeprefix("http://")

        settings.ICEBOX_ENGINE_SERVERS = parse_engine_servers(f"http://admin:wrong-password@{host}")
        job = run(owner, server.url, oq_calc)
        assert job.status == "failed"
        assert job.error.startswith(f"engine at {server.url} refused the login for user 'admin'")
        assert "wrong-password" not in job.error

        settings.ICEBOX_ENGINE_SERVERS = parse_engine_servers(f"http://alice:{ALICE_PASSWORD}@{host}")
        job = run(owner, server.url, oq_calc)
        # the engine hides another engine user's calc behind a 404
        assert job.status == "failed" and f"answered 404 for calc {oq_calc}: no such calculation visible to user 'alice'" in job.error

        settings.ICEBOX_ENGINE_SERVERS = parse_engine_servers(server.url)
        job = run(owner, server.url, oq_calc)
        assert job.status == "failed" and "it wants a login" in job.error
        assert stored_counts() == NOTHING

        settings.ICEBOX_ENGINE_SERVERS = parse_engine_servers(f"http://admin:{ADMIN_PASSWORD}@{host}")
        job = run(owner, server.url, oq_calc)
        assert job.status == "done", job.error
        assert job.artifacts.count() == EXPECTED
        assert ADMIN_PASSWORD not in json.dumps(list(Artifact.objects.values_list("metadata", flat=True)))
        assert "@" not in job.engine_url


@pytest.mark.django_db
def test_an_engine_killed_mid_import_leaves_nothing_and_a_retry_works(oq_datadir, oq_calc, owner, settings, monkeypatch):
    server = eh.EngineServer(oq_datadir).start()
    try:
        settings.ICEBOX_ENGINE_SERVERS = parse_engine_servers(server.url)
        original = engine_client.EngineClient.download
        calls = []

        def download_then_kill(self, **kwargs):
            result = original(self, **kwargs)
            calls.append(kwargs["output_id"])
            if len(calls) == 2:
                server.kill()  # the engine dies after two outputs were fetched
            return result

        monkeypatch.setattr(engine_client.EngineClient, "download", download_then_kill)
        job = run(owner, server.url, oq_calc)
        assert job.status == "failed"
        assert job.error.startswith(f"engine at {server.url} cannot be reached"), job.error
        assert job.outputs_done == 2 and job.outputs_total == OUTPUTS
        assert stored_counts() == NOTHING

        # The engine comes back on the same address: the same import now succeeds.
        port = server.port
        monkeypatch.setattr(engine_client.EngineClient, "download", original)
        monkeypatch.setattr(eh, "_free_port", lambda: port)
        server = eh.EngineServer(oq_datadir).start()
        assert server.port == port
        job = run(owner, server.url, oq_calc)
        assert job.status == "done", job.error
        assert stored_counts()["artifacts"] == EXPECTED
    finally:
        server.stop()
