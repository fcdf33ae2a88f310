"""The input kinds stored in real PostGIS (artifacts.services.artifact_create) and read back as GeoJSON.

Until /inputs exists (issue 9's API), this is the path every input artifact will take: the kinds'
lines, polygons, multipoints and points, and their null numbers, through the loader and the
GeoJSON stream, compared with what the kind read.
"""

from __future__ import annotations

import json

import mapbox_vector_tile
import pytest

from artifacts.services import artifact_create
from kinds import input_archive
from tests.kinds.test_input_archive import job_files
from tests.kinds.test_input_kinds import LIMIT
from tests.maps_support import body, json_body

import kinds

JOBS = ["classical_case_36", "classical_case_10", "classical_case_22", "classical_case_09", "classical_case_18",
        "event_based_case_28", "scenario_case_1", "scenario_damage_case_13", "scenario_risk_case_3", "classical_case_81"]
INPUT_KINDS = ("source_model", "rupture_model", "exposure_model", "logic_tree", "sites", "site_model")


def close(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    return a == b


def geojson_of(geometry):
    if geometry is None:
        return None
    if isinstance(geometry, tuple):
        return {"type": "Point", "coordinates": list(geometry)}
    return {"type": geometry.type, "coordinates": json.loads(json.dumps(geometry.coordinates))}


@pytest.mark.parametrize("job", JOBS)
def test_every_input_artifact_reads_back_as_the_kind_read_it(job, owner, owner_client):
    export = input_archive.read_files(job_files(job)).export(job)
    tables = [kinds.read_file(file, export, max_uncompressed=LIMIT) for file in export.files]
    stored = [(table, artifact_create(owner=owner, table=table)) for table in tables if table.artifact_type in INPUT_KINDS]
    assert stored

    for table, artifact in stored:
        names = [column.name for column in table.columns]
        expected = [(geometry, dict(zip(names, values))) for geometry, values in table.rows()]
        assert artifact.feature_count == len(expected)
        features = json_body(owner_client.get(f"/artifact/{artifact.pk}"))["features"]
        assert len(features) == len(expected), table.file_name
        for feature, (geometry, properties) in zip(features, expected):
            mine = geojson_of(geometry)
            if mine is None:
                assert feature["geometry"] is None
            else:
                assert feature["geometry"]["type"] == mine["type"], table.file_name
                assert close(feature["geometry"]["coordinates"], mine["coordinates"]), (table.file_name, feature["id"])
            assert set(feature["properties"]) == set(properties)
            for name, value in properties.items():
                assert close(feature["properties"][name], value), (table.file_name, name)


def test_a_fault_source_is_a_line_and_a_polygon_with_nulls_where_it_has_no_number(owner, owner_client):
    export = input_archive.read_files(job_files("classical_case_36")).export("case_36")
    table = kinds.read_file(export.file("source_model.xml"), export, max_uncompressed=LIMIT)
    artifact = artifact_create(owner=owner, table=table)

    features = json_body(owner_client.get(f"/artifact/{artifact.pk}"))["features"]

    assert [f["geometry"]["type"] for f in features] == ["LineString", "Polygon", "MultiLineString", "Point", "Polygon"]
    assert features[3]["properties"]["dip"] is None and features[0]["properties"]["dip"] == 30.0
    assert artifact.bbox == pytest.approx([-0.5, -1.5, 1.6089834746636913, 0.5])


def test_a_source_models_tile_draws_every_source_unthinned_and_ogc_serves_them(owner, owner_client):
    export = input_archive.read_files(job_files("classical_case_36")).export("case_36")
    table = kinds.read_file(export.file("source_model.xml"), export, max_uncompressed=LIMIT)
    artifact = artifact_create(owner=owner, table=table)

    response = owner_client.get(f"/artifact/{artifact.pk}/tiles/0/0/0.mvt")
    tile = mapbox_vector_tile.decode(body(response))
    tilejson = json_body(owner_client.get(f"/artifact/{artifact.pk}/tiles.json"))
    items = json_body(owner_client.get(f"/ogc/collections/{artifact.pk}/items?limit=10"))

    assert response.status_code == 200
    (layer,) = tile.values()
    # the five features share a pixel at zoom 0, yet none is thinned away: they are not points
    assert sorted(feature["id"] for feature in layer["features"]) == [0, 1, 2, 3, 4]
    assert {feature["geometry"]["type"] for feature in layer["features"]} == {"LineString", "Polygon", "MultiLineString", "Point"}
    assert tilejson["vector_layers"][0]["thinning"] is None
    assert [feature["properties"]["part"] for feature in items["features"]] == [
        "trace", "surface_projection", "edges", "point", "area"]


def test_a_source_model_has_no_site_and_is_not_compared_site_by_site(owner, owner_client):
    export = input_archive.read_files(job_files("classical_case_36")).export("case_36")
    table = kinds.read_file(export.file("source_model.xml"), export, max_uncompressed=LIMIT)
    a, b = artifact_create(owner=owner, table=table), artifact_create(owner=owner, table=table)

    site = owner_client.get(f"/artifact/{a.pk}/site?lon=0.5&lat=-0.5")
    compared = owner_client.get(f"/compare?a={a.pk}&b={b.pk}")

    assert site.status_code == 400 and json_body(site)["detail"] == (
        f"artifact {a.pk} is a seismic source model, not a map of sites: /site answers for artifacts of points")
    assert compared.status_code == 400 and json_body(compared)["detail"] == (
        f"artifacts {a.pk} and {b.pk} are seismic source models: only maps of sites are compared")
