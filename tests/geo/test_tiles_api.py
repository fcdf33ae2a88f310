"""Vector tiles and TileJSON on real PostGIS, decoded with mapbox-vector-tile."""

import gzip

import mapbox_vector_tile
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from geo.selectors import MVT_BUFFER, MVT_EXTENT
from icebox.models import Artifact
from tests.maps_support import tile_pixel, tiles_of, upload_grid

MVT = "application/vnd.mapbox-vector-tile"


@pytest.fixture
def grid(owner_client):
    return upload_grid(owner_client)


def decode(data: bytes) -> dict:
    return mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})


def expected_in_tile(sites, z, x, y, margin):
    """Sites whose tile position is within the tile grown by `margin` units (independent Mercator maths)."""
    lo, hi = -MVT_BUFFER - margin, MVT_EXTENT + MVT_BUFFER + margin
    out = {}
    for s in sites:
        px, py = tile_pixel(s.lon, s.lat, z, x, y)
        if lo <= px <= hi and lo <= py <= hi:
            out[s.idx] = (s, px, py)
    return out


# Zooms at which no two of the grid's sites (0.1 degrees apart) share a thinning cell (0.088
# degrees wide at z5): every site is drawn. Thinning has its own tests (test_thinning.py).
@pytest.mark.parametrize("z", [5, 6, 8, 10])
def test_every_site_in_a_tile_is_there_with_its_values(owner_client, grid, z):
    artifact, sites = grid
    for x, y in sorted(tiles_of(sites, z)):
        response = owner_client.get(f"/artifact/{artifact['id']}/tiles/{z}/{x}/{y}.mvt")
        assert response.status_code == 200
        assert response["Content-Type"] == MVT
        layers = decode(response.content)
        assert list(layers) == ["hazard_map_mean_77"]
        layer = layers["hazard_map_mean_77"]
        assert layer["extent"] == MVT_EXTENT
        got = {f["id"]: f for f in layer["features"]}
        # Sites exactly on the edge of the buffer may fall either way after rounding: allow 1 unit.
        surely_in = expected_in_tile(sites, z, x, y, -1)
        maybe_in = expected_in_tile(sites, z, x, y, +1)
        assert set(surely_in) <= set(got) <= set(maybe_in)
        assert surely_in, "every tile of a site has at least that site"
        for idx, feature in got.items():
            site, px, py = maybe_in[idx]
            assert feature["geometry"]["type"] == "Point"
            gx, gy = feature["geometry"]["coordinates"]
            assert abs(gx - px) <= 1 and abs(gy - py) <= 1, (idx, gx, gy, px, py)
            assert feature["properties"] == pytest.approx(site.values)


def test_tile_attributes_can_be_limited_to_some_columns(owner_client, grid):
    artifact, sites = grid
    response = owner_client.get(f"/artifact/{artifact['id']}/tiles/6/32/23.mvt", {"properties": "SA(0.2)-0.002105"})
    features = decode(response.content)["hazard_map_mean_77"]["features"]
    assert features
    by_idx = {s.idx: s for s in sites}
    for feature in features:
        assert feature["properties"] == {"SA(0.2)-0.002105": pytest.approx(by_idx[feature["id"]].values["SA(0.2)-0.002105"])}


def test_a_tile_is_one_st_asmvt_statement(owner_client, grid):
    artifact, _ = grid
    with CaptureQueriesContext(connection) as queries:
        assert owner_client.get(f"/artifact/{artifact['id']}/tiles/6/32/23.mvt").status_code == 200
    feature_queries = [q["sql"] for q in queries.captured_queries if "geo_feature" in q["sql"]]
    assert len(feature_queries) == 1
    sql = feature_queries[0]
    assert "ST_AsMVT(" in sql and "SET LOCAL jit = off" in sql and "max_parallel_workers_per_gather = 0" in sql
    assert "ST_Transform(t.g, 3857)" in sql  # integer SRID, never 'EPSG:3857'


def test_an_empty_tile_is_204(owner_client, grid):
    artifact, _ = grid
    response = owner_client.get(f"/artifact/{artifact['id']}/tiles/3/0/0.mvt")
    assert response.status_code == 204
    assert response.content == b""


def test_a_tile_that_does_not_exist_is_404(owner_client, grid):
    artifact, _ = grid
    response = owner_client.get(f"/artifact/{artifact['id']}/tiles/2/9/9.mvt")
    assert response.status_code == 404
    assert "does not exist" in response.json()["detail"]


def test_tile_with_an_unknown_property_is_400_naming_it(owner_client, grid):
    artifact, _ = grid
    response = owner_client.get(f"/artifact/{artifact['id']}/tiles/6/32/23.mvt", {"properties": "PGA-0.002105,PGV-0.1"})
    assert response.status_code == 400
    assert "PGV-0.1" in response.json()["detail"]
    assert "PGA-0.002105" not in response.json()["detail"].split(";")[0]


def test_tiles_are_gzipped_when_the_client_accepts_it(owner_client, grid):
    artifact, _ = grid
    plain = owner_client.get(f"/artifact/{artifact['id']}/tiles/6/32/23.mvt")
    zipped = owner_client.get(f"/artifact/{artifact['id']}/tiles/6/32/23.mvt", HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped["Vary"]
    assert gzip.decompress(zipped.content) == plain.content
    assert zipped["Content-Type"] == MVT


def test_tilejson_lets_maplibre_add_the_layer_from_one_url(owner_client, grid):
    artifact, sites = grid
    doc = owner_client.get(f"/artifact/{artifact['id']}/tiles.json").json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == [f"http://testserver/artifact/{artifact['id']}/tiles/{{z}}/{{x}}/{{y}}.mvt"]
    assert doc["bounds"] == artifact["bbox"]
    assert 0 <= doc["minzoom"] <= doc["center"][2] <= doc["maxzoom"]
    [layer] = doc["vector_layers"]
    assert layer["id"] == "hazard_map_mean_77"
    assert layer["fields"] == {name: "Number" for name in sites[0].values}


def test_tilejson_with_properties_carries_them_to_the_tile_urls(owner_client, grid):
    artifact, _ = grid
    doc = owner_client.get(f"/artifact/{artifact['id']}/tiles.json", {"properties": "PGA-0.002105"}).json()
    assert doc["tiles"][0].endswith("/tiles/{z}/{x}/{y}.mvt?properties=PGA-0.002105")
    assert doc["vector_layers"][0]["fields"] == {"PGA-0.002105": "Number"}


def test_custom_site_id_is_a_string_attribute(owner_client):
    from tests.conftest import fixture_bytes
    from tests.support import upload

    [artifact] = upload(owner_client, "hazard_curve-mean-PGA_8.csv", fixture_bytes("hazard_curve-mean-PGA_8.csv")).json()["artifacts"]
    doc = owner_client.get(f"/artifact/{artifact['id']}/tiles.json").json()
    assert doc["vector_layers"][0]["fields"]["custom_site_id"] == "String"
    response = owner_client.get(f"/artifact/{artifact['id']}/tiles/0/0/0.mvt")
    [layer] = decode(response.content).values()
    assert all(isinstance(f["properties"]["custom_site_id"], str) for f in layer["features"])


# --- access ----------------------------------------------------------------------------------

PATHS = ["/artifact/{id}/tiles/6/32/23.mvt", "/artifact/{id}/tiles.json"]


@pytest.mark.parametrize("path", PATHS)
def test_another_users_tiles_are_404(other_client, grid, path):
    artifact, _ = grid
    response = other_client.get(path.format(id=artifact["id"]))
    assert response.status_code == 404
    assert other_client.get(path.format(id=999999)).json()["detail"].replace("999999", "N") == response.json()["detail"].replace(
        str(artifact["id"]), "N"
    )


@pytest.mark.parametrize("path", PATHS)
def test_anonymous_tiles_are_401(anon_client, grid, path):
    artifact, _ = grid
    assert anon_client.get(path.format(id=artifact["id"])).status_code == 401


@pytest.mark.parametrize("path", PATHS)
def test_a_shared_users_tiles_are_served_and_a_staff_users_are_404(owner, other_user, other_client, staff_client, grid, path):
    from sharing.services import share_create

    artifact, _ = grid
    url = path.format(id=artifact["id"])
    assert other_client.get(url).status_code == 404
    share, _ = share_create(sharer=owner, artifact=Artifact.objects.get(pk=artifact["id"]), user="other")
    response = other_client.get(url)
    assert response.status_code == 200
    assert staff_client.get(url).status_code == 404
    share.delete()
    assert other_client.get(url).status_code == 404
