"""The low zooms of a big map thinned at import (geo.overview): the same tiles as thinning per request."""

import io
import math

import mapbox_vector_tile
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from geo.models import TileOverview
from geo.overview import MAX_COLUMNS, MAX_ZOOM, MIN_SITES_PER_CELL, overview_position, overview_zoom
from geo.thinning import CELLS_PER_TILE
from icebox.models import Artifact
from tests.maps_support import cells_of, expected_per_cell, grid_sites, tiles_of
from tests.synthetic import hazard_map_csv, site_ids

COLUMNS = ["PGA-0.002105", "PGA-0.000404", "SA(0.2)-0.002105", "SA(0.2)-0.000404"]


def tied_map(nlon, nlat, *, step, lon0=7.5, lat0=42.5) -> bytes:
    """A hazard map whose values take three levels only, differently per column: most cells
    hold ties, which the rule breaks by the lowest idx. With the engine's custom_site_id (text):
    a tile of that column alone has nothing to thin by, and keeps each cell's lowest idx."""
    lines = hazard_map_csv(nlon, nlat, lon0=lon0, lat0=lat0, step=step).decode().splitlines()
    out = [lines[0].replace("#,", "#,,", 1), "custom_site_id," + lines[1]]
    for n, (site_id, line) in enumerate(zip(site_ids(nlon * nlat), lines[2:])):
        lon, lat, *values = line.split(",")
        out.append(",".join([site_id, lon, lat, *[f"{((n * (k + 3)) % 3 + 1) * 1e-3:.6E}" for k in range(len(values))]]))
    return ("\n".join(out) + "\n").encode()


def upload(client, data: bytes, name: str) -> dict:
    f = io.BytesIO(data)
    f.name = name
    response = client.post("/artifacts", {"file": f}, format="multipart")
    assert response.status_code == 201, response.content
    [artifact] = response.json()["artifacts"]
    return artifact


@pytest.fixture
def twins(owner_client):
    """The same 40,000-site map twice: one with its overview, one thinned per request (as an artifact stored before it)."""
    data = tied_map(200, 200, step=0.025)
    with_overview = upload(owner_client, data, "hazard_map-mean_tied.csv")
    live = upload(owner_client, data, "hazard_map-mean_tied.csv")
    Artifact.objects.filter(pk=live["id"]).update(tile_overview_zoom=None)
    TileOverview.objects.filter(artifact_id=live["id"]).delete()
    return with_overview, live, grid_sites(data)


def tile(client, artifact, z, x, y, **query):
    response = client.get(f"/artifact/{artifact['id']}/tiles/{z}/{x}/{y}.mvt", query)
    assert response.status_code in (200, 204), response.content
    return response.content


def test_a_big_map_gets_an_overview_of_its_low_zooms_and_a_small_one_none(owner_client, twins):
    with_overview, _, _ = twins
    zoom = Artifact.objects.get(pk=with_overview["id"]).tile_overview_zoom
    assert zoom is not None and zoom >= 4
    assert set(TileOverview.objects.filter(artifact_id=with_overview["id"]).values_list("z", flat=True).distinct()) == set(range(zoom + 1))
    # Shared partition (ICEBOX_SHARED_PARTITION_MAX_ROWS): thinned per tile, in milliseconds.
    small = upload(owner_client, tied_map(100, 100, step=0.025), "hazard_map-mean_small.csv")
    assert Artifact.objects.get(pk=small["id"]).tile_overview_zoom is None
    assert not TileOverview.objects.filter(artifact_id=small["id"]).exists()


@pytest.mark.parametrize("properties", [None, "SA(0.2)-0.000404", "PGA-0.000404,SA(0.2)-0.002105", "custom_site_id"])
def test_every_tile_of_the_overview_zooms_is_byte_for_byte_the_tile_thinned_per_request(owner_client, twins, properties):
    with_overview, live, sites = twins
    query = {"properties": properties} if properties else {}
    zoom = Artifact.objects.get(pk=with_overview["id"]).tile_overview_zoom
    compared = 0
    for z in range(zoom + 1):
        for x, y in sorted(tiles_of(sites, z)):
            a, b = tile(owner_client, with_overview, z, x, y, **query), tile(owner_client, live, z, x, y, **query)
            assert a == b, (z, x, y)
            compared += bool(a)
    assert compared >= zoom + 1


@pytest.mark.parametrize("column", ["PGA-0.000404", None])
def test_the_kept_site_of_each_cell_is_the_largest_value_ties_to_the_lowest_idx(owner_client, twins, column):
    with_overview, _, sites = twins
    zoom = Artifact.objects.get(pk=with_overview["id"]).tile_overview_zoom
    for z in (0, zoom):
        for x, y in sorted(tiles_of(sites, z)):
            data = tile(owner_client, with_overview, z, x, y, properties=column or "custom_site_id")
            [layer] = mapbox_vector_tile.decode(data).values()
            kept = {f["id"] for f in layer["features"]}
            expected = expected_per_cell(sites, z, x, y, column=column)
            assert expected
            assert {site.idx for site in expected.values()} <= kept


def statements_of(client, artifact, z, x, y, **query) -> str:
    with CaptureQueriesContext(connection) as queries:
        tile(client, artifact, z, x, y, **query)
    return "\n".join(q["sql"] for q in queries.captured_queries)


def test_tiles_up_to_the_overview_zoom_read_the_overview_and_finer_ones_the_sites(owner_client, twins):
    with_overview, _, sites = twins
    zoom = Artifact.objects.get(pk=with_overview["id"]).tile_overview_zoom
    middle = [sites[len(sites) // 2]]
    assert "geo_tile_overview" in statements_of(owner_client, with_overview, zoom, *tiles_of(middle, zoom).pop())
    assert "geo_tile_overview" not in statements_of(owner_client, with_overview, zoom + 1, *tiles_of(middle, zoom + 1).pop())


def test_a_column_past_the_overviews_columns_and_no_column_at_all_have_their_place():
    columns = [{"name": f"c{i}", "dtype": "float"} for i in range(MAX_COLUMNS + 3)] + [{"name": "id", "dtype": "text"}]
    assert overview_position(columns, None) == 1
    assert overview_position(columns, "c0") == 2
    assert overview_position(columns, f"c{MAX_COLUMNS - 1}") == MAX_COLUMNS + 1
    assert overview_position(columns, f"c{MAX_COLUMNS}") is None


def test_deleting_the_artifact_deletes_its_overview(owner_client, twins):
    with_overview, _, _ = twins
    assert TileOverview.objects.filter(artifact_id=with_overview["id"]).exists()
    assert owner_client.delete(f"/artifact/{with_overview['id']}").status_code == 204
    assert not TileOverview.objects.filter(artifact_id=with_overview["id"]).exists()


def test_another_users_or_no_users_overview_tile_is_refused(owner_client, other_client, anon_client, twins):
    with_overview, _, sites = twins
    x, y = tiles_of([sites[0]], 2).pop()
    assert owner_client.get(f"/artifact/{with_overview['id']}/tiles/2/{x}/{y}.mvt").status_code == 200
    response = other_client.get(f"/artifact/{with_overview['id']}/tiles/2/{x}/{y}.mvt")
    assert response.status_code == 404 and "not found" in response.json()["detail"]
    assert anon_client.get(f"/artifact/{with_overview['id']}/tiles/2/{x}/{y}.mvt").status_code == 401


def cells_across(lon0, lat0, lon1, lat1, z):
    """Cells of the world's grid at zoom z in the box, computed here."""
    [(x0, y0)], [(x1, y1)] = cells_of(lon0, lat1, z), cells_of(lon1, lat0, z)
    return (x1 - x0 + 1) * (y1 - y0 + 1)


def test_the_overview_goes_down_to_the_finest_zoom_whose_cells_hold_several_sites():
    # 1M sites 0.02 degrees apart over Europe (bench/maps.py's map).
    bbox = [5.001, 40.001, 24.981, 59.981]
    zoom = overview_zoom(bbox, 1_000_000)
    assert 1_000_000 >= MIN_SITES_PER_CELL * cells_across(*bbox, zoom)
    assert 1_000_000 < MIN_SITES_PER_CELL * cells_across(*bbox, zoom + 1)
    assert 2**zoom * CELLS_PER_TILE * 0.02 < 360 / 2, "a cell of that zoom holds more than two sites across"


def test_sites_all_at_one_place_are_thinned_at_every_zoom_and_a_sparse_world_at_none():
    assert overview_zoom([10.0, 45.0, 10.0, 45.0], 100) == MAX_ZOOM
    assert overview_zoom([-180.0, -85.0, 180.0, 85.0], 20_000) is None
    assert overview_zoom(None, 100) is None
    assert overview_zoom([10.0, 45.0, 10.0, 45.0], MIN_SITES_PER_CELL - 1) is None
    assert math.isfinite(overview_zoom([-180.0, -85.0, 180.0, 85.0], 10_000_000))


def test_the_command_builds_the_overview_of_a_map_stored_before_overviews_and_skips_the_rest(owner_client, twins):
    with_overview, live, sites = twins
    before = list(TileOverview.objects.filter(artifact_id=with_overview["id"]).order_by("z", "cx", "cy").values_list("z", "cx", "cy", "winners"))
    out = io.StringIO()
    call_command("icebox_tile_overviews", stdout=out)
    assert out.getvalue().strip() == "built the tile overview of 1 artifact(s)"
    # The map stored "before" now has the overview its twin got at import, and its tiles read it.
    assert Artifact.objects.get(pk=live["id"]).tile_overview_zoom == Artifact.objects.get(pk=with_overview["id"]).tile_overview_zoom
    assert list(TileOverview.objects.filter(artifact_id=live["id"]).order_by("z", "cx", "cy").values_list("z", "cx", "cy", "winners")) == before
    middle = [sites[len(sites) // 2]]
    assert "geo_tile_overview" in statements_of(owner_client, live, 2, *tiles_of(middle, 2).pop())
    out = io.StringIO()
    call_command("icebox_tile_overviews", stdout=out)
    assert out.getvalue().strip() == "built the tile overview of 0 artifact(s)"
