"""The low zooms of a big map thinned at import (geo.overview): the same tiles as thinning per request."""

import io
import logging
import math
import zipfile

import mapbox_vector_tile
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from artifacts.services import artifact_create
from geo import overview
from geo.models import TileOverview
from geo.overview import MAX_COLUMNS, MAX_ZOOM, MIN_SITES_PER_CELL, NEVER_SPARSE, build_lost_overviews, overview_position, overview_zoom
from geo.tasks import build_tile_overview
from geo.thinning import CELLS_PER_TILE
from icebox import housekeeping
from icebox.models import Artifact
from tests.engine.conftest import transactional
from tests.engine.worker import Worker, wait_for
from tests.kinds.test_input_kinds import read_as
from tests.maps_support import cells_of, expected_per_cell, grid_sites, tiles_of
from tests.pg_sessions import other_session
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


def _named(data: bytes, name: str = "hazard_map-mean_tied.csv") -> io.BytesIO:
    f = io.BytesIO(data)
    f.name = name
    return f


def upload(client, data: bytes, name: str) -> dict:
    f = io.BytesIO(data)
    f.name = name
    response = client.post("/artifacts", {"file": f}, format="multipart")
    assert response.status_code == 201, response.content
    [artifact] = response.json()["artifacts"]
    return artifact


def queued_builds() -> list[int]:
    """The artifacts whose overview build is queued (geo.tasks.build_tile_overview), oldest first."""
    tasks = DBTaskResult.objects.filter(task_path="geo.tasks.build_tile_overview", status="READY").order_by("enqueued_at")
    return [task.args_kwargs["args"][0] for task in tasks]


def run_queued_build(artifact_id: int) -> None:
    """What the worker does with the artifact's queued task (the real worker: test_the_worker_builds_...)."""
    task = DBTaskResult.objects.get(task_path="geo.tasks.build_tile_overview", args_kwargs__args=[artifact_id])
    assert build_tile_overview.call(*task.args_kwargs["args"]) is True
    task.delete()


@pytest.fixture
def twins(owner_client):
    """The same 40,000-site map twice: one with its overview and sparse zoom (the worker has run
    its queued build), one thinned per request at every zoom (its build not run yet, as an
    artifact stored before overviews)."""
    data = tied_map(200, 200, step=0.025)
    with_overview = upload(owner_client, data, "hazard_map-mean_tied.csv")
    live = upload(owner_client, data, "hazard_map-mean_tied.csv")
    assert queued_builds() == [with_overview["id"], live["id"]]
    run_queued_build(with_overview["id"])
    DBTaskResult.objects.all().delete()
    return with_overview, live, grid_sites(data)


def test_an_upload_stores_no_overview_but_queues_its_build_which_the_worker_runs(owner_client, tmp_path):
    """The upload answers without the overview (its tiles are thinned per request meanwhile,
    the same bytes); a real worker process builds it once the upload has committed."""
    response = owner_client.post("/artifacts", {"file": _named(tied_map(200, 200, step=0.025))}, format="multipart")
    assert response.status_code == 201, response.content
    [artifact] = response.json()["artifacts"]
    assert Artifact.objects.get(pk=artifact["id"]).tile_overview_zoom is None
    assert not TileOverview.objects.filter(artifact_id=artifact["id"]).exists()
    assert queued_builds() == [artifact["id"]]


@transactional
def test_the_worker_builds_the_queued_overview_once_the_upload_has_committed(owner_client, tmp_path):
    response = owner_client.post("/artifacts", {"file": _named(tied_map(200, 200, step=0.025))}, format="multipart")
    assert response.status_code == 201, response.content
    artifact_id = response.json()["artifacts"][0]["id"]
    assert Artifact.objects.get(pk=artifact_id).tile_overview_zoom is None
    with Worker("", tmp_path) as worker:
        wait_for(lambda: not queued_builds() and Artifact.objects.get(pk=artifact_id).tile_overview_zoom is not None,
                 timeout=120, what="the worker to build the overview", worker=worker)
    assert TileOverview.objects.filter(artifact_id=artifact_id).exists()
    assert Artifact.objects.get(pk=artifact_id).tile_sparse_zoom is not None


def test_a_refused_upload_queues_no_build(owner_client):
    good = tied_map(200, 200, step=0.025)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("hazard_map-mean_tied.csv", good)
        z.writestr("hazard_map-mean_bad.csv", good.replace(b"1.000000E-03", b"not-a-number", 1))
    response = owner_client.post("/artifacts", {"file": _named(archive.getvalue(), "outputs.zip")}, format="multipart")
    assert response.status_code == 400, response.content
    assert queued_builds() == [] and not Artifact.objects.exists()


def test_a_big_map_of_points_read_as_mixed_for_the_loader_queues_its_build_too(owner):
    """A job's sites with a depth on some rows only: every row a point (the table says "mixed" so
    that the loader writes the missing depths as nulls), its tiles thinned as points'. Its build
    is queued like any big map's (it was not while the upload judged by the table's geometry)."""
    data = b"".join(f"{5 + i % 200 * 0.025:.5f},{42 + i // 200 * 0.025:.5f}{',-1.0' if i % 2 else ''}\n".encode() for i in range(40_000))
    table = read_as("sites", {"s.csv": data}, "s.csv")
    assert table.geometry == "mixed"
    artifact = artifact_create(owner=owner, table=table)
    assert queued_builds() == [artifact.pk]
    run_queued_build(artifact.pk)
    assert Artifact.objects.get(pk=artifact.pk).tile_overview_zoom is not None


def test_a_build_of_a_deleted_small_or_built_artifact_does_nothing(owner_client, twins):
    with_overview, live, _ = twins
    before = TileOverview.objects.count()
    assert build_tile_overview.call(with_overview["id"]) is False  # built already
    assert build_tile_overview.call(10**12) is False  # no such artifact
    small = upload(owner_client, tied_map(100, 100, step=0.025), "hazard_map-mean_small.csv")
    assert build_tile_overview.call(small["id"]) is False
    assert TileOverview.objects.count() == before
    assert build_tile_overview.call(live["id"]) is True


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
    assert queued_builds() == []
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
    assert Artifact.objects.get(pk=live["id"]).tile_sparse_zoom == Artifact.objects.get(pk=with_overview["id"]).tile_sparse_zoom is not None
    out = io.StringIO()
    call_command("icebox_tile_overviews", stdout=out)
    assert out.getvalue().strip() == "built the tile overview of 0 artifact(s)"


def test_the_command_finds_the_sparse_zoom_of_a_map_stored_with_an_overview_before_it(owner_client, twins):
    with_overview, _, _ = twins
    sparse = Artifact.objects.get(pk=with_overview["id"]).tile_sparse_zoom
    Artifact.objects.filter(pk=with_overview["id"]).update(tile_sparse_zoom=None)
    call_command("icebox_tile_overviews", stdout=io.StringIO())
    assert Artifact.objects.get(pk=with_overview["id"]).tile_sparse_zoom == sparse


LOST_BUILDS = "tile overviews whose build was lost or failed"


@transactional
def test_housekeeping_builds_the_overview_whose_queued_build_a_killed_worker_lost(owner_client):
    artifact = upload(owner_client, tied_map(200, 200, step=0.025), "hazard_map-mean_tied.csv")
    # What a worker killed during the build leaves: the task RUNNING for ever, and nothing built
    # (its transaction ended with its session).
    assert DBTaskResult.objects.filter(task_path="geo.tasks.build_tile_overview").update(status=TaskResultStatus.RUNNING) == 1
    assert housekeeping.sweep()[LOST_BUILDS] == 1
    built = Artifact.objects.get(pk=artifact["id"])
    assert built.tile_overview_zoom is not None and built.tile_sparse_zoom is not None
    assert TileOverview.objects.filter(artifact_id=artifact["id"]).exists()
    assert housekeeping.sweep()[LOST_BUILDS] == 0


def test_housekeeping_builds_one_lost_overview_a_round(owner_client):
    """A backlog is built one map a round, so that it holds up neither a worker's start nor the
    round's other steps."""
    first = upload(owner_client, tied_map(200, 200, step=0.025), "hazard_map-mean_tied.csv")
    second = upload(owner_client, tied_map(200, 200, step=0.025), "hazard_map-mean_tied.csv")
    DBTaskResult.objects.all().delete()  # both builds lost
    assert build_lost_overviews() == 1
    assert Artifact.objects.get(pk=first["id"]).tile_overview_zoom is not None
    assert Artifact.objects.get(pk=second["id"]).tile_overview_zoom is None
    assert build_lost_overviews() == 1
    assert Artifact.objects.get(pk=second["id"]).tile_overview_zoom is not None
    assert build_lost_overviews() == 0


@transactional
def test_housekeeping_skips_a_build_in_progress_without_waiting_for_it(owner_client, caplog):
    artifact = upload(owner_client, tied_map(200, 200, step=0.025), "hazard_map-mean_tied.csv")
    builder = other_session()
    try:
        with builder.cursor() as cursor, connection.cursor() as ours:
            # A live worker's build holds the artifact's row until it commits.
            cursor.execute("SELECT 1 FROM icebox_artifact WHERE id = %s FOR UPDATE", [artifact["id"]])
            # Waiting would time out (a failed build, logged) rather than hang the suite.
            ours.execute("SET lock_timeout = '10s'")
            try:
                with caplog.at_level(logging.ERROR, logger="geo.overview"):
                    assert build_lost_overviews() == 0
            finally:
                ours.execute("RESET lock_timeout")
            assert caplog.text == ""
        assert Artifact.objects.get(pk=artifact["id"]).tile_overview_zoom is None
        # A rollback releases the row before it answers.
        builder.rollback()
    finally:
        builder.close()
    assert build_lost_overviews() == 1


def test_one_failing_build_is_logged_and_the_others_are_still_built(owner_client, monkeypatch, caplog):
    first = upload(owner_client, tied_map(200, 200, step=0.025), "hazard_map-mean_tied.csv")
    second = upload(owner_client, tied_map(200, 200, step=0.025), "hazard_map-mean_tied.csv")
    real = overview.build_overview

    def failing_for_the_first(cursor, *, artifact_id, **kwargs):
        if artifact_id == first["id"]:
            raise RuntimeError("disk full")
        return real(cursor, artifact_id=artifact_id, **kwargs)

    monkeypatch.setattr(overview, "build_overview", failing_for_the_first)
    with caplog.at_level(logging.ERROR, logger="geo.overview"):
        assert build_lost_overviews() == 1
    assert f"building the tile overview of artifact {first['id']} failed" in caplog.text
    assert Artifact.objects.get(pk=first["id"]).tile_overview_zoom is None
    assert Artifact.objects.get(pk=second["id"]).tile_overview_zoom is not None
    # Tried again at the next sweep.
    monkeypatch.setattr(overview, "build_overview", real)
    assert build_lost_overviews() == 1
    assert Artifact.objects.get(pk=first["id"]).tile_overview_zoom is not None


def shared_cell_zooms(sites) -> set[int]:
    """The zooms (0..MAX_ZOOM) at which two of `sites` lie in one cell for sure, computed here
    (cells_of); at every other zoom no two of them can share one, which is checked (a site on a
    cell's edge may count on either side: none of its possible cells may hold another site)."""
    shared = set()
    for z in range(MAX_ZOOM + 1):
        cells = [cells_of(s.lon, s.lat, z) for s in sites]
        sure = [next(iter(c)) for c in cells if len(c) == 1]
        if len(set(sure)) < len(sure):
            shared.add(z)
        else:
            assert len(set().union(*cells)) == sum(len(c) for c in cells), f"zoom {z}: neither shared nor alone for sure"
    return shared


def test_the_sparse_zoom_is_the_coarsest_from_which_on_no_two_sites_share_a_cell(twins):
    with_overview, _, sites = twins
    shared = shared_cell_zooms(sites)
    expected = max(shared) + 1
    assert shared == set(range(expected)) and expected <= MAX_ZOOM  # a grid: every coarser zoom shares too
    assert Artifact.objects.get(pk=with_overview["id"]).tile_sparse_zoom == expected
    assert expected > Artifact.objects.get(pk=with_overview["id"]).tile_overview_zoom


def test_two_sites_closer_than_the_finest_cell_make_every_zoom_thinned(owner_client):
    lines = tied_map(150, 150, step=0.025).decode().splitlines()
    # The second site moved to 0.1 m from the first: they share a cell at every zoom searched.
    first, second = lines[2].split(","), lines[3].split(",")
    lines[3] = ",".join([second[0], f"{float(first[1]) + 1e-6:.6f}", first[2], *second[3:]])
    data = ("\n".join(lines) + "\n").encode()
    assert max(shared_cell_zooms(grid_sites(data))) == MAX_ZOOM
    artifact = upload(owner_client, data, "hazard_map-mean_close.csv")
    run_queued_build(artifact["id"])
    assert Artifact.objects.get(pk=artifact["id"]).tile_sparse_zoom == NEVER_SPARSE
    site = grid_sites(data)[0]
    assert "DISTINCT ON" in statements_of(owner_client, artifact, 16, *tiles_of([site], 16).pop())


@pytest.mark.parametrize("properties", [None, "SA(0.2)-0.000404", "custom_site_id"])
def test_tiles_from_the_sparse_zoom_on_are_byte_for_byte_the_tiles_thinned_per_request(owner_client, twins, properties):
    with_overview, live, sites = twins
    query = {"properties": properties} if properties else {}
    sparse = Artifact.objects.get(pk=with_overview["id"]).tile_sparse_zoom
    compared = 0
    for z in (sparse, sparse + 1):
        for x, y in sorted(tiles_of(sites, z)):
            a, b = tile(owner_client, with_overview, z, x, y, **query), tile(owner_client, live, z, x, y, **query)
            assert a == b, (z, x, y)
            compared += bool(a)
    assert compared >= 8


def test_tiles_from_the_sparse_zoom_on_are_not_thinned_and_coarser_ones_are(owner_client, twins):
    with_overview, live, sites = twins
    sparse = Artifact.objects.get(pk=with_overview["id"]).tile_sparse_zoom
    middle = [sites[len(sites) // 2]]
    assert "DISTINCT ON" not in statements_of(owner_client, with_overview, sparse, *tiles_of(middle, sparse).pop())
    assert "DISTINCT ON" not in statements_of(owner_client, with_overview, 14, *tiles_of(middle, 14).pop())
    assert "DISTINCT ON" in statements_of(owner_client, with_overview, sparse - 1, *tiles_of(middle, sparse - 1).pop())
    assert "DISTINCT ON" in statements_of(owner_client, live, sparse, *tiles_of(middle, sparse).pop())
