"""Real clients against a real HTTP server (Django's live_server) on real PostGIS.

GDAL's OAPIF driver (Debian gdal-bin), OWSLib's OGC API Features client, and HTTP + gzip +
mapbox-vector-tile for tiles: each reads an uploaded hazard map with a token and must find
exactly the sites the file holds.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import mapbox_vector_tile
import pytest
import requests
from rest_framework.authtoken.models import Token

from tests.maps_support import tile_pixel, upload_grid

# The live server needs committed rows, hence a transactional database; the root conftest drops
# the feature partitions each test leaves.
pytestmark = pytest.mark.django_db(transaction=True)

BBOX = (6.0, 41.0, 7.05, 41.55)


@pytest.fixture
def live(live_server, owner_client, owner):
    """(base URL, token, artifact, sites)."""
    artifact, sites = upload_grid(owner_client)
    return live_server.url, Token.objects.get(user=owner).key, artifact, sites


def _in_bbox(site, bbox=BBOX):
    return bbox[0] <= site.lon <= bbox[2] and bbox[1] <= site.lat <= bbox[3]


# --- GDAL ------------------------------------------------------------------------------------

needs_gdal = pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin is not installed (scripts/bootstrap.sh installs it)")


def _gdal(tmp_path, token, *args) -> str:
    header_file = tmp_path / "headers.txt"
    header_file.write_text(f"Authorization: Token {token}\n")
    env = {"GDAL_HTTP_HEADER_FILE": str(header_file), "CPL_DEBUG": "OFF", "PATH": "/usr/bin:/bin", "GDAL_HTTP_TIMEOUT": "60"}
    result = subprocess.run(list(args), capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def _feature_count(output: str) -> int:
    [line] = [line for line in output.splitlines() if line.startswith("Feature Count:")]
    return int(line.split(":")[1])


@needs_gdal
def test_ogrinfo_lists_the_collection_and_counts_its_features(live, tmp_path):
    url, token, artifact, sites = live
    listing = _gdal(tmp_path, token, "ogrinfo", "-ro", "-q", f"OAPIF:{url}/ogc")
    assert f"{artifact['id']}" in listing
    summary = _gdal(tmp_path, token, "ogrinfo", "-ro", "-so", f"OAPIF:{url}/ogc", str(artifact["id"]))
    assert _feature_count(summary) == len(sites)


@needs_gdal
def test_ogrinfo_with_spat_counts_the_sites_in_the_box(live, tmp_path):
    url, token, artifact, sites = live
    expected = sum(1 for s in sites if _in_bbox(s))
    assert 0 < expected < len(sites)
    summary = _gdal(tmp_path, token, "ogrinfo", "-ro", "-so", "-spat", *map(str, BBOX), f"OAPIF:{url}/ogc", str(artifact["id"]))
    assert _feature_count(summary) == expected


@needs_gdal
def test_ogr2ogr_copies_every_site_with_its_values(live, tmp_path):
    url, token, artifact, sites = live
    out = tmp_path / "out.geojson"
    _gdal(tmp_path, token, "ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{url}/ogc", str(artifact["id"]), "-spat", *map(str, BBOX))
    features = json.loads(out.read_text())["features"]
    expected = [s for s in sites if _in_bbox(s)]
    # GDAL does not carry the feature id into GeoJSON output: match in file order, by position.
    assert len(features) == len(expected)
    for feature, site in zip(features, expected):
        assert feature["geometry"]["coordinates"] == pytest.approx([site.lon, site.lat])
        assert feature["properties"] == pytest.approx(site.values)


# --- OWSLib ----------------------------------------------------------------------------------


def test_owslib_lists_collections_and_fetches_items(live):
    from owslib.ogcapi.features import Features

    url, token, artifact, sites = live
    client = Features(f"{url}/ogc/", headers={"Authorization": f"Token {token}"})
    try:
        assert client.conformance()["conformsTo"]
        assert str(artifact["id"]) in client.feature_collections()
        assert client.collection(str(artifact["id"]))["title"] == artifact["name"]
        page = client.collection_items(str(artifact["id"]), limit=50, offset=100)
        assert [f["id"] for f in page["features"]] == list(range(100, 150))
        assert page["numberMatched"] == len(sites)
        boxed = client.collection_items(str(artifact["id"]), bbox=list(BBOX), limit=10000)
        assert sorted(f["id"] for f in boxed["features"]) == [s.idx for s in sites if _in_bbox(s)]
        item = client.collection_item(str(artifact["id"]), "5")
        assert item["properties"] == sites[5].values
    finally:
        # OWSLib copies our headers into its module-level default headers: do not leak the token.
        from owslib import ogcapi

        ogcapi.REQUEST_HEADERS.pop("Authorization", None)


# --- vector tiles over HTTP ------------------------------------------------------------------


def test_tiles_over_http_with_gzip_decode_with_every_site_of_the_tile(live):
    url, token, artifact, sites = live
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    tilejson = session.get(f"{url}/artifact/{artifact['id']}/tiles.json").json()
    template = tilejson["tiles"][0]
    assert template.startswith(url)
    z, x, y = 7, 66, 47  # over lon 5.6..8.4, lat 40.98..43.07
    response = session.get(template.format(z=z, x=x, y=y), headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"  # requests decompresses it
    layer = mapbox_vector_tile.decode(response.content, default_options={"y_coord_down": True})[tilejson["vector_layers"][0]["id"]]
    got = {f["id"]: f for f in layer["features"]}
    inside = {s.idx: s for s in sites if all(0 <= p <= 4096 for p in tile_pixel(s.lon, s.lat, z, x, y))}
    assert inside and set(inside) <= set(got)
    for idx, site in inside.items():
        assert got[idx]["properties"] == pytest.approx(site.values)
    # Revalidation answers 304 without a body.
    again = session.get(template.format(z=z, x=x, y=y), headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_ogc_over_http_refuses_anonymous_and_other_users(live, other_user):
    url, _, artifact, _ = live
    assert requests.get(f"{url}/ogc/collections/{artifact['id']}/items").status_code == 401
    other_token = Token.objects.create(user=other_user).key
    response = requests.get(f"{url}/ogc/collections/{artifact['id']}/items", headers={"Authorization": f"Token {other_token}"})
    assert response.status_code == 404
