"""GET /compare, /compare/summary and /compare/tiles: two artifacts site by site, checked against an
independent reading of the CSVs (matching and arithmetic in Python)."""

from __future__ import annotations

import io
import math
import zipfile

import mapbox_vector_tile
import pytest

from sharing import services as sharing_services
from icebox.models import Artifact
from tests.conftest import fixture_bytes
from tests.maps_support import body, json_body
from tests.support import read_engine_csv, upload
from tests.synthetic import HEADER_META

pytestmark = pytest.mark.django_db

META_ROW = '#,,,,"' + HEADER_META + '"'


def _upload(client, name: str, data: bytes) -> int:
    response = upload(client, name, data)
    assert response.status_code == 201, response.content
    [artifact] = response.json()["artifacts"]
    return artifact["id"]


def _by_coordinates(data: bytes) -> dict[tuple[str, str], dict]:
    _, rows = read_engine_csv(data)
    return {(r["lon"], r["lat"]): r for r in rows}


def _features(client, a: int, b: int, **params):
    response = client.get("/compare", {"a": a, "b": b, **params})
    assert response.status_code == 200, body(response)
    assert response["Content-Type"] == "application/geo+json"
    return json_body(response)["features"]


def _expected(a_row: dict, b_row: dict, column: str) -> tuple[float, float, float, float | None]:
    va, vb = float(a_row[column]), float(b_row[column])
    return va, vb, vb - va, None if va == 0 else vb / va


# -- real exports ------------------------------------------------------------------------------

def test_mean_map_against_a_realization_gives_each_sites_values_difference_and_ratio(owner_client):
    mean = fixture_bytes("hazard_map-mean_2.csv")
    rlz = zipfile.ZipFile(io.BytesIO(fixture_bytes("calc2_output-10-hmaps-csv.zip"))).read("hazard_map-rlz-001_2.csv")
    a, b = _upload(owner_client, "hazard_map-mean_2.csv", mean), _upload(owner_client, "hazard_map-rlz-001_2.csv", rlz)
    header, _ = read_engine_csv(mean)
    columns = header[2:]
    a_rows, b_rows = _by_coordinates(mean), _by_coordinates(rlz)
    assert a_rows.keys() == b_rows.keys()

    features = _features(owner_client, a, b)

    assert len(features) == len(a_rows)
    for feature in features:
        props = feature["properties"]
        lon, lat = feature["geometry"]["coordinates"]
        key = next(k for k in a_rows if math.isclose(float(k[0]), lon, abs_tol=1e-9) and math.isclose(float(k[1]), lat, abs_tol=1e-9))
        assert props["match"] == "both"
        assert props["distance_km"] == 0
        for column in columns:
            va, vb, difference, ratio = _expected(a_rows[key], b_rows[key], column)
            assert (props[f"{column}:a"], props[f"{column}:b"]) == (va, vb)
            assert props[f"{column}:difference"] == difference
            assert props[f"{column}:ratio"] == ratio

    summary = owner_client.get("/compare/summary", {"a": a, "b": b}).json()
    assert (summary["matched"], summary["only_a"], summary["only_b"]) == (len(a_rows), 0, 0)
    assert summary["match_by"] == "coordinates"
    for column in columns:
        differences = [_expected(a_rows[k], b_rows[k], column)[2] for k in a_rows]
        ratios = [_expected(a_rows[k], b_rows[k], column)[3] for k in a_rows]
        stats = summary["columns"][column]
        assert stats["difference"]["min"] == min(differences) and stats["difference"]["max"] == max(differences)
        assert math.isclose(stats["difference"]["mean"], sum(differences) / len(differences), rel_tol=1e-12, abs_tol=1e-18)
        assert stats["ratio"]["min"] == min(ratios) and stats["ratio"]["max"] == max(ratios)
        assert math.isclose(stats["ratio"]["mean"], sum(ratios) / len(ratios), rel_tol=1e-12)


def test_properties_picks_the_compared_columns(owner_client):
    mean = fixture_bytes("hazard_map-mean_2.csv")
    a = _upload(owner_client, "hazard_map-mean_2.csv", mean)
    b = _upload(owner_client, "hazard_map-mean_3.csv", mean)
    [feature, *_] = _features(owner_client, a, b, properties="SA(0.2)-0.002105")
    assert set(feature["properties"]) == {"match", "a_idx", "b_idx", "distance_km", "SA(0.2)-0.002105:a", "SA(0.2)-0.002105:b",
                                          "SA(0.2)-0.002105:difference", "SA(0.2)-0.002105:ratio"}
    assert feature["properties"]["SA(0.2)-0.002105:difference"] == 0
    assert feature["properties"]["SA(0.2)-0.002105:ratio"] == 1


def test_hazard_curves_with_custom_site_ids_match_by_id(owner_client):
    data = fixture_bytes("hazard_curve-mean-PGA_8.csv")
    header, rows = read_engine_csv(data)
    assert header[0] == "custom_site_id"
    a = _upload(owner_client, "hazard_curve-mean-PGA_8.csv", data)
    b = _upload(owner_client, "hazard_curve-mean-PGA_9.csv", data)
    summary = owner_client.get("/compare/summary", {"a": a, "b": b}).json()
    assert summary["match_by"] == "custom_site_id"
    assert (summary["matched"], summary["only_a"], summary["only_b"]) == (len(rows), 0, 0)
    features = _features(owner_client, a, b)
    assert sorted(f["properties"]["custom_site_id"] for f in features) == sorted(r["custom_site_id"] for r in rows)


# -- a synthetic pair with known differences ---------------------------------------------------

def _map(rows: list[tuple], *, site_ids: bool = False) -> bytes:
    """rows: ([site id,] lon, lat, PGA, SA) as text."""
    head = ["custom_site_id"] if site_ids else []
    lines = [META_ROW if not site_ids else "#,," + META_ROW[1:], ",".join([*head, "lon", "lat", "PGA-0.002105", "SA(0.2)-0.002105"])]
    lines += [",".join(row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


A_ROWS = [
    ("10.00000", "45.00000", "1.000000E-01", "2.000000E-01"),
    ("10.10000", "45.00000", "0.000000E+00", "4.000000E-01"),  # a is 0: the ratio is null
    ("10.20000", "45.00000", "3.000000E-01", "6.000000E-01"),  # not in b
    ("10.30000", "45.00000", "5.000000E-01", "5.000000E-01"),
]
B_ROWS = [
    ("10.00050", "45.00000", "1.500000E-01", "1.000000E-01"),  # 39 m east of a's first site
    ("10.10000", "45.00000", "2.000000E-01", "4.000000E-01"),
    ("10.30000", "45.00000", "5.000000E-01", "1.000000E+00"),
    ("11.00000", "46.00000", "7.000000E-01", "7.000000E-01"),  # not in a
]


def test_synthetic_pair_has_the_known_differences_ratios_and_sites_in_one_only(owner_client):
    a = _upload(owner_client, "hazard_map-mean_21.csv", _map(A_ROWS))
    b = _upload(owner_client, "hazard_map-mean_22.csv", _map(B_ROWS))

    features = _features(owner_client, a, b)

    by_match = [(f["properties"]["match"], f["properties"]["a_idx"], f["properties"]["b_idx"]) for f in features]
    assert by_match == [("both", 0, 0), ("both", 1, 1), ("only_a", 2, None), ("both", 3, 2), ("only_b", None, 3)]
    first, zero, only_a, last, only_b = (f["properties"] for f in features)
    assert first["PGA-0.002105:difference"] == 0.15 - 0.1 and first["PGA-0.002105:ratio"] == 0.15 / 0.1
    assert first["SA(0.2)-0.002105:difference"] == 0.1 - 0.2 and first["SA(0.2)-0.002105:ratio"] == 0.5
    assert math.isclose(first["distance_km"], 0.0393, rel_tol=0.01)
    assert features[0]["geometry"]["coordinates"] == [10.0, 45.0]  # a's site
    assert zero["PGA-0.002105:difference"] == 0.2 and zero["PGA-0.002105:ratio"] is None
    assert last["SA(0.2)-0.002105:ratio"] == 2.0
    assert only_a["PGA-0.002105:a"] == 0.3 and only_a["PGA-0.002105:b"] is None
    assert only_a["PGA-0.002105:difference"] is None and only_a["PGA-0.002105:ratio"] is None
    assert only_b["PGA-0.002105:a"] is None and only_b["PGA-0.002105:b"] == 0.7
    assert features[4]["geometry"]["coordinates"] == [11.0, 46.0]

    summary = owner_client.get("/compare/summary", {"a": a, "b": b}).json()
    assert (summary["matched"], summary["only_a"], summary["only_b"]) == (3, 1, 1)
    pga = summary["columns"]["PGA-0.002105"]
    assert pga["difference"] == {"min": 0.0, "max": 0.2, "mean": pytest.approx((0.05 + 0.2 + 0.0) / 3)}
    assert pga["ratio"] == {"min": 1.0, "max": 0.15 / 0.1, "mean": pytest.approx(1.25)}  # the null ratio left out


def test_a_tolerance_below_the_distance_leaves_both_sites_unmatched(owner_client):
    a = _upload(owner_client, "hazard_map-mean_21.csv", _map(A_ROWS))
    b = _upload(owner_client, "hazard_map-mean_22.csv", _map(B_ROWS))
    summary = owner_client.get("/compare/summary", {"a": a, "b": b, "tolerance_km": "0.03"}).json()
    assert (summary["matched"], summary["only_a"], summary["only_b"]) == (2, 2, 2)


def test_two_sites_near_one_match_only_the_nearest(owner_client):
    a = _upload(owner_client, "hazard_map-mean_21.csv", _map([
        ("10.00000", "45.00000", "1.0E-01", "1.0E-01"), ("10.00100", "45.00000", "2.0E-01", "2.0E-01")]))
    b = _upload(owner_client, "hazard_map-mean_22.csv", _map([("10.00080", "45.00000", "3.0E-01", "3.0E-01")]))
    features = _features(owner_client, a, b)
    assert [(f["properties"]["match"], f["properties"]["a_idx"]) for f in features] == [("only_a", 0), ("both", 1)]


def test_sites_with_ids_match_by_id_wherever_they_are(owner_client):
    a = _upload(owner_client, "hazard_map-mean_21.csv", _map([("s1", "10.0", "45.0", "1.0E-01", "1.0E-01"), ("s2", "10.1", "45.0", "2.0E-01", "2.0E-01")], site_ids=True))
    b = _upload(owner_client, "hazard_map-mean_22.csv", _map([("s2", "12.0", "47.0", "3.0E-01", "3.0E-01"), ("s3", "10.0", "45.0", "4.0E-01", "4.0E-01")], site_ids=True))
    features = _features(owner_client, a, b)
    assert [(f["properties"]["match"], f["properties"]["custom_site_id"]) for f in features] == [("only_a", "s1"), ("both", "s2"), ("only_b", "s3")]
    assert features[1]["properties"]["PGA-0.002105:difference"] == 0.3 - 0.2


def test_compare_tile_carries_the_compared_values(owner_client):
    a = _upload(owner_client, "hazard_map-mean_21.csv", _map(A_ROWS))
    b = _upload(owner_client, "hazard_map-mean_22.csv", _map(B_ROWS))
    # z5 tile 16/11 holds lon 0..11.25, lat 40.98..48.92: every site of both.
    response = owner_client.get("/compare/tiles/5/16/11.mvt", {"a": a, "b": b})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    layer = mapbox_vector_tile.decode(response.content)["compare"]
    by_match = sorted((f["properties"]["match"], f["properties"].get("a_idx", -1)) for f in layer["features"])
    assert by_match == [("both", 0), ("both", 1), ("both", 3), ("only_a", 2), ("only_b", -1)]
    first = next(f["properties"] for f in layer["features"] if f["properties"].get("a_idx") == 0)
    assert first["PGA-0.002105:difference"] == pytest.approx(0.05)
    assert owner_client.get("/compare/tiles/6/0/0.mvt", {"a": a, "b": b}).status_code == 204


# -- refusals ---------------------------------------------------------------------------------

@pytest.fixture
def pair(owner_client):
    mean = fixture_bytes("hazard_map-mean_2.csv")
    return _upload(owner_client, "hazard_map-mean_2.csv", mean), _upload(owner_client, "hazard_map-mean_3.csv", mean)


def test_maps_with_different_columns_are_a_400_naming_them(owner_client, pair):
    other = _upload(owner_client, "hazard_map-mean_21.csv", _map(A_ROWS))
    for path in ("/compare", "/compare/summary", "/compare/tiles/0/0/0.mvt"):
        response = owner_client.get(path, {"a": pair[0], "b": other})
        assert response.status_code == 400
        assert response.json()["code"] == "not_comparable"
        assert "SA(1.0)-0.002105" in response.json()["detail"]


def test_artifacts_of_different_kinds_are_a_400(owner_client, pair):
    uhs = _upload(owner_client, "hazard_uhs-mean_2.csv", fixture_bytes("hazard_uhs-mean_2.csv"))
    response = owner_client.get("/compare", {"a": pair[0], "b": uhs})
    assert response.status_code == 400
    assert "hazard_map" in response.json()["detail"] and "uhs" in response.json()["detail"]


@pytest.mark.parametrize(
    "params, words",
    [
        ({"a": None}, "a is required"),
        ({"b": None}, "b is required"),
        ({"tolerance_km": "-1"}, "tolerance_km"),
        ({"tolerance_km": "11"}, "tolerance_km"),
        ({"tolerance_km": "nan"}, "tolerance_km"),
        ({"tolerance_km": "near"}, "tolerance_km"),
        ({"properties": "PGA"}, "unknown column"),
        ({"properties": ""}, "properties"),
    ],
)
def test_bad_parameters_are_a_400(owner_client, pair, params, words):
    query = {key: value for key, value in {"a": pair[0], "b": pair[1], **params}.items() if value is not None}
    for path in ("/compare", "/compare/summary"):
        response = owner_client.get(path, query)
        assert response.status_code == 400, body(response)
        assert words in response.json()["detail"]


def test_a_missing_or_malformed_artifact_id_is_a_404(owner_client, pair):
    for a in ("999999", "x", "٣"):
        assert owner_client.get("/compare", {"a": a, "b": pair[1]}).status_code == 404


# -- who may compare --------------------------------------------------------------------------

def test_another_users_artifact_is_a_404_on_either_side(owner_client, other_client, pair):
    own = _upload(other_client, "hazard_map-mean_2.csv", fixture_bytes("hazard_map-mean_2.csv"))
    for path in ("/compare", "/compare/summary", "/compare/tiles/0/0/0.mvt"):
        assert other_client.get(path, {"a": own, "b": pair[1]}).status_code == 404
        assert other_client.get(path, {"a": pair[0], "b": own}).status_code == 404
        assert owner_client.get(path, {"a": pair[0], "b": own}).status_code == 404


def test_artifacts_shared_with_a_user_can_be_compared_by_them(owner, grantee_client, pair):
    for artifact_id in pair:
        sharing_services.share_create(sharer=owner, artifact=Artifact.objects.get(pk=artifact_id), user="grantee")
    assert len(_features(grantee_client, *pair)) == 3
    assert grantee_client.get("/compare/summary", {"a": pair[0], "b": pair[1]}).json()["matched"] == 3
    assert grantee_client.get("/compare/tiles/0/0/0.mvt", {"a": pair[0], "b": pair[1]}).status_code == 200


def test_one_shared_artifact_is_not_enough(owner, grantee_client, pair):
    sharing_services.share_create(sharer=owner, artifact=Artifact.objects.get(pk=pair[0]), user="grantee")
    assert grantee_client.get("/compare", {"a": pair[0], "b": pair[1]}).status_code == 404


def test_anonymous_is_a_401(anon_client, pair):
    for path in ("/compare", "/compare/summary", "/compare/tiles/0/0/0.mvt"):
        assert anon_client.get(path, {"a": pair[0], "b": pair[1]}).status_code == 401


def test_tiles_match_the_sites_as_the_whole_map_does_even_where_matching_is_ambiguous(owner_client):
    import random

    rng = random.Random(10)
    grid = [(10.0 + i * 0.001, 45.0 + j * 0.001) for j in range(50) for i in range(50)]
    # Sites of b moved up to ~55 m: with a 100 m tolerance many have two candidates, some none.
    moved = [(lon + rng.uniform(-0.0007, 0.0007), lat + rng.uniform(-0.0005, 0.0005)) for lon, lat in grid if rng.random() < 0.9]
    a_rows = [(f"{lon:.5f}", f"{lat:.5f}", "1.0E-01", "2.0E-01") for lon, lat in grid]
    b_rows = [(f"{lon:.5f}", f"{lat:.5f}", "3.0E-01", "4.0E-01") for lon, lat in moved]
    a = _upload(owner_client, "hazard_map-mean_21.csv", _map(a_rows))
    b = _upload(owner_client, "hazard_map-mean_22.csv", _map(b_rows))
    whole = {(f["properties"]["match"], f["properties"]["a_idx"], f["properties"]["b_idx"]) for f in _features(owner_client, a, b)}
    assert {m for m, _, _ in whole} == {"both", "only_a", "only_b"}

    z = 15
    n = 2**z
    xs = {int((lon + 180) / 360 * n) for lon, _ in grid + moved}
    ys = {int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n) for _, lat in grid + moved}
    assert len(xs) * len(ys) > 4  # the sites span several tiles
    tiled = set()
    for x in range(min(xs), max(xs) + 1):
        for y in range(min(ys), max(ys) + 1):
            response = owner_client.get(f"/compare/tiles/{z}/{x}/{y}.mvt", {"a": a, "b": b})
            if response.status_code == 204:
                continue
            for feature in mapbox_vector_tile.decode(response.content)["compare"]["features"]:
                props = feature["properties"]
                tiled.add((props["match"], props.get("a_idx"), props.get("b_idx")))
    assert tiled == whole


def test_a_repeated_custom_site_id_matches_its_occurrences_in_file_order_one_to_one(owner_client):
    a = _upload(owner_client, "hazard_map-mean_21.csv", _map([("s1", "10.0", "45.0", "1.0E-01", "1.0E-01"), ("s1", "10.1", "45.0", "2.0E-01", "2.0E-01")], site_ids=True))
    b = _upload(owner_client, "hazard_map-mean_22.csv", _map([("s1", "10.0", "45.0", "3.0E-01", "3.0E-01")], site_ids=True))
    features = _features(owner_client, a, b)
    assert [(f["properties"]["match"], f["properties"]["a_idx"], f["properties"]["b_idx"]) for f in features] == [("both", 0, 0), ("only_a", 1, None)]
    summary = owner_client.get("/compare/summary", {"a": a, "b": b}).json()
    assert (summary["matched"], summary["only_a"], summary["only_b"]) == (1, 1, 0)
    tile = mapbox_vector_tile.decode(owner_client.get("/compare/tiles/5/16/11.mvt", {"a": a, "b": b}).content)["compare"]
    assert sorted(f["properties"]["match"] for f in tile["features"]) == ["both", "only_a"]


def test_a_client_holding_the_answer_gets_a_304_and_another_pair_another_etag(owner_client, pair):
    third = _upload(owner_client, "hazard_map-mean_4.csv", fixture_bytes("hazard_map-mean_2.csv"))
    for path in ("/compare", "/compare/summary", "/compare/tiles/0/0/0.mvt"):
        first = owner_client.get(path, {"a": pair[0], "b": pair[1]})
        assert first.status_code == 200 and first["ETag"]
        again = owner_client.get(path, {"a": pair[0], "b": pair[1]}, HTTP_IF_NONE_MATCH=first["ETag"])
        assert again.status_code == 304
        assert owner_client.get(path, {"a": pair[0], "b": third})["ETag"] != first["ETag"]
        assert owner_client.get(path, {"a": pair[1], "b": pair[0]})["ETag"] != first["ETag"]


@pytest.mark.parametrize(
    "a_name, b_name, named",
    [
        ("hazard_map-mean_2.csv", "hazard_map-mean-475y_2.csv", ["PGA-0.002105", "PGA"]),  # PoE columns against bare IMTs
        ("hazard_curve-mean-PGA_2.csv", "hazard_curve-mean-PGA_8.csv", ["poe-0.0010197", "poe-0.0050000"]),  # other IMLs
    ],
)
def test_real_exports_with_different_columns_are_a_400_naming_them(owner_client, a_name, b_name, named):
    a, b = _upload(owner_client, a_name, fixture_bytes(a_name)), _upload(owner_client, b_name, fixture_bytes(b_name))
    response = owner_client.get("/compare/summary", {"a": a, "b": b})
    assert response.status_code == 400
    assert response.json()["code"] == "not_comparable"
    assert all(name in response.json()["detail"] for name in named), response.json()["detail"]


def test_hazard_curves_of_different_imts_are_a_400(owner_client):
    data = fixture_bytes("hazard_curve-mean-PGA_2.csv")
    a = _upload(owner_client, "hazard_curve-mean-PGA_2.csv", data)
    b = _upload(owner_client, "hazard_curve-mean-SA(1.0)_2.csv", data.replace(b"imt='PGA'", b"imt='SA(1.0)'"))
    response = owner_client.get("/compare", {"a": a, "b": b})
    assert response.status_code == 400
    assert "PGA" in response.json()["detail"] and "SA(1.0)" in response.json()["detail"]


def test_a_dense_compare_tile_keeps_per_cell_the_site_with_the_largest_absolute_difference(owner_client):
    from tests.maps_support import cells_of, points_by_cell

    # 60 x 60 sites 0.02 degrees apart: at z4 (cells ~0.18 degrees wide) dozens share a cell.
    grid = [(round(8.0 + i * 0.02, 5), round(44.0 + j * 0.02, 5)) for j in range(60) for i in range(60)]
    a_values = [1.0 + (n * 7919 % 1009) / 1000 for n in range(len(grid))]
    b_values = [v + ((n * 104729 % 2003) - 1001) / 1000 for n, v in enumerate(a_values)]
    a = _upload(owner_client, "hazard_map-mean_21.csv", _map([(f"{lon:.5f}", f"{lat:.5f}", f"{v:.6E}", "1.0E-01") for (lon, lat), v in zip(grid, a_values)]))
    b = _upload(owner_client, "hazard_map-mean_22.csv", _map([(f"{lon:.5f}", f"{lat:.5f}", f"{v:.6E}", "1.0E-01") for (lon, lat), v in zip(grid, b_values)]))
    z, x, y = 4, 8, 5
    features = mapbox_vector_tile.decode(
        owner_client.get(f"/compare/tiles/{z}/{x}/{y}.mvt", {"a": a, "b": b}).content, default_options={"y_coord_down": True}
    )["compare"]["features"]
    # Each feature's cell of the world's grid, from its site's position (computed here).
    kept = {}
    for f in features:
        options = cells_of(*grid[f["properties"]["a_idx"]], z)
        if len(options) == 1:
            [cell] = options
            assert cell not in kept, "one feature per cell"
            kept[cell] = f["properties"]
    assert len(features) < len(grid) / 5
    # Independently: every site's cell; cells a site lies on the edge of are not checked.
    checked = 0
    for cell, sites in points_by_cell(grid, z, x, y).items():
        best = max(sites, key=lambda n: (abs(b_values[n] - a_values[n]), -n))
        assert kept[cell]["a_idx"] == best, cell
        assert kept[cell]["PGA-0.002105:difference"] == pytest.approx(b_values[best] - a_values[best])
        checked += 1
    assert checked > 0.8 * len(kept)
