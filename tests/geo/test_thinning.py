"""Thinning of dense vector tiles (geo.thinning): at most one feature per cell, the rule's one."""

import math

import mapbox_vector_tile
import pytest
from django.db import connection

from geo.selectors import MVT_BUFFER, MVT_EXTENT
from geo.tasks import build_tile_overview
from geo.thinning import THINNING_CELL
from icebox.models import Artifact
from tests.maps_support import cells_of, expected_per_cell, tile_pixel, upload_grid

FIRST = "PGA-0.002105"  # the first data column of tests.synthetic's hazard maps


def decode(data: bytes) -> list[dict]:
    [layer] = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True}).values()
    assert layer["extent"] == MVT_EXTENT
    return layer["features"]


def tile_of(lon, lat, z):
    n = 2**z
    return int((lon + 180.0) / 360.0 * n), int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)


@pytest.fixture(params=["overview", "live"])
def dense(request, owner_client):
    """40,000 sites 0.025 degrees apart: at z4 (cells ~0.09 degrees wide) several sites share each cell.

    Twice: with the low zooms thinned by the worker after the upload (geo.overview), and thinned
    per request (as they are until the worker has built them): the rule is the same either way.
    """
    artifact, sites = upload_grid(owner_client, 200, 200, lon0=7.5, lat0=42.5, step=0.025, name="hazard_map-mean_dense.csv")
    if request.param == "overview":
        assert build_tile_overview.call(artifact["id"]) is True
        assert Artifact.objects.get(pk=artifact["id"]).tile_overview_zoom >= 4
    else:
        assert Artifact.objects.get(pk=artifact["id"]).tile_overview_zoom is None
    return artifact, sites


def kept_by_cell(features, sites, z):
    """The tile's features by the cell their site is in (each site's cell computed here)."""
    by_cell = {}
    for f in features:
        site = sites[f["id"]]
        possible = cells_of(site.lon, site.lat, z)
        if len(possible) == 1:
            by_cell.setdefault(possible.pop(), []).append(f)
    return by_cell


def test_a_dense_low_zoom_tile_keeps_one_feature_per_cell_the_one_with_the_largest_first_column(owner_client, dense):
    artifact, sites = dense
    z = 4
    x, y = tile_of(10.0, 45.0, z)
    features = decode(owner_client.get(f"/artifact/{artifact['id']}/tiles/{z}/{x}/{y}.mvt").content)
    by_cell = kept_by_cell(features, sites, z)
    assert all(len(group) == 1 for group in by_cell.values())
    expected = expected_per_cell(sites, z, x, y, column=FIRST)
    assert len(expected) > 0.8 * len(by_cell), "most cells are certain"
    assert len(features) < len(sites) / 3, "the tile is thinned"
    assert set(expected) <= set(by_cell), "every cell with a site has its feature"
    for cell, site in expected.items():
        [kept] = by_cell[cell]
        assert kept["id"] == site.idx, cell
        assert kept["properties"] == pytest.approx(site.values)
        px, py = tile_pixel(site.lon, site.lat, z, x, y)
        assert abs(kept["geometry"]["coordinates"][0] - px) <= 1 and abs(kept["geometry"]["coordinates"][1] - py) <= 1


def test_thinning_follows_the_first_of_the_requested_properties(owner_client, dense):
    artifact, sites = dense
    z = 4
    x, y = tile_of(10.0, 45.0, z)
    column = "SA(0.2)-0.000404"
    features = decode(owner_client.get(f"/artifact/{artifact['id']}/tiles/{z}/{x}/{y}.mvt", {"properties": column}).content)
    expected = expected_per_cell(sites, z, x, y, column=column)
    got = {cell: group[0] for cell, group in kept_by_cell(features, sites, z).items()}
    for cell, site in expected.items():
        assert got[cell]["id"] == site.idx
        assert got[cell]["properties"] == pytest.approx({column: site.values[column]})


def test_the_size_of_a_low_zoom_tile_is_bounded_by_its_cells_not_by_the_sites(owner_client):
    # The same 30 x 30 degree area at z2 (cells ~0.35 degrees wide), with 10k and 90k sites.
    sparse, _ = upload_grid(owner_client, 100, 100, lon0=0.0, lat0=35.0, step=0.3, name="hazard_map-mean_10k.csv")
    dense, _ = upload_grid(owner_client, 300, 300, lon0=0.0, lat0=35.0, step=0.1, name="hazard_map-mean_90k.csv")
    z = 2
    x, y = tile_of(15.0, 50.0, z)
    tiles = {}
    for artifact in (sparse, dense):
        data = owner_client.get(f"/artifact/{artifact['id']}/tiles/{z}/{x}/{y}.mvt").content
        tiles[artifact["feature_count"]] = (len(data), len(decode(data)))
    # The cells the area covers, from its corners: no tile of it can hold more features.
    [(x0, y0)], [(x1, y1)] = cells_of(0.0 + 1e-3, 35.0 + 29.9, z), cells_of(29.9, 35.0 + 1e-3, z)
    cells = (x1 - x0 + 1) * (y1 - y0 + 1)
    (size_10k, count_10k), (size_90k, count_90k) = tiles[10000], tiles[90000]
    assert count_10k <= cells and count_90k <= cells
    assert count_90k < 90000 / 5
    # Nine times the sites, at most a little more bytes (all the cells are filled instead of most).
    assert size_90k <= 1.5 * size_10k


def unthinned_tile(artifact_id, z, x, y, layer):
    """The tile as the statement before thinning built it (no DISTINCT ON)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_AsMVT(q, %s, %s, 'geom', 'idx') FROM (SELECT idx, properties, "
            "ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(%s, %s, %s), %s, %s, true) AS geom"
            " FROM geo_feature WHERE artifact_id = %s) AS q",
            [layer, MVT_EXTENT, z, x, y, MVT_EXTENT, MVT_BUFFER, artifact_id],
        )
        return bytes(cursor.fetchone()[0])


@pytest.mark.parametrize("z", [8, 10])
def test_a_high_zoom_tile_where_no_two_sites_share_a_cell_is_unchanged(owner_client, dense, z):
    artifact, _ = dense
    x, y = tile_of(10.0, 45.0, z)
    thinned = decode(owner_client.get(f"/artifact/{artifact['id']}/tiles/{z}/{x}/{y}.mvt").content)
    unthinned = decode(unthinned_tile(artifact["id"], z, x, y, "hazard_map_mean_dense"))
    assert len(unthinned) > 100
    assert sorted(thinned, key=lambda f: f["id"]) == sorted(unthinned, key=lambda f: f["id"])


def test_tilejson_says_how_tiles_are_thinned(owner_client, dense):
    artifact, _ = dense
    [layer] = owner_client.get(f"/artifact/{artifact['id']}/tiles.json").json()["vector_layers"]
    assert layer["thinning"]["cell"] == THINNING_CELL
    assert layer["thinning"]["extent"] == MVT_EXTENT
    assert layer["thinning"]["keep_max_of"] == FIRST
    assert FIRST in layer["thinning"]["rule"] and "lowest feature id" in layer["thinning"]["rule"]
    [layer] = owner_client.get(f"/artifact/{artifact['id']}/tiles.json", {"properties": "SA(0.2)-0.000404"}).json()["vector_layers"]
    assert layer["thinning"]["keep_max_of"] == "SA(0.2)-0.000404"
