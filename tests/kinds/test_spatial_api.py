"""The spatial kinds end to end on real PostGIS: real engine exports uploaded, then read back as
GeoJSON, vector tiles and OGC API items, every coordinate and value against the csv module."""

from __future__ import annotations

import io
import json
import zipfile

import mapbox_vector_tile
import pytest

from icebox.models import Artifact
from tests.conftest import fixture_bytes
from tests.kinds.engine_exports import engine_name, records
from tests.maps_support import body, json_body
from tests.support import assert_nothing_stored, upload

GMF_ZIP = "scenario2_calc5_output-41-gmf_data-csv.zip"

# fixture -> {file in it: (artifact type, lon column, lat column, {column: type})}
SINGLE = {
    "scenario2_calc5_output-38-avg_gmf_5.csv": ("avg_gmf", "lon", "lat", {"custom_site_id": str, "PGA": float}),
    "damage13_calc2_output-15-site_model_2.csv": ("site_model", "lon", "lat", {
        "sids": int, "depth": float, "vs30": float, "vs30measured": int, "z1pt0": float, "z2pt5": float, "custom_site_id": str}),
    "classical34_calc6_output-44-site_model_6.csv": ("site_model", "lon", "lat", {
        "sids": int, "depth": float, "geology": str, "region": int, "slope": float, "vs30": float}),
    "ebrisk01_calc3_output-28-ruptures_3.csv": ("ruptures", "centroid_lon", "centroid_lat", {
        "rup_id": int, "source_id": str, "multiplicity": int, "mag": float, "centroid_depth": float, "trt": str,
        "strike": float, "dip": float, "rake": float}),
    "damage13_calc2_output-8-avg_damages-mean_2.csv": ("damages", "lon", "lat", {
        "asset_id": str, "NAME_1": str, "taxonomy": str,
        **{f"structural-{s}": float for s in ("no_damage", "slight", "moderate", "extensive", "complete", "losses")}}),
    "crisk3_calc4_output-36-loss_maps-mean_4.csv": ("loss_maps", "lon", "lat", {
        "asset_id": str, "taxonomy": str, **{f"structural~poe-{p}": float for p in ("0.1", "0.05", "0.01")}}),
    "damage1_calc7_output-47-avg_damages-rlz-000_7.csv": ("damages", "lon", "lat", {
        "asset_id": str, "CRESTA": str, "region": str, "taxonomy": str, "modal-ds-structural": str}),
    "crisk3_calc4_output-30-avg_losses-mean_4.csv": ("avg_losses", "lon", "lat", {
        "asset_id": str, "taxonomy": str, "structural": float}),
}
ZIPS = {
    "damage1_calc7_output-49-exposure-zip.zip": {"assetcol_7.csv": ("exposure", "lon", "lat", {
        "id": str, "value-number": float, "value-structural": float, "ideductible": float, "CRESTA": str, "region": str,
        "taxonomy": str})},
    "ebrisk01_calc3_output-24-exposure-zip.zip": {"assetcol_3.csv": ("exposure", "lon", "lat", {
        "id": str, "value-number": float, "value-nonstructural": float, "value-structural": float, "value-area": float,
        "ideductible": float, "policy": str, "taxonomy": str})},
    "ebrisk01_calc3_output-20-avg_losses-rlzs-csv.zip": {
        name: ("avg_losses", "lon", "lat", {"asset_id": str, "policy": str, "taxonomy": str, "nonstructural": float, "structural": float})
        for name in ("avg_losses-rlz-000_3.csv", "avg_losses-rlz-001_3.csv")},
    "damage13_calc2_output-7-damages-rlzs-csv.zip": {
        f"avg_damages-rlz-00{r}_2.csv": SINGLE["damage13_calc2_output-8-avg_damages-mean_2.csv"] for r in range(3)},
}


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def fixture_members(fixture: str) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(fixture_bytes(fixture))) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def gmf_upload() -> bytes:
    """The engine's gmf_data zip without sigma_epsilon_5.csv (a table kind of its own, not read by uploads here):
    the two members byte for byte."""
    members = fixture_members(GMF_ZIP)
    return zip_of({name: members[name] for name in ("gmf-data_5.csv", "sitemesh_5.csv")})


def geojson(client, artifact_id: int, **params) -> dict:
    response = client.get(f"/artifact/{artifact_id}", params)
    assert response.status_code == 200, body(response)
    return json_body(response)


def expected_features(data: bytes, lon: str, lat: str, dtypes: dict, place=None) -> list[tuple]:
    """(coordinates, properties) per row, read with the csv module and typed as the test says."""
    _, rows = records(data)
    out = []
    for row in rows:
        point = place(row) if place else [float(row[lon]), float(row[lat])]
        out.append((point, {name: kind(row[name]) for name, kind in dtypes.items()}))
    return out


def assert_served(client, artifact: dict, data: bytes, expected: list[tuple]):
    """GeoJSON, OGC items and the z0 tile all give every row, with its point and every value."""
    assert artifact["feature_count"] == len(expected)
    assert body(client.get(f"/artifact/{artifact['id']}/raw")) == data
    features = geojson(client, artifact["id"])["features"]
    assert [f["id"] for f in features] == list(range(len(expected)))
    for feature, (point, properties) in zip(features, expected):
        assert feature["geometry"] == {"type": "Point", "coordinates": point}
        assert feature["properties"] == properties
        for name, value in properties.items():
            assert type(feature["properties"][name]) is type(value), name
    response = client.get(f"/ogc/collections/{artifact['id']}/items", {"limit": 10000})
    assert response.status_code == 200, body(response)
    items = json_body(response)["features"]
    assert [(f["geometry"]["coordinates"], f["properties"]) for f in items] == [(p, v) for p, v in expected]
    # The world tile: thinned to one feature per cell, each the one with the largest value of the first
    # float column among the rows at its point (geo/thinning.py), and with that row's values.
    tile = client.get(f"/artifact/{artifact['id']}/tiles/0/0/0.mvt")
    assert tile.status_code == 200
    [layer] = mapbox_vector_tile.decode(tile.content).values()
    assert layer["features"]
    first_float = next((name for name, value in expected[0][1].items() if type(value) is float), None)
    for feature in layer["features"]:
        point, properties = expected[feature["id"]]
        assert feature["properties"] == pytest.approx(properties)
        stacked = [(index, values) for index, (p, values) in enumerate(expected) if p == point]
        if first_float is None:  # nothing to rank by: the first row
            assert feature["id"] == stacked[0][0]
        else:
            assert properties[first_float] == max(values[first_float] for _, values in stacked)


def test_a_gmf_is_one_feature_per_event_and_site_at_the_meshs_point(owner_client):
    response = upload(owner_client, "output-41-gmf_data-csv.zip", gmf_upload())
    assert response.status_code == 201, response.content
    artifacts = {a["file_name"]: a for a in response.json()["artifacts"]}
    assert {name: a["artifact_type"] for name, a in artifacts.items()} == {"gmf-data_5.csv": "gmf", "sitemesh_5.csv": "site_mesh"}
    members = fixture_members(GMF_ZIP)
    _, mesh_rows = records(members["sitemesh_5.csv"])
    mesh = {row["custom_site_id"]: [float(row["lon"]), float(row["lat"])] for row in mesh_rows}
    expected = expected_features(members["gmf-data_5.csv"], "", "", {"event_id": int, "gmv_PGA": float, "custom_site_id": str},
                                 place=lambda row: mesh[row["custom_site_id"]])
    assert len(expected) == 306
    assert_served(owner_client, artifacts["gmf-data_5.csv"], members["gmf-data_5.csv"], expected)
    assert_served(owner_client, artifacts["sitemesh_5.csv"], members["sitemesh_5.csv"],
                  expected_features(members["sitemesh_5.csv"], "lon", "lat", {"custom_site_id": str}))
    columns = {c["name"]: c for c in artifacts["gmf-data_5.csv"]["metadata"]["columns"]}
    assert (columns["event_id"]["dtype"], columns["gmv_PGA"]["imt"]) == ("int", "PGA")
    assert artifacts["gmf-data_5.csv"]["metadata"]["site_mesh"] == "sitemesh_5.csv"


def test_the_engines_gmf_zip_as_downloaded(owner_client):
    """A job that reads its GMFs from a file: the engine's zip has no sigma_epsilon, and is uploaded as it came."""
    fixture = "damage1_calc7_output-51-gmf_data-csv.zip"
    response = upload(owner_client, engine_name(fixture), fixture_bytes(fixture))
    assert response.status_code == 201, response.content
    artifacts = {a["file_name"]: a for a in response.json()["artifacts"]}
    members = fixture_members(fixture)
    assert set(artifacts) == set(members) == {"gmf-data_7.csv", "sitemesh_7.csv"}
    _, mesh_rows = records(members["sitemesh_7.csv"])
    mesh = {row["custom_site_id"]: [float(row["lon"]), float(row["lat"])] for row in mesh_rows}
    assert_served(owner_client, artifacts["gmf-data_7.csv"], members["gmf-data_7.csv"],
                  expected_features(members["gmf-data_7.csv"], "", "", {"event_id": int, "gmv_PGA": float, "custom_site_id": str},
                                    place=lambda row: mesh[row["custom_site_id"]]))


def test_a_gmf_tile_keeps_each_sites_strongest_motion(owner_client):
    """Tile 8/128/127 holds the three sites (lon 0, lat 0, 0.1, 0.2) in cells of their own: one feature
    per site, the event with the largest gmv_PGA there (ties: the first row), computed here."""
    response = upload(owner_client, "output-41-gmf_data-csv.zip", gmf_upload())
    gmf_id = next(a["id"] for a in response.json()["artifacts"] if a["artifact_type"] == "gmf")
    _, rows = records(fixture_members(GMF_ZIP)["gmf-data_5.csv"])
    strongest = {}
    for index, row in enumerate(rows):
        best = strongest.get(row["custom_site_id"])
        if best is None or float(row["gmv_PGA"]) > float(rows[best]["gmv_PGA"]):
            strongest[row["custom_site_id"]] = index
    tile = owner_client.get(f"/artifact/{gmf_id}/tiles/8/128/127.mvt")
    assert tile.status_code == 200
    [layer] = mapbox_vector_tile.decode(tile.content).values()
    assert sorted(f["id"] for f in layer["features"]) == sorted(strongest.values())
    for feature in layer["features"]:
        row = rows[feature["id"]]
        assert feature["properties"] == {"event_id": int(row["event_id"]), "gmv_PGA": pytest.approx(float(row["gmv_PGA"])),
                                         "custom_site_id": row["custom_site_id"]}
    tilejson = owner_client.get(f"/artifact/{gmf_id}/tiles.json").json()
    assert tilejson["vector_layers"][0]["thinning"]["keep_max_of"] == "gmv_PGA"


@pytest.mark.parametrize("fixture", sorted(SINGLE))
def test_a_single_engine_file_is_served_with_every_value(owner_client, fixture):
    artifact_type, lon, lat, dtypes = SINGLE[fixture]
    data = fixture_bytes(fixture)
    response = upload(owner_client, engine_name(fixture), data)
    assert response.status_code == 201, response.content
    [artifact] = response.json()["artifacts"]
    assert artifact["artifact_type"] == artifact_type
    assert_served(owner_client, artifact, data, expected_features(data, lon, lat, dtypes))


@pytest.mark.parametrize("fixture", sorted(ZIPS))
def test_an_engine_zip_is_one_artifact_per_file(owner_client, fixture):
    response = upload(owner_client, engine_name(fixture), fixture_bytes(fixture))
    assert response.status_code == 201, response.content
    artifacts = {a["file_name"]: a for a in response.json()["artifacts"]}
    assert set(artifacts) == set(ZIPS[fixture])  # an upload reads the zip's CSVs: exposure_3.xml is not one
    members = fixture_members(fixture)
    for name, (artifact_type, lon, lat, dtypes) in ZIPS[fixture].items():
        assert artifacts[name]["artifact_type"] == artifact_type
        assert_served(owner_client, artifacts[name], members[name], expected_features(members[name], lon, lat, dtypes))


def test_a_gmf_without_its_mesh_is_refused_and_nothing_is_stored(owner_client):
    members = fixture_members(GMF_ZIP)
    response = upload(owner_client, "gmf-data_5.csv", members["gmf-data_5.csv"])
    assert response.status_code == 400
    assert response.json()["detail"] == ("gmf-data_5.csv: no site mesh: the GMF rows are placed by sitemesh_5.csv, "
                                         "which must come in the same gmf_data zip")
    assert_nothing_stored()


def test_a_gmf_row_whose_site_is_not_in_the_mesh_is_refused_and_nothing_is_stored(owner_client):
    members = fixture_members(GMF_ZIP)
    lines = members["gmf-data_5.csv"].split(b"\r\n")
    lines[250] = lines[250].rsplit(b",", 1)[0] + b",elsewhere"
    broken = zip_of({"gmf-data_5.csv": b"\r\n".join(lines), "sitemesh_5.csv": members["sitemesh_5.csv"]})
    response = upload(owner_client, "output-41-gmf_data-csv.zip", broken)
    assert response.status_code == 400
    assert response.json()["detail"] == ("output-41-gmf_data-csv.zip/gmf-data_5.csv: line 251: "
                                         "custom_site_id 'elsewhere' is not in the site mesh sitemesh_5.csv")
    assert_nothing_stored()


def test_a_malformed_gmf_zip_is_refused(owner_client):
    data = gmf_upload()
    response = upload(owner_client, "output-41-gmf_data-csv.zip", data[: len(data) // 2])
    assert response.status_code == 400
    assert response.json()["detail"].startswith("output-41-gmf_data-csv.zip: corrupt zip")
    assert_nothing_stored()


def test_another_users_gmf_is_404_and_anonymous_401(owner_client, other_client, anon_client):
    response = upload(owner_client, "output-41-gmf_data-csv.zip", gmf_upload())
    gmf_id = next(a["id"] for a in response.json()["artifacts"] if a["artifact_type"] == "gmf")
    for path in (f"/artifact/{gmf_id}", f"/artifact/{gmf_id}/tiles/0/0/0.mvt", f"/ogc/collections/{gmf_id}/items"):
        assert other_client.get(path).status_code == 404
        assert anon_client.get(path).status_code == 401
    assert Artifact.objects.get(id=gmf_id).artifact_type == "gmf"
