"""GeoJSON paging and column subsets, and HTTP caching/gzip of artifact reads, on real PostGIS."""

import gzip
import json

import pytest
from django.db import connection

from icebox.models import Artifact
from tests.maps_support import body, json_body, upload_grid


@pytest.fixture
def grid(owner_client):
    return upload_grid(owner_client)


def _get(client, artifact, **params):
    response = client.get(f"/artifact/{artifact['id']}", params)
    assert response.status_code == 200, body(response)
    return json_body(response)


def _follow(client, url):
    """GET an absolute `next` URL with the test client."""
    path = url.removeprefix("http://testserver")
    response = client.get(path)
    assert response.status_code == 200, body(response)
    return json_body(response)


@pytest.mark.parametrize("bbox", [None, "5.95,40.5,6.55,41.25"])
def test_limit_and_next_walk_every_feature_once_in_file_order(owner_client, grid, bbox):
    artifact, sites = grid
    expected = [s.idx for s in sites if bbox is None or (5.95 <= s.lon <= 6.55 and 40.5 <= s.lat <= 41.25)]
    params = {"limit": 7, **({"bbox": bbox} if bbox else {})}
    page = _get(owner_client, artifact, **params)
    seen = []
    while True:
        assert len(page["features"]) <= 7
        seen += [f["id"] for f in page["features"]]
        if page["next"] is None:
            break
        assert len(page["features"]) == 7
        page = _follow(owner_client, page["next"])
    assert seen == expected


def test_offset_without_limit_skips_features(owner_client, grid):
    artifact, sites = grid
    got = _get(owner_client, artifact, offset=1190)
    assert [f["id"] for f in got["features"]] == [s.idx for s in sites[1190:]]
    assert "next" not in got


def test_a_page_past_the_end_is_empty(owner_client, grid):
    artifact, _ = grid
    got = _get(owner_client, artifact, limit=10, offset=5000)
    assert got["features"] == [] and got["next"] is None


def test_without_limit_the_collection_has_no_next_member(owner_client, grid):
    artifact, sites = grid
    got = _get(owner_client, artifact)
    assert set(got) == {"type", "features"}
    assert len(got["features"]) == len(sites)


def test_properties_returns_only_those_columns_with_the_files_values(owner_client, grid):
    artifact, sites = grid
    got = _get(owner_client, artifact, properties="SA(0.2)-0.002105,PGA-0.002105", bbox="5,40,5.5,40.5")
    assert got["features"]
    by_idx = {s.idx: s for s in sites}
    for feature in got["features"]:
        values = by_idx[feature["id"]].values
        assert feature["properties"] == {"SA(0.2)-0.002105": values["SA(0.2)-0.002105"], "PGA-0.002105": values["PGA-0.002105"]}


@pytest.mark.parametrize(
    "params,message",
    [
        ({"properties": "PGA-0.002105,PGV-1,SA(9)"}, "unknown column(s) PGV-1, SA(9)"),
        ({"properties": "PGA-0.002105,"}, "comma-separated"),
        ({"limit": "0"}, "limit must be >= 1"),
        ({"limit": "ten"}, "limit must be an integer"),
        ({"offset": "-1"}, "offset must be an integer"),
    ],
)
def test_invalid_paging_or_properties_are_400(owner_client, grid, params, message):
    artifact, _ = grid
    response = owner_client.get(f"/artifact/{artifact['id']}", params)
    assert response.status_code == 400
    assert message in response.json()["detail"]


# A column name that is SQL if pasted into a statement: a string literal ending in a division by
# zero, or a syntax error as an identifier. Bound as a parameter it is just a jsonb key.
HOSTILE_COLUMN = "PGA' || (SELECT 1/0) || '\")--"


def _rename_column(artifact_id: int, old: str, new: str) -> None:
    """Give a stored column another name, in the artifact's metadata and in every feature's properties."""
    artifact = Artifact.objects.get(pk=artifact_id)
    for column in artifact.metadata["columns"]:
        if column["name"] == old:
            column["name"] = new
    artifact.save(update_fields=["metadata"])
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE geo_feature SET properties = properties - %s || jsonb_build_object(%s, properties -> %s) WHERE artifact_id = %s",
            [old, new, old, artifact_id],
        )


def test_properties_parameter_values_are_bound_not_sql(owner_client, grid):
    # The name passes validation (it is one of the artifact's columns), so it reaches the SQL.
    artifact, sites = grid
    _rename_column(artifact["id"], "PGA-0.002105", HOSTILE_COLUMN)
    got = _get(owner_client, artifact, properties=f"{HOSTILE_COLUMN},SA(0.2)-0.002105", bbox="5,40,5.25,40.25")
    by_idx = {s.idx: s for s in sites}
    assert got["features"]
    for feature in got["features"]:
        values = by_idx[feature["id"]].values
        assert feature["properties"] == {HOSTILE_COLUMN: values["PGA-0.002105"], "SA(0.2)-0.002105": values["SA(0.2)-0.002105"]}


# --- HTTP caching ----------------------------------------------------------------------------

CACHED_PATHS = [
    "/artifact/{id}",
    "/artifact/{id}?bbox=5,40,6,41&properties=PGA-0.002105",
    "/artifact/{id}?format=raw",
    "/artifact/{id}/raw",
    "/artifact/{id}/tiles/6/32/23.mvt",
    "/artifact/{id}/tiles.json",
    "/ogc/collections/{id}",
    "/ogc/collections/{id}/items?limit=5",
    "/ogc/collections/{id}/items/3",
]


@pytest.mark.parametrize("path", CACHED_PATHS)
def test_reads_carry_an_etag_and_a_conditional_request_gets_304(owner_client, grid, path):
    artifact, _ = grid
    url = path.format(id=artifact["id"])
    first = owner_client.get(url)
    assert first.status_code == 200
    etag = first["ETag"]
    assert etag.startswith('"') and len(etag) > 10
    assert first["Cache-Control"].startswith("private, max-age=")
    again = owner_client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again["ETag"] == etag
    assert again.content == b""
    # The weak form GZipMiddleware gives a compressed response's ETag matches too.
    assert owner_client.get(url, HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304
    assert owner_client.get(url, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200


def test_the_etag_follows_the_query_and_the_artifact(owner_client, grid):
    artifact, _ = grid
    other, _ = upload_grid(owner_client, 10, 10, name="hazard_map-mean_78.csv")
    tags = {
        owner_client.get(f"/artifact/{artifact['id']}", {"bbox": "5,40,6,41"})["ETag"],
        owner_client.get(f"/artifact/{artifact['id']}", {"bbox": "5,40,6,42"})["ETag"],
        owner_client.get(f"/artifact/{artifact['id']}")["ETag"],
        owner_client.get(f"/artifact/{other['id']}")["ETag"],
    }
    assert len(tags) == 4
    # The order of parameters does not matter.
    a = owner_client.get(f"/artifact/{artifact['id']}?bbox=5,40,6,41&limit=3")["ETag"]
    b = owner_client.get(f"/artifact/{artifact['id']}?limit=3&bbox=5,40,6,41")["ETag"]
    assert a == b


def test_another_user_never_gets_304_for_an_artifact_they_cannot_read(owner_client, other_client, grid):
    artifact, _ = grid
    etag = owner_client.get(f"/artifact/{artifact['id']}")["ETag"]
    assert other_client.get(f"/artifact/{artifact['id']}", HTTP_IF_NONE_MATCH=etag).status_code == 404


def test_streamed_geojson_is_gzipped_when_accepted_and_identical_once_decompressed(owner_client, grid):
    artifact, _ = grid
    plain = body(owner_client.get(f"/artifact/{artifact['id']}"))
    response = owner_client.get(f"/artifact/{artifact['id']}", HTTP_ACCEPT_ENCODING="gzip")
    assert response.streaming
    assert response["Content-Encoding"] == "gzip"
    assert response["ETag"].startswith('W/"')
    assert gzip.decompress(body(response)) == plain
    json.loads(plain)


# --- integers: ASCII digits, bounded, refused before the stream starts -----------------------


@pytest.mark.parametrize(
    "params, message",
    [
        ({"tile": "²/0/0"}, "tile must be z/x/y"),
        ({"tile": "٣/0/0"}, "tile must be z/x/y"),
        ({"limit": "100000000000000000000"}, "limit must be <= 2147483647"),
        ({"limit": "٣"}, "limit must be an integer"),
        ({"offset": "9223372036854775808"}, "offset must be <= 2147483647"),
        ({"offset": "2147483648"}, "offset must be <= 2147483647"),
        ({"limit": "5", "offset": "²"}, "offset must be an integer"),
    ],
)
def test_unicode_digits_and_out_of_range_integers_are_a_400_not_a_cut_stream(owner_client, grid, params, message):
    artifact, _ = grid
    response = owner_client.get(f"/artifact/{artifact['id']}", params)
    assert response.status_code == 400, body(response)
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "invalid_parameter"
    assert message in response.json()["detail"]


def test_the_largest_offset_is_an_empty_page(owner_client, grid):
    artifact, _ = grid
    doc = _get(owner_client, artifact, limit="2147483647", offset="2147483647")
    assert doc["features"] == [] and doc["next"] is None


@pytest.mark.parametrize("calculation", ["²", "٣", "0", "-1", "1.0", "9223372036854775808", pytest.param("9" * 5000, id="5000-digits")])
def test_a_calculation_filter_that_is_not_an_id_is_a_400(owner_client, calculation):
    response = owner_client.get("/artifacts", {"calculation": calculation})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter"
    assert "calculation must be" in response.json()["detail"]
