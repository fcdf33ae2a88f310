"""Tables without coordinates served as rows (/artifact/<id>/rows) and joined to their assets (?join=assets).

Real engine exports (fixtures/tables/), expectations from the csv module on the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from django.db import connection

from engine.models import Calculation, ImportedOutput
from icebox.models import Artifact
from sharing import services as sharing
from tests.conftest import FIXTURES
from tests.maps_support import body
from tests.support import upload

pytestmark = pytest.mark.django_db

TABLES = FIXTURES / "tables"
RISK_BY_EVENT = TABLES / "event_based_risk_case_01" / "output-23-risk_by_event_3.csv"
EVENTS = TABLES / "event_based_risk_case_01" / "output-19-events_3.csv"
CURVES = TABLES / "classical_risk_case_3" / "output-5-loss_curves-mean_1.csv"
EXPOSURE = TABLES / "classical_risk_case_3" / "output-2-exposure-zip.zip"
OTHER_CURVES = TABLES / "classical_risk_case_1" / "output-11-loss_curves-mean_2.csv"
TYPES = {
    "risk_by_event": {"event_id": int, "loss": float, "loss_type": str, "rup_id": int, "year": int},
    "loss_curves": {"asset_id": str, "loss_type": str, "loss_value": float, "loss_ratio": float, "poe": float},
    "events": {"event_id": int, "rup_id": int, "rlz_id": int, "year": int, "ses_id": int},
}


def csv_rows(data: bytes, types: dict) -> list[dict]:
    lines = data.decode().splitlines()
    reader = csv.DictReader(lines[1:] if lines[0].startswith("#") else lines)
    return [{name: types[name](value) for name, value in row.items()} for row in reader]


def upload_one(client, path, name=None):
    response = upload(client, name or path.name, path.read_bytes())
    assert response.status_code == 201, response.content
    [artifact] = response.json()["artifacts"]
    return artifact


def rows_of(client, url) -> dict:
    response = client.get(url)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()


def test_rows_are_the_files_with_ints_as_ints(owner_client):
    artifact = upload_one(owner_client, RISK_BY_EVENT)
    assert artifact["artifact_type"] == "table"
    page = rows_of(owner_client, f"/artifact/{artifact['id']}/rows")
    want = csv_rows(RISK_BY_EVENT.read_bytes(), TYPES["risk_by_event"])
    assert page["rows"] == want
    for got in page["rows"]:
        assert all(type(got[name]) is kind for name, kind in TYPES["risk_by_event"].items())
    assert page["columns"] == [{"name": name, "dtype": {int: "int", float: "float", str: "text"}[kind]} for name, kind in TYPES["risk_by_event"].items()]
    assert page["filterable"] == ["event_id", "loss_type", "rup_id", "year"]
    assert (page["count"], page["next"], page["limit"], page["offset"], page["filters"]) == (len(want), None, 1000, 0, {})


def test_rows_filtered_by_equality_and_paged(owner_client):
    artifact = upload_one(owner_client, RISK_BY_EVENT)
    want = csv_rows(RISK_BY_EVENT.read_bytes(), TYPES["risk_by_event"])
    event = want[0]["event_id"]
    page = rows_of(owner_client, f"/artifact/{artifact['id']}/rows?event_id={event}")
    assert page["rows"] == [row for row in want if row["event_id"] == event]
    assert page["filters"] == {"event_id": event} and page["count"] == len(page["rows"])
    page = rows_of(owner_client, f"/artifact/{artifact['id']}/rows?loss_type=structural&year={want[1]['year']}")
    assert page["rows"] == [row for row in want if row["loss_type"] == "structural" and row["year"] == want[1]["year"]]
    # Pages in file order, followed by next, make the whole filtered table.
    seen, url, counts = [], f"/artifact/{artifact['id']}/rows?loss_type=nonstructural&limit=4", []
    while url:
        page = rows_of(owner_client, url)
        seen += page["rows"]
        counts.append(page["count"])
        url = page["next"]
    nonstructural = [row for row in want if row["loss_type"] == "nonstructural"]
    assert seen == nonstructural and len(counts) > 2
    assert counts[:-1] == [None] * (len(counts) - 1) and counts[-1] == len(nonstructural)
    assert rows_of(owner_client, f"/artifact/{artifact['id']}/rows?event_id=999999")["rows"] == []


def test_a_partition_of_its_own_indexes_the_filterable_columns_the_file_has(owner_client, settings):
    settings.ICEBOX_SHARED_PARTITION_MAX_ROWS = 0  # this small file gets a partition of its own
    artifact = upload_one(owner_client, EVENTS)
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexname ~ '_f[0-9]+$' ORDER BY indexname", [f"geo_feature_{artifact['id']}"])
        definitions = [row[0] for row in cursor.fetchall()]
    assert [d.rsplit("(properties -> ", 1)[1] for d in definitions] == [f"'{c}'::text)))" for c in ("event_id", "rup_id", "rlz_id", "year", "ses_id")]


@pytest.mark.parametrize(
    "query, message",
    [
        ("limit=0", "limit must be >= 1"),
        ("limit=10001", "limit must be <= 10000"),
        ("offset=-1", "offset must be an integer"),
        ("event_id=x", "event_id is an integer column"),
        ("loss=1.5", "unknown parameter or filter column 'loss'"),
        ("bbox=0,0,1,1", "unknown parameter or filter column 'bbox'"),
    ],
)
def test_bad_row_queries_are_400(owner_client, query, message):
    artifact = upload_one(owner_client, RISK_BY_EVENT)
    response = owner_client.get(f"/artifact/{artifact['id']}/rows?{query}")
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_rows_of_a_hazard_map_are_its_sites_values(owner_client):
    from tests.conftest import fixture_bytes

    artifact = upload(owner_client, "hazard_map-mean_2.csv", fixture_bytes("hazard_map-mean_2.csv")).json()["artifacts"][0]
    page = rows_of(owner_client, f"/artifact/{artifact['id']}/rows")
    want = [{k: float(v) for k, v in row.items() if k not in ("lon", "lat")} for row in csv.DictReader(fixture_bytes("hazard_map-mean_2.csv").decode().splitlines()[1:])]
    assert page["rows"] == want and page["filterable"] == []


# --- owner, other user, anonymous, shared ------------------------------------------------------


@pytest.fixture
def calc(owner, owner_client, exposure_kind):
    """classical_risk case_3 as an import leaves it: the loss curves and the exposure's assets in one calculation."""
    curves = upload_one(owner_client, CURVES)
    members = upload(owner_client, EXPOSURE.name, EXPOSURE.read_bytes(), )
    assert members.status_code == 201, members.content
    [assets] = [a for a in members.json()["artifacts"] if a["file_name"] == "assetcol_1.csv"]
    calculation = Calculation.objects.create(owner=owner, engine_url="http://127.0.0.1:8800", calc_id=1, engine_version="3.26.2")
    for output_id, (artifact, output_type) in enumerate([(curves, "loss_curves-stats"), (assets, "exposure")], start=1):
        ImportedOutput.objects.create(
            calculation=calculation, output_id=output_id, output_type=output_type, export_name=artifact["file_name"],
            file_name=artifact["file_name"], artifact_id=artifact["id"],
        )
    return calculation, curves["id"], assets["id"]


@pytest.fixture
def exposure_kind(monkeypatch):
    """The exposure kind (branch `spatial`'s) when it is registered, else a stand-in reading assetcol the same way."""
    import kinds

    if "exposure" not in getattr(kinds, "_BY_NAME", {}):
        from tests.geo import assets_kind

        monkeypatch.setattr(kinds, "KINDS", (assets_kind, *kinds.KINDS))
        monkeypatch.setitem(kinds._BY_NAME, assets_kind.NAME, assets_kind)
        monkeypatch.setattr(kinds, "ARTIFACT_TYPES", (*kinds.ARTIFACT_TYPES, assets_kind.NAME))


def assets_by_id() -> dict[str, tuple[float, float]]:
    with zipfile.ZipFile(EXPOSURE) as archive:
        rows = csv.DictReader(io.StringIO(archive.read("assetcol_1.csv").decode()))
        return {row["id"]: (float(row["lon"]), float(row["lat"])) for row in rows}


def test_a_table_keyed_by_asset_is_geojson_at_its_assets(owner_client, calc):
    _, curves, _ = calc
    response = owner_client.get(f"/artifact/{curves}?join=assets")
    assert response.status_code == 200, body(response)
    assert response["Content-Type"] == "application/geo+json"
    features = json.loads(body(response))["features"]
    want = csv_rows(CURVES.read_bytes(), TYPES["loss_curves"])
    points = assets_by_id()
    assert [f["id"] for f in features] == list(range(len(want)))
    for feature, row in zip(features, want):
        assert feature["properties"] == row
        assert tuple(feature["geometry"]["coordinates"]) == pytest.approx(points[row["asset_id"]], abs=1e-9)
    # One asset, one loss curve: filters and paging as for any GeoJSON.
    one = json.loads(body(owner_client.get(f"/artifact/{curves}?join=assets&asset_id=a42&limit=100&properties=poe,loss_value")))
    rows = [row for row in want if row["asset_id"] == "a42"]
    assert [f["properties"] for f in one["features"]] == [{"poe": r["poe"], "loss_value": r["loss_value"]} for r in rows[:100]]
    assert one["next"] is not None
    assert {tuple(f["geometry"]["coordinates"]) for f in one["features"]} == {points["a42"]}


def test_join_names_the_exposure_explicitly_for_an_uploaded_table(owner_client, calc):
    _, _, assets = calc
    loose = upload_one(owner_client, CURVES, name="loss_curves-mean_1.csv")  # no calculation
    response = owner_client.get(f"/artifact/{loose['id']}?join=assets")
    assert response.status_code == 404
    assert "belongs to no imported calculation: name the exposure artifact with assets=<id>" in response.json()["detail"]
    response = owner_client.get(f"/artifact/{loose['id']}?join=assets&assets={assets}&limit=3")
    assert response.status_code == 200
    assert len(json.loads(body(response))["features"]) == 3


def test_asset_ids_that_do_not_join_are_a_400(owner_client, calc):
    _, _, assets = calc
    other = upload_one(owner_client, OTHER_CURVES)  # asset ids 1, 2, ... not the a10, a13... of this exposure
    response = owner_client.get(f"/artifact/{other['id']}?join=assets&assets={assets}")
    assert response.status_code == 400
    assert f"does not join the assets of artifact {assets} (assetcol_1.csv): asset_id '1', '2'" in response.json()["detail"]
    events = upload_one(owner_client, EVENTS)
    response = owner_client.get(f"/artifact/{events['id']}?join=assets&assets={assets}")
    assert response.status_code == 400
    assert "has no asset_id column: only tables keyed by asset join to the assets" in response.json()["detail"]


@pytest.mark.parametrize(
    "query, status, message",
    [
        ("join=sites", 400, "join must be assets"),
        ("assets=1", 400, "give join=assets too"),
        ("join=assets&bbox=0,0,1,1", 400, "do not combine with join=assets"),
        ("join=assets&assets=999999", 404, "assets: artifact 999999 is not an exposure you can read"),
        ("join=assets&assets=x", 404, "is not an exposure you can read"),
        ("join=assets&loss=1", 400, "unknown parameter or filter column 'loss'"),
    ],
)
def test_bad_joins(owner_client, calc, query, status, message):
    _, curves, _ = calc
    response = owner_client.get(f"/artifact/{curves}?{query}")
    assert response.status_code == status, response.content
    assert message in response.json()["detail"]


def test_roles_on_rows_and_join(calc, owner, owner_client, other_client, anon_client, grantee_client):
    calculation, curves, assets = calc
    paths = [f"/artifact/{curves}/rows?asset_id=a10", f"/artifact/{curves}?join=assets&asset_id=a10"]
    for path in paths:
        assert owner_client.get(path).status_code == 200
        assert other_client.get(path).status_code == 404
        assert anon_client.get(path).status_code == 401
        assert grantee_client.get(path).status_code == 404
    # The table alone shared: its rows are readable, its assets' places are not.
    sharing.share_create(sharer=owner, artifact=Artifact.objects.get(pk=curves), user="grantee")
    assert grantee_client.get(paths[0]).status_code == 200
    response = grantee_client.get(paths[1])
    assert response.status_code == 404 and "no exposure stored that you can read" in response.json()["detail"]
    # The calculation shared: both.
    sharing.share_create(sharer=owner, calculation=calculation, user="grantee")
    assert grantee_client.get(paths[1]).status_code == 200
    assert json.loads(body(grantee_client.get(paths[1]))) == json.loads(body(owner_client.get(paths[1])))
    assert other_client.get(f"/artifact/{curves}?join=assets&assets={assets}").status_code == 404
