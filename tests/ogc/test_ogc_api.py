"""OGC API - Features Part 1 endpoints on real PostGIS: documents, items, paging, errors, access."""

import pytest

from ogc.documents import CONFORMANCE, CRS84
from tests.maps_support import body, json_body, upload_grid

GEOJSON = "application/geo+json"


@pytest.fixture
def grid(owner_client):
    return upload_grid(owner_client)


def items(client, artifact, **params):
    response = client.get(f"/ogc/collections/{artifact['id']}/items", params)
    assert response.status_code == 200, body(response)
    assert response["Content-Type"] == GEOJSON
    return json_body(response)


def rels(doc):
    return {link["rel"]: link for link in doc["links"]}


@pytest.mark.parametrize("path", ["/ogc", "/ogc/"])
def test_landing_page_links_api_conformance_and_data(anon_client, path):
    doc = anon_client.get(path).json()
    links = rels(doc)
    assert links["service-desc"]["href"] == "http://testserver/ogc/api"
    assert links["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert links["conformance"]["href"] == "http://testserver/ogc/conformance"
    assert links["data"]["href"] == "http://testserver/ogc/collections"


def test_conformance_declares_core_geojson_and_oas30(anon_client):
    assert anon_client.get("/ogc/conformance").json()["conformsTo"] == CONFORMANCE


def test_api_definition_is_openapi_30_with_the_limit_bounds(anon_client):
    response = anon_client.get("/ogc/api")
    assert response["Content-Type"] == "application/vnd.oai.openapi+json;version=3.0"
    doc = response.json()
    assert doc["openapi"].startswith("3.0")
    params = {p["name"]: p for p in doc["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]}
    assert params["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 10000, "default": 10}
    assert {"bbox", "offset", "datetime"} <= set(params)


def test_collections_are_the_users_artifacts_with_their_extent(owner_client, other_client, grid):
    artifact, _ = grid
    upload_grid(other_client, 3, 3, name="hazard_map-mean_90.csv")
    doc = owner_client.get("/ogc/collections").json()
    assert [c["id"] for c in doc["collections"]] == [str(artifact["id"])]
    [collection] = doc["collections"]
    assert collection["extent"]["spatial"] == {"bbox": [artifact["bbox"]], "crs": CRS84}
    assert rels(collection)["items"]["href"] == f"http://testserver/ogc/collections/{artifact['id']}/items"
    assert owner_client.get(f"/ogc/collections/{artifact['id']}").json() == collection


def test_items_default_to_10_with_number_matched_and_next(owner_client, grid):
    artifact, sites = grid
    doc = items(owner_client, artifact)
    assert doc["type"] == "FeatureCollection"
    assert [f["id"] for f in doc["features"]] == list(range(10))
    assert doc["numberReturned"] == 10
    assert doc["numberMatched"] == len(sites)
    assert rels(doc)["next"]["href"] == f"http://testserver/ogc/collections/{artifact['id']}/items?offset=10"
    assert sites[3].values == doc["features"][3]["properties"]
    assert doc["features"][3]["geometry"] == {"type": "Point", "coordinates": [sites[3].lon, sites[3].lat]}


def test_items_bbox_pages_through_exactly_the_sites_in_the_box(owner_client, grid):
    artifact, sites = grid
    expected = [s.idx for s in sites if 6.0 <= s.lon <= 7.0 and 41.0 <= s.lat <= 41.5]
    doc = items(owner_client, artifact, bbox="6,41,7,41.5", limit=25)
    seen = [f["id"] for f in doc["features"]]
    assert "numberMatched" not in doc  # counting a bbox is not free; the last page knows it
    while "next" in rels(doc):
        doc = json_body(owner_client.get(rels(doc)["next"]["href"].removeprefix("http://testserver")))
        seen += [f["id"] for f in doc["features"]]
    assert seen == expected
    assert doc["numberMatched"] == len(expected)
    assert doc["numberReturned"] == len(expected) % 25


def test_items_limit_above_the_maximum_is_400(owner_client, grid):
    artifact, _ = grid
    assert owner_client.get(f"/ogc/collections/{artifact['id']}/items", {"limit": 10000}).status_code == 200
    response = owner_client.get(f"/ogc/collections/{artifact['id']}/items", {"limit": 10001})
    assert response.status_code == 400
    assert "limit must be <= 10000" in response.json()["detail"]


@pytest.mark.parametrize(
    "params,message",
    [
        ({"sortby": "idx"}, "unknown query parameter(s) sortby"),
        ({"bbox": "1,2,3"}, "bbox must be"),
        ({"bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/3857"}, "bbox-crs"),
        ({"f": "html"}, "f must be one of json, geojson"),
        ({"properties": "nope"}, "unknown column(s) nope"),
    ],
)
def test_items_refuse_what_they_do_not_understand(owner_client, grid, params, message):
    artifact, _ = grid
    response = owner_client.get(f"/ogc/collections/{artifact['id']}/items", params)
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_f_json_and_accept_header_are_honoured(owner_client, grid):
    artifact, _ = grid
    assert owner_client.get("/ogc/collections", {"f": "json"}).status_code == 200
    assert owner_client.get("/ogc/collections", HTTP_ACCEPT="application/json").status_code == 200
    assert owner_client.get(f"/ogc/collections/{artifact['id']}/items", HTTP_ACCEPT="application/geo+json").status_code == 200
    assert owner_client.get("/ogc/collections", {"f": "html"}).status_code == 400
    assert owner_client.get("/ogc/collections", HTTP_ACCEPT="application/xml").status_code == 406


def test_one_item_by_id_with_links(owner_client, grid):
    artifact, sites = grid
    response = owner_client.get(f"/ogc/collections/{artifact['id']}/items/17")
    assert response["Content-Type"] == GEOJSON
    feature = response.json()
    assert feature["id"] == 17
    assert feature["properties"] == sites[17].values
    assert rels(feature)["collection"]["href"] == f"http://testserver/ogc/collections/{artifact['id']}"


@pytest.mark.parametrize("fid", ["1200", "99999999999", "abc", "-1"])
def test_a_missing_item_is_404(owner_client, grid, fid):
    artifact, _ = grid
    assert owner_client.get(f"/ogc/collections/{artifact['id']}/items/{fid}").status_code == 404


# --- access ----------------------------------------------------------------------------------

PRIVATE = ["/ogc/collections/{id}", "/ogc/collections/{id}/items", "/ogc/collections/{id}/items/0"]


@pytest.mark.parametrize("path", PRIVATE)
def test_another_users_collection_is_404_like_a_missing_one(other_client, grid, path):
    artifact, _ = grid
    response = other_client.get(path.format(id=artifact["id"]))
    assert response.status_code == 404
    missing = other_client.get(path.format(id=999999))
    assert response.json()["detail"].replace(str(artifact["id"]), "N") == missing.json()["detail"].replace("999999", "N")
    assert other_client.get("/ogc/collections").json()["collections"] == []


@pytest.mark.parametrize("path", ["/ogc/collections", *PRIVATE])
def test_anonymous_gets_401_on_data(anon_client, grid, path):
    artifact, _ = grid
    assert anon_client.get(path.format(id=artifact["id"])).status_code == 401


def test_token_auth_reads_items(owner_client, grid):
    artifact, _ = grid
    # owner_client authenticates with "Authorization: Token <key>" (tests/conftest.py).
    assert items(owner_client, artifact, limit=1)["numberReturned"] == 1


# --- integers: ASCII digits, bounded ---------------------------------------------------------


@pytest.mark.parametrize("fid", ["²", "٣", "١٧", "17\x00", pytest.param("9" * 5000, id="5000-digits")])
def test_an_item_id_in_other_than_ascii_digits_is_404(owner_client, grid, fid):
    artifact, _ = grid
    response = owner_client.get(f"/ogc/collections/{artifact['id']}/items/{fid}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("params", [{"offset": "9223372036854775808"}, {"offset": "2147483648"}, {"offset": "²"}, {"limit": "٣"}])
def test_items_paging_out_of_range_or_in_unicode_digits_is_400(owner_client, grid, params):
    artifact, _ = grid
    response = owner_client.get(f"/ogc/collections/{artifact['id']}/items", params)
    assert response.status_code == 400, body(response)
    assert response.json()["code"] == "invalid_parameter"


def test_a_collection_id_in_arabic_indic_digits_is_not_that_artifact(owner_client, grid):
    artifact, _ = grid
    arabic = "".join(chr(0x0660 + int(d)) for d in str(artifact["id"]))
    for path in (f"/ogc/collections/{arabic}", f"/ogc/collections/{arabic}/items", f"/ogc/collections/{arabic}/items/0"):
        assert owner_client.get(path).status_code == 404, path


@pytest.mark.parametrize(
    "path, status",
    [
        ("/ogc/collections/{id}/items?limit=0", 400),
        ("/ogc/collections/{id}/items?sortby=idx", 400),
        ("/ogc/collections/{id}/items/1200", 404),
        ("/ogc/collections/999999/items", 404),
        ("/ogc/collections/{id}?f=xml", 400),
    ],
)
def test_ogc_errors_are_json_not_geojson(owner_client, grid, path, status):
    artifact, _ = grid
    response = owner_client.get(path.format(id=artifact["id"]))
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail", "code"}


def test_ogc_errors_are_json_when_the_client_accepts_geojson_only(owner_client, anon_client, grid):
    artifact, _ = grid
    response = owner_client.get(f"/ogc/collections/{artifact['id']}/items?limit=0", HTTP_ACCEPT="application/geo+json")
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    response = anon_client.get(f"/ogc/collections/{artifact['id']}/items", HTTP_ACCEPT="application/geo+json")
    assert response.status_code == 401 and response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_authenticated"


def test_the_api_definition_declares_json_errors_for_every_operation(anon_client):
    doc = anon_client.get("/ogc/api").json()
    assert doc["components"]["schemas"]["Error"]["required"] == ["detail", "code"]
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, item in doc["paths"].items():
        responses = item["get"]["responses"]
        expected = {"400", "401", "406", "429", "500"} | ({"404"} if path.startswith("/collections/") else set())
        assert expected <= set(responses), path
        assert all(responses[code]["content"] == error for code in expected), path


def test_a_shared_collection_is_listed_and_readable_by_its_grantee_only(owner, other_client, staff_client, grid):
    from icebox.models import Artifact
    from sharing.services import share_create

    artifact, _ = grid
    share_create(sharer=owner, artifact=Artifact.objects.get(pk=artifact["id"]), user="other")
    assert [c["id"] for c in other_client.get("/ogc/collections").json()["collections"]] == [str(artifact["id"])]
    for path in PRIVATE:
        assert other_client.get(path.format(id=artifact["id"])).status_code == 200, path
        assert staff_client.get(path.format(id=artifact["id"])).status_code == 404, path
    assert items(other_client, artifact, limit=2)["numberReturned"] == 2
    assert staff_client.get("/ogc/collections").json()["collections"] == []
