"""The artifact API end to end on real PostGIS: upload, list, GeoJSON, subsets, raw, delete, access."""

import hashlib
import io
import json
import math
import zipfile

import pytest

from blobs.models import Blob
from icebox.models import Artifact
from tests.conftest import FIXTURES, fixture_bytes
from tests.support import partition_count, read_engine_csv, shared_row_count, stored_contents, upload
from tests.synthetic import hazard_map_csv

ALL_FIXTURE_ZIPS = sorted(p.name for p in FIXTURES.glob("calc*-csv.zip"))


def geojson(client, artifact_id, **params):
    response = client.get(f"/artifact/{artifact_id}", params)
    assert response.status_code == 200, _body(response)
    assert response["Content-Type"] == "application/geo+json"
    return json.loads(b"".join(response.streaming_content))


def _body(response):
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


# --- upload and list -------------------------------------------------------------------------


def test_uploading_a_csv_creates_one_artifact_with_parsed_metadata(owner_client):
    data = fixture_bytes("hazard_curve-mean-PGA_2.csv")
    response = upload(owner_client, "hazard_curve-mean-PGA_2.csv", data)
    assert response.status_code == 201, response.content
    [artifact] = response.json()["artifacts"]
    assert artifact["artifact_type"] == "hazard_curve"
    assert artifact["name"] == "hazard_curve-mean-PGA_2"
    assert artifact["file_name"] == "hazard_curve-mean-PGA_2.csv"
    assert artifact["content_type"] == "text/csv"
    assert artifact["size"] == len(data)
    assert artifact["sha256"] == hashlib.sha256(data).hexdigest()
    assert artifact["feature_count"] == 3
    meta = artifact["metadata"]
    assert meta["engine_version"] == "3.26.2"
    assert meta["kind"] == "mean"
    assert meta["imt"] == "PGA"
    assert meta["investigation_time"] == 1.0
    assert meta["columns"][1]["name"] == "poe-0.0010197"
    assert meta["columns"][1]["imt"] == "PGA"
    assert meta["columns"][1]["iml"] == pytest.approx(0.0010197)
    _, rows = read_engine_csv(data)
    lons = [float(r["lon"]) for r in rows]
    lats = [float(r["lat"]) for r in rows]
    assert artifact["bbox"] == [min(lons), min(lats), max(lons), max(lats)]
    assert artifact["url"].endswith(f"/artifact/{artifact['id']}")


def test_uploading_an_engine_zip_creates_one_artifact_per_csv(owner_client):
    data = fixture_bytes("calc2_output-9-hcurves-csv.zip")
    response = upload(owner_client, "calc2_output-9-hcurves-csv.zip", data)
    assert response.status_code == 201, response.content
    artifacts = response.json()["artifacts"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    assert sorted(a["file_name"] for a in artifacts) == sorted(members)
    for artifact in artifacts:
        assert artifact["sha256"] == hashlib.sha256(members[artifact["file_name"]]).hexdigest()
    kinds = {a["metadata"]["kind"] for a in artifacts}
    assert kinds == {"mean", "rlz-000", "rlz-001", "rlz-002", "quantile-0.15", "quantile-0.85"}


def test_list_shows_only_the_users_artifacts_paginated_and_filtered(owner_client, other_client):
    upload(owner_client, "calc2_output-10-hmaps-csv.zip", fixture_bytes("calc2_output-10-hmaps-csv.zip"))
    upload(owner_client, "hazard_uhs-mean_2.csv", fixture_bytes("hazard_uhs-mean_2.csv"))
    upload(other_client, "hazard_curve-mean-PGA_2.csv", fixture_bytes("hazard_curve-mean-PGA_2.csv"))

    body = owner_client.get("/artifacts").json()
    assert body["count"] == 7
    assert {"count", "next", "previous", "results"} <= set(body)
    assert all(a["artifact_type"] in ("hazard_map", "uhs") for a in body["results"])

    maps = owner_client.get("/artifacts", {"artifact_type": "hazard_map"}).json()
    assert maps["count"] == 6
    assert other_client.get("/artifacts").json()["count"] == 1


def test_list_refuses_an_unknown_artifact_type(owner_client):
    response = owner_client.get("/artifacts", {"artifact_type": "shakemap"})
    assert response.status_code == 400
    assert "artifact_type must be one of" in response.json()["detail"]


# --- GeoJSON ---------------------------------------------------------------------------------


@pytest.mark.parametrize("zip_name", ALL_FIXTURE_ZIPS)
def test_every_geojson_value_equals_the_files_value(owner_client, zip_name):
    data = fixture_bytes(zip_name)
    artifacts = upload(owner_client, zip_name, data).json()["artifacts"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for artifact in artifacts:
            header, rows = read_engine_csv(archive.read(artifact["file_name"]))
            collection = geojson(owner_client, artifact["id"])
            assert collection["type"] == "FeatureCollection"
            features = collection["features"]
            assert len(features) == len(rows) == artifact["feature_count"]
            for index, (feature, row) in enumerate(zip(features, rows)):
                assert feature["type"] == "Feature"
                assert feature["id"] == index
                assert feature["geometry"] == {"type": "Point", "coordinates": [float(row["lon"]), float(row["lat"])]}
                expected = {k: (v if k == "custom_site_id" else float(v)) for k, v in row.items() if k not in ("lon", "lat")}
                assert feature["properties"] == expected


def test_custom_site_id_stays_text(owner_client):
    [artifact] = upload(owner_client, "hazard_curve-mean-PGA_8.csv", fixture_bytes("hazard_curve-mean-PGA_8.csv")).json()["artifacts"]
    features = geojson(owner_client, artifact["id"])["features"]
    assert features[0]["properties"]["custom_site_id"] == read_engine_csv(fixture_bytes("hazard_curve-mean-PGA_8.csv"))[1][0]["custom_site_id"]


@pytest.fixture
def grid(owner_client):
    """A 40 x 30 grid of sites, 0.1 degree apart, from lon 5 / lat 40."""
    data = hazard_map_csv(40, 30, lon0=5.0, lat0=40.0, step=0.1)
    [artifact] = upload(owner_client, "hazard_map-mean_77.csv", data).json()["artifacts"]
    _, rows = read_engine_csv(data)
    sites = [(i, float(r["lon"]), float(r["lat"])) for i, r in enumerate(rows)]
    return artifact, sites


def _ids(collection):
    return sorted(f["id"] for f in collection["features"])


def test_bbox_returns_exactly_the_sites_in_the_box(owner_client, grid):
    artifact, sites = grid
    expected = sorted(i for i, lon, lat in sites if 5.95 <= lon <= 6.55 and 40.5 <= lat <= 41.25)
    got = geojson(owner_client, artifact["id"], bbox="5.95,40.5,6.55,41.25")
    assert _ids(got) == expected
    assert 0 < len(expected) < len(sites)


def test_bbox_edges_are_inclusive(owner_client, grid):
    artifact, sites = grid
    expected = sorted(i for i, lon, lat in sites if 6.0 <= lon <= 6.2 and 41.0 <= lat <= 41.1)
    assert len(expected) == 6
    assert _ids(geojson(owner_client, artifact["id"], bbox="6.0,41.0,6.2,41.1")) == expected


def test_bbox_across_the_antimeridian_takes_both_sides(owner_client):
    # Sites run 178.5..180.4: rewrite the ones past 180 as the negative longitudes they are.
    lines = hazard_map_csv(20, 2, lon0=178.5, lat0=-1.0, step=0.1).decode().splitlines()
    fixed = lines[:2]
    for line in lines[2:]:
        lon, rest = line.split(",", 1)
        value = float(lon)
        fixed.append(f"{value - 360 if value > 180 else value:.5f},{rest}")
    data = ("\n".join(fixed) + "\n").encode()
    [artifact] = upload(owner_client, "hazard_map-mean_78.csv", data).json()["artifacts"]
    _, rows = read_engine_csv(data)
    expected = sorted(i for i, r in enumerate(rows) if float(r["lon"]) >= 179.5 or float(r["lon"]) <= -179.8)
    assert _ids(geojson(owner_client, artifact["id"], bbox="179.5,-5,-179.8,5")) == expected
    assert expected


def _tile_of(lon, lat, z):
    n = 2**z
    return int((lon + 180.0) / 360.0 * n), int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)


@pytest.mark.parametrize("z", [6, 8, 9])
def test_tile_returns_the_sites_inside_that_tile(owner_client, grid, z):
    artifact, sites = grid
    tiles = {}
    for i, lon, lat in sites:
        tiles.setdefault(_tile_of(lon, lat, z), []).append(i)
    for (x, y), expected in tiles.items():
        assert _ids(geojson(owner_client, artifact["id"], tile=f"{z}/{x}/{y}")) == sorted(expected)


def test_empty_tile_is_an_empty_collection(owner_client, grid):
    artifact, _ = grid
    assert geojson(owner_client, artifact["id"], tile="3/0/0")["features"] == []


def _inside(lon, lat, ring):
    """Ray casting, independent of GEOS."""
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        if (y1 > lat) != (y2 > lat) and lon < (x2 - x1) * (lat - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


def test_region_returns_the_sites_within_a_polygon_given_as_wkt_or_geojson(owner_client, grid):
    artifact, sites = grid
    ring = [(5.03, 40.02), (8.77, 40.41), (6.01, 42.83), (5.03, 40.02)]
    expected = sorted(i for i, lon, lat in sites if _inside(lon, lat, ring))
    wkt = "POLYGON((" + ", ".join(f"{x} {y}" for x, y in ring) + "))"
    geo = json.dumps({"type": "Polygon", "coordinates": [ring]})
    assert 0 < len(expected) < len(sites)
    assert _ids(geojson(owner_client, artifact["id"], region=wkt)) == expected
    assert _ids(geojson(owner_client, artifact["id"], region=geo)) == expected


def test_region_and_bbox_combine(owner_client, grid):
    artifact, sites = grid
    ring = [(5.03, 40.02), (8.77, 40.41), (6.01, 42.83), (5.03, 40.02)]
    expected = sorted(i for i, lon, lat in sites if _inside(lon, lat, ring) and lon <= 6.0)
    wkt = "POLYGON((" + ", ".join(f"{x} {y}" for x, y in ring) + "))"
    assert _ids(geojson(owner_client, artifact["id"], region=wkt, bbox="-180,-90,6.0,90")) == expected


@pytest.mark.parametrize(
    "params,message",
    [
        ({"bbox": "1,2,3"}, "bbox must be"),
        ({"tile": "2/9/9"}, "tile: tile 2/9/9 does not exist"),
        ({"tile": "1/0/0", "bbox": "0,0,1,1"}, "either bbox or tile"),
        ({"region": "POINT(1 1)"}, "Polygon or MultiPolygon"),
        ({"format": "xml"}, "format must be geojson or raw"),
    ],
)
def test_invalid_query_parameters_are_400_with_a_message(owner_client, grid, params, message):
    artifact, _ = grid
    response = owner_client.get(f"/artifact/{artifact['id']}", params)
    assert response.status_code == 400
    assert message in response.json()["detail"]


# --- raw bytes -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/artifact/{id}?format=raw", "/artifact/{id}/raw"])
def test_raw_returns_the_original_bytes_type_and_name(owner_client, path):
    data = fixture_bytes("hazard_map-mean-475y_2.csv")
    [artifact] = upload(owner_client, "hazard_map-mean-475y_2.csv", data).json()["artifacts"]
    response = owner_client.get(path.format(id=artifact["id"]))
    assert response.status_code == 200
    assert hashlib.sha256(b"".join(response.streaming_content)).hexdigest() == hashlib.sha256(data).hexdigest() == artifact["sha256"]
    assert response["Content-Type"] == "text/csv"
    assert 'filename="hazard_map-mean-475y_2.csv"' in response["Content-Disposition"]


# --- delete ----------------------------------------------------------------------------------


# Committed: the partition is dropped once the delete has committed.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("layout", ["shared", "own"])
def test_delete_removes_the_artifact_its_bytes_and_its_features(owner_client, settings, layout):
    settings.ICEBOX_SHARED_PARTITION_MAX_ROWS = 20000 if layout == "shared" else 0
    [artifact] = upload(owner_client, "hazard_uhs-mean_2.csv", fixture_bytes("hazard_uhs-mean_2.csv")).json()["artifacts"]
    [kept] = upload(owner_client, "hazard_map-mean_2.csv", fixture_bytes("hazard_map-mean_2.csv")).json()["artifacts"]
    stored = (shared_row_count, partition_count)[layout == "own"]
    assert stored() == (6 if layout == "shared" else 2)
    assert owner_client.delete(f"/artifact/{artifact['id']}").status_code == 204
    assert owner_client.get(f"/artifact/{artifact['id']}").status_code == 404
    # Its bytes too (no other artifact has the same): the row and the stored content.
    assert not Blob.objects.filter(sha256=artifact["sha256"]).exists()
    assert stored_contents() == 1
    assert stored() == (3 if layout == "shared" else 1)
    assert len(geojson(owner_client, kept["id"])["features"]) == 3


# --- access: owner, another user, anonymous --------------------------------------------------


@pytest.fixture
def owned(owner_client):
    [artifact] = upload(owner_client, "hazard_map-mean_2.csv", fixture_bytes("hazard_map-mean_2.csv")).json()["artifacts"]
    return artifact


@pytest.mark.parametrize("method,path", [("get", "/artifact/{id}"), ("get", "/artifact/{id}?format=raw"), ("get", "/artifact/{id}/raw"), ("delete", "/artifact/{id}")])
def test_another_users_artifact_is_404_for_every_method(other_client, owner_client, owned, method, path):
    response = getattr(other_client, method)(path.format(id=owned["id"]))
    assert response.status_code == 404
    # Exactly what a missing artifact answers: nothing tells that this one exists.
    missing = getattr(other_client, method)(path.format(id=999999))
    assert missing.status_code == 404
    assert response.json()["detail"].replace(str(owned["id"]), "N") == missing.json()["detail"].replace("999999", "N")
    assert Artifact.objects.filter(pk=owned["id"]).exists()


@pytest.mark.parametrize(
    "method,path", [("get", "/artifacts"), ("post", "/artifacts"), ("get", "/artifact/{id}"), ("get", "/artifact/{id}/raw"), ("delete", "/artifact/{id}")]
)
def test_anonymous_requests_are_refused(anon_client, owned, method, path):
    response = getattr(anon_client, method)(path.format(id=owned["id"]))
    assert response.status_code == 401
    assert Artifact.objects.filter(pk=owned["id"]).exists()


def test_session_login_works_too(owner, owned):
    from rest_framework.test import APIClient

    client = APIClient()
    assert client.login(username="owner", password="owner-password-1")
    assert client.get(f"/artifact/{owned['id']}/raw").status_code == 200


def test_openapi_schema_is_served(owner_client):
    response = owner_client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert "/artifact/{artifact_id}" in schema["paths"]
    assert "/artifacts" in schema["paths"]


@pytest.mark.parametrize("method,path", [("get", "/artifact/{id}"), ("get", "/artifact/{id}/raw"), ("delete", "/artifact/{id}")])
def test_staff_get_404_for_another_users_artifact_like_anyone(staff_client, owned, method, path):
    assert getattr(staff_client, method)(path.format(id=owned["id"])).status_code == 404
    assert Artifact.objects.filter(pk=owned["id"]).exists()


def test_a_user_it_is_shared_with_reads_it_but_a_delete_is_403_read_only(owner, other_client, owned):
    from sharing.services import share_create

    share_create(sharer=owner, artifact=Artifact.objects.get(pk=owned["id"]), user="other")
    assert other_client.get(f"/artifact/{owned['id']}/raw").status_code == 200
    response = other_client.delete(f"/artifact/{owned['id']}")
    assert response.status_code == 403
    assert response.json() == {
        "detail": f"artifact {owned['id']} is shared with you read-only: only its owner may change, delete or share it",
        "code": "read_only",
    }
    assert Artifact.objects.filter(pk=owned["id"]).exists()
