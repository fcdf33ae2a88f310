"""Equality filters on a spatial artifact: GeoJSON, vector tiles, TileJSON and OGC items; the index behind them.

The artifact is of a kind registered by this test only (tests/geo/event_points_kind.py: points per
event and site, like a GMF, FILTERABLE event_id and site); expectations come from the generated
rows, never from Icebox.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile

import mapbox_vector_tile
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from geo.filters import filter_features
from geo.models import Feature
from tests.geo import event_points_kind
from tests.maps_support import body, tile_pixel
from tests.support import upload

pytestmark = pytest.mark.django_db

EVENTS, NLON, NLAT = 4, 6, 5
TILE = (10, 540, 387)  # z/x/y of the tile holding the grid's south-west corner (lon 10, lat 40)


def expected_rows(data: bytes) -> list[dict]:
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    return [
        {"idx": idx, "lon": float(r["lon"]), "lat": float(r["lat"]), "properties": {"event_id": int(r["event_id"]), "site": r["site"], "gmv": float(r["gmv"])}}
        for idx, r in enumerate(rows)
    ]


@pytest.fixture
def points(event_kind, owner_client):
    data = event_points_kind.make_csv(EVENTS, NLON, NLAT)
    response = upload(owner_client, "event-points_9.csv", data)
    assert response.status_code == 201, response.content
    [artifact] = response.json()["artifacts"]
    return artifact["id"], expected_rows(data)


def features(response) -> list[dict]:
    assert response.status_code == 200, body(response)
    return json.loads(body(response))["features"]


def as_expected(feature) -> dict:
    lon, lat = feature["geometry"]["coordinates"]
    return {"idx": feature["id"], "lon": lon, "lat": lat, "properties": feature["properties"]}


def test_geojson_of_one_event_is_that_events_rows(owner_client, points):
    artifact, rows = points
    for event in range(EVENTS):
        got = [as_expected(f) for f in features(owner_client.get(f"/artifact/{artifact}?event_id={event}"))]
        assert got == [row for row in rows if row["properties"]["event_id"] == event]


def test_filters_combine_with_each_other_with_bbox_and_with_paging(owner_client, points):
    artifact, rows = points
    got = features(owner_client.get(f"/artifact/{artifact}?event_id=2&site=s7"))
    assert [f["id"] for f in got] == [r["idx"] for r in rows if r["properties"] == {**r["properties"], "event_id": 2, "site": "s7"}]
    assert len(got) == 1
    box = (10.0, 40.0, 10.025, 40.025)
    got = features(owner_client.get(f"/artifact/{artifact}?event_id=1&bbox={','.join(map(str, box))}"))
    want = [r["idx"] for r in rows if r["properties"]["event_id"] == 1 and box[0] <= r["lon"] <= box[2] and box[1] <= r["lat"] <= box[3]]
    assert [f["id"] for f in got] == want and 0 < len(want) < NLON * NLAT
    # Pages of one event, followed by `next`, are the event's rows in file order.
    seen, url = [], f"/artifact/{artifact}?event_id=3&limit=7"
    while url:
        page = json.loads(body(owner_client.get(url)))
        seen += [f["id"] for f in page["features"]]
        url = page["next"]
    assert seen == [r["idx"] for r in rows if r["properties"]["event_id"] == 3]


def test_a_tile_of_one_event_holds_every_site_of_that_event_in_it(owner_client, points):
    artifact, rows = points
    z, x, y = TILE
    for event in (0, 3):
        response = owner_client.get(f"/artifact/{artifact}/tiles/{z}/{x}/{y}.mvt?event_id={event}")
        assert response.status_code == 200
        [layer] = mapbox_vector_tile.decode(response.content, default_options={"y_coord_down": True}).values()
        want = {}
        for r in rows:
            px, py = tile_pixel(r["lon"], r["lat"], z, x, y)
            if r["properties"]["event_id"] == event and -64 <= px <= 4160 and -64 <= py <= 4160:
                want[r["idx"]] = r["properties"]
        assert want
        assert {f["id"]: f["properties"] for f in layer["features"]} == want
    # Unfiltered, the events' points at one site share a cell: thinning keeps the largest gmv (the last event).
    response = owner_client.get(f"/artifact/{artifact}/tiles/{z}/{x}/{y}.mvt")
    [layer] = mapbox_vector_tile.decode(response.content).values()
    assert {f["properties"]["event_id"] for f in layer["features"]} == {EVENTS - 1}


def test_tilejson_offers_the_tiles_of_one_event(owner_client, points):
    artifact, _ = points
    response = owner_client.get(f"/artifact/{artifact}/tiles.json?event_id=2")
    assert response.status_code == 200
    document = response.json()
    assert document["tiles"] == [f"http://testserver/artifact/{artifact}/tiles/{{z}}/{{x}}/{{y}}.mvt?event_id=2"]
    [layer] = document["vector_layers"]
    assert layer["filterable"] == {"event_id": "int", "site": "text"}
    assert layer["filters"] == {"event_id": 2}
    assert owner_client.get(f"/artifact/{artifact}/tiles.json").json()["vector_layers"][0]["filters"] == {}


def test_ogc_items_of_one_event(owner_client, points):
    artifact, rows = points
    page = json.loads(body(owner_client.get(f"/ogc/collections/{artifact}/items?event_id=1&limit=1000")))
    assert [as_expected(f) for f in page["features"]] == [r for r in rows if r["properties"]["event_id"] == 1]
    assert page["numberReturned"] == page["numberMatched"] == NLON * NLAT
    page = json.loads(body(owner_client.get(f"/ogc/collections/{artifact}/items?event_id=1&limit=10")))
    assert page["numberReturned"] == 10 and "numberMatched" not in page or page.get("numberMatched") is None


@pytest.mark.parametrize(
    "path",
    ["/artifact/{a}", "/artifact/{a}/tiles/10/540/387.mvt", "/artifact/{a}/tiles.json", "/ogc/collections/{a}/items", "/artifact/{a}/rows"],
)
@pytest.mark.parametrize(
    "query, message",
    [
        ("event_id=one", "event_id is an integer column: event_id= takes an integer in ASCII digits, got 'one'"),
        ("event_id=1.5", "got '1.5'"),
        ("eventid=1", "eventid"),
        ("gmv=0.5", "gmv"),  # a column, but not a filterable one
        ("event_id=1&event_id=2", "event_id is given 2 times"),
    ],
)
def test_bad_filters_are_400_with_a_message(owner_client, points, path, query, message):
    artifact, _ = points
    response = owner_client.get(path.format(a=artifact) + "?" + query)
    assert response.status_code == 400, body(response)
    assert response.json()["code"] == "invalid_parameter"
    assert message in response.json()["detail"]


def test_filters_on_a_hazard_map_are_refused(owner_client):
    from tests.conftest import fixture_bytes

    [artifact] = upload(owner_client, "hazard_map-mean_2.csv", fixture_bytes("hazard_map-mean_2.csv")).json()["artifacts"]
    response = owner_client.get(f"/artifact/{artifact['id']}?event_id=1")
    assert response.status_code == 400
    assert "this artifact has no filterable column" in response.json()["detail"]


def test_other_users_and_anonymous_cannot_filter_the_owners_artifact(points, other_client, anon_client):
    artifact, _ = points
    for path in (f"/artifact/{artifact}?event_id=1", f"/artifact/{artifact}/tiles/10/540/387.mvt?event_id=1", f"/ogc/collections/{artifact}/items?event_id=1"):
        assert other_client.get(path).status_code == 404
        assert anon_client.get(path).status_code == 401


# --- the index -------------------------------------------------------------------------------


def partition_indexes(artifact_id: int) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [f"geo_feature_{artifact_id}"])
        return dict(cursor.fetchall())


def plan(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_loader_indexes_each_filterable_column_of_a_partition_of_its_own(event_kind, owner_client, settings):
    # A small artifact's rows are in the shared partition, scanned by artifact (at most the
    # threshold's rows); a big one gets these indexes. The threshold moved to make this one big.
    settings.ICEBOX_SHARED_PARTITION_MAX_ROWS = 0
    response = upload(owner_client, "event-points_9.csv", event_points_kind.make_csv(EVENTS, NLON, NLAT))
    assert response.status_code == 201, response.content
    artifact = response.json()["artifacts"][0]["id"]
    indexes = partition_indexes(artifact)
    assert indexes[f"geo_feature_{artifact}_f0"].endswith("USING btree (((properties -> 'event_id'::text)))")
    assert indexes[f"geo_feature_{artifact}_f1"].endswith("USING btree (((properties -> 'site'::text)))")


@pytest.fixture
def big(event_kind, owner_client):
    """20 events over 100 x 100 sites: 200,000 rows, one event 5% of them."""
    response = upload(owner_client, "event-points_10.csv", event_points_kind.make_csv(20, 100, 100, step=0.001))
    assert response.status_code == 201
    return response.json()["artifacts"][0]["id"]


def test_one_event_of_a_big_map_is_an_index_scan_not_a_scan_of_the_map(owner_client, big):
    qs = filter_features(Feature.objects.filter(artifact_id=big), {"event_id": 7}).values("idx")
    text = plan(*qs.query.sql_with_params())
    assert f"geo_feature_{big}_f0" in text, text
    assert "Seq Scan" not in text, text
    # The tile of one event: the statement the view runs, planned with the same index.
    with CaptureQueriesContext(connection) as queries:
        response = owner_client.get(f"/artifact/{big}/tiles/12/2161/1550.mvt?event_id=7")
    assert response.status_code == 200
    [tile_sql] = [q["sql"] for q in queries.captured_queries if "ST_AsMVT" in q["sql"]]
    select = tile_sql[tile_sql.index("SELECT ST_AsMVT"):]
    text = plan(select, None)
    assert f"geo_feature_{big}_f0" in text or f"geo_feature_{big}_geom" in text, text
    assert "Seq Scan on geo_feature_" not in text, text


# --- a real GMF (branch spatial's gmf kind): one event is one map -------------------------------

GMF_ZIP = "scenario1_calc1_output-4-gmf_data-csv.zip"


def gmf_expected() -> tuple[list[dict], list[dict]]:
    """The GMF rows at their mesh points, and the sigma_epsilon rows, read with the csv module."""
    from tests.conftest import fixture_bytes

    with zipfile.ZipFile(io.BytesIO(fixture_bytes(GMF_ZIP))) as archive:
        def rows(name):
            return list(csv.DictReader(archive.read(name).decode().splitlines()[1:]))

        mesh = {r["custom_site_id"]: (float(r["lon"]), float(r["lat"])) for r in rows("sitemesh_1.csv")}
        gmf = [
            {"idx": i, "lon": mesh[r["custom_site_id"]][0], "lat": mesh[r["custom_site_id"]][1],
             "properties": {"event_id": int(r["event_id"]), "gmv_PGA": float(r["gmv_PGA"]), "custom_site_id": r["custom_site_id"]}}
            for i, r in enumerate(rows("gmf-data_1.csv"))
        ]
        sigma = [{"event_id": int(r["event_id"]), "rlz_id": int(r["rlz_id"]), "sig_inter_PGA": float(r["sig_inter_PGA"]),
                  "eps_inter_PGA": float(r["eps_inter_PGA"])} for r in rows("sigma_epsilon_1.csv")]
    return gmf, sigma


@pytest.fixture
def gmf(owner_client):
    from tests.conftest import fixture_bytes

    response = upload(owner_client, GMF_ZIP, fixture_bytes(GMF_ZIP))
    assert response.status_code == 201, response.content
    return {a["file_name"]: a for a in response.json()["artifacts"]}


def test_one_event_of_a_real_gmf_is_one_map(owner_client, gmf):
    rows, sigma = gmf_expected()
    artifact = gmf["gmf-data_1.csv"]
    assert artifact["artifact_type"] == "gmf"
    events = sorted({r["properties"]["event_id"] for r in rows})
    assert len(events) > 1
    for event in events:
        want = [r for r in rows if r["properties"]["event_id"] == event]
        got = [as_expected(f) for f in features(owner_client.get(f"/artifact/{artifact['id']}?event_id={event}"))]
        assert got == want
        page = json.loads(body(owner_client.get(f"/ogc/collections/{artifact['id']}/items?event_id={event}&limit=10000")))
        assert [as_expected(f) for f in page["features"]] == want
        # z7 tile of the mesh around (0, 0): every site of this event, and only this event's.
        response = owner_client.get(f"/artifact/{artifact['id']}/tiles/7/64/63.mvt?event_id={event}")
        assert response.status_code == 200
        [layer] = mapbox_vector_tile.decode(response.content).values()
        in_tile = {r["idx"] for r in want if -64 <= tile_pixel(r["lon"], r["lat"], 7, 64, 63)[0] <= 4160 and -64 <= tile_pixel(r["lon"], r["lat"], 7, 64, 63)[1] <= 4160}
        assert in_tile and {f["id"] for f in layer["features"]} == in_tile
        assert {f["properties"]["event_id"] for f in layer["features"]} == {event}
    tilejson = owner_client.get(f"/artifact/{artifact['id']}/tiles.json?event_id={events[0]}").json()
    assert tilejson["tiles"][0].endswith(f".mvt?event_id={events[0]}")
    assert tilejson["vector_layers"][0]["filterable"] == {"event_id": "int"}
    # The zip's sigma_epsilon is a table: its rows, by event.
    table = gmf["sigma_epsilon_1.csv"]
    assert table["artifact_type"] == "table"
    page = json.loads(body(owner_client.get(f"/artifact/{table['id']}/rows?event_id={events[-1]}")))
    assert page["rows"] == [r for r in sigma if r["event_id"] == events[-1]] and page["rows"]
