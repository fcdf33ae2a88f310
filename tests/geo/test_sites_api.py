"""GET /artifact/<id>/site and /calculations/<id>/site on real PostGIS, against the engine's own files.

The expected values are read from the fixture CSVs with the csv module, and the nearest site is
found independently by haversine over those rows; nothing here trusts Icebox's own parser.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import zipfile

import pytest
from django.db import connection

from artifacts import services
from engine import runs as engine_runs
from engine import services as engine_services
from engine.models import Calculation, ImportedOutput
from engine.servers import parse_engine_servers
from geo import sites
from icebox.models import Artifact
from sharing import services as sharing_services
from tests.conftest import FIXTURES, fixture_bytes
from tests.engine.fake_engine import CALC, FakeEngine
from tests.maps_support import upload_grid

pytestmark = pytest.mark.django_db

# The radius ST_DistanceSphere uses (PostGIS 3: the WGS 84 mean radius (2a + b) / 3).
EARTH_RADIUS_KM = (2 * 6378.137 + 6356.752314245179) / 3
ZIPS = ("calc2_output-9-hcurves-csv.zip", "calc2_output-10-hmaps-csv.zip", "calc2_output-11-hmaps-stats-csv.zip", "calc2_output-14-uhs-csv.zip")


def haversine_km(lon1, lat1, lon2, lat2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def read_csv_rows(data: bytes) -> list[dict]:
    rows = list(csv.reader(io.StringIO(data.decode())))
    if rows[0][0] == "#":
        rows = rows[1:]
    return [dict(zip(rows[0], row)) for row in rows[1:]]


def calc_files() -> dict[str, list[dict]]:
    """Every CSV of calc 2's exports: file name -> rows (text, as the engine wrote them)."""
    files = {}
    for name in ZIPS:
        with zipfile.ZipFile(FIXTURES / name) as archive:
            for member in archive.namelist():
                files[member] = read_csv_rows(archive.read(member))
    return files


def nearest(rows: list[dict], lon: float, lat: float, k: int = 1) -> list[tuple[int, float]]:
    """(row index, km) of the k rows nearest the point on the sphere."""
    distances = sorted((haversine_km(lon, lat, float(r["lon"]), float(r["lat"])), i) for i, r in enumerate(rows))
    return [(i, d) for d, i in distances[:k]]


@pytest.fixture
def fake_engine(settings):
    """A fake engine serving calc 2's real exports, and the only server imports may read from."""
    with FakeEngine() as engine:
        settings.ICEBOX_ENGINE_SERVERS = parse_engine_servers(engine.url)
        yield engine


def import_calc(owner, fake_engine) -> Calculation:
    job = engine_services.import_request(requested_by=owner, engine_url=fake_engine.url, calc_id=CALC, enqueue=False)
    job = engine_runs.import_job_run(job_id=job.pk)
    assert job.status == "done", job.error
    return Calculation.objects.get(owner=owner)


def site(client, path: str, **params):
    return client.get(path, params)


# -- one artifact -------------------------------------------------------------------------------


@pytest.fixture
def hazard_map(owner):
    [artifact] = services.artifact_upload(owner=owner, file_name="hazard_map-mean_2.csv", data=fixture_bytes("hazard_map-mean_2.csv"))
    return artifact


@pytest.mark.parametrize("lon, lat", [(-123.23738, 49.27479), (-123.21, 49.265), (-123.3, 49.2), (-123.2349, 49.268)])
def test_an_artifact_site_is_the_nearest_feature_on_the_sphere_with_all_its_properties(owner_client, hazard_map, lon, lat):
    rows = read_csv_rows(fixture_bytes("hazard_map-mean_2.csv"))
    [(index, km)] = nearest(rows, lon, lat)
    response = site(owner_client, f"/artifact/{hazard_map.pk}/site", lon=lon, lat=lat)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == index and body["artifact"] == hazard_map.pk
    assert body["geometry"] == {"type": "Point", "coordinates": [float(rows[index]["lon"]), float(rows[index]["lat"])]}
    assert body["properties"] == {name: float(value) for name, value in rows[index].items() if name not in ("lon", "lat")}
    assert body["distance_km"] == pytest.approx(km, rel=1e-9, abs=1e-9)


def test_the_nearest_site_is_nearest_on_the_sphere_not_in_degrees(owner, owner_client):
    # At 60°N a degree of longitude is half a degree of latitude: the site 0.12° east (6.7 km) is
    # nearer than the one 0.09° north (10 km), although it is farther in degrees.
    header = "lon,lat,PGA-0.002105\n"
    data = (header + "10.00000,60.09000,1.0E-01\n10.12000,60.00000,2.0E-01\n").encode()
    [artifact] = services.artifact_upload(owner=owner, file_name="hazard_map-mean_5.csv", data=data)
    body = site(owner_client, f"/artifact/{artifact.pk}/site", lon=10, lat=60).json()
    assert body["id"] == 1 and body["properties"] == {"PGA-0.002105": 0.2}
    assert body["distance_km"] == pytest.approx(haversine_km(10, 60, 10.12, 60), rel=1e-9)


def test_no_site_within_max_distance_km_is_a_404_saying_so(owner_client, hazard_map):
    response = site(owner_client, f"/artifact/{hazard_map.pk}/site", lon=-123.0, lat=49.27, max_distance_km=5)
    assert response.status_code == 404
    assert response.json() == {
        "detail": f"artifact {hazard_map.pk} has no site within 5 km of lon -123, lat 49.27 (max_distance_km)",
        "code": "not_found",
    }
    # The same point within a larger distance finds the site, and the default is 100 km.
    assert site(owner_client, f"/artifact/{hazard_map.pk}/site", lon=-123.0, lat=49.27, max_distance_km=20).status_code == 200
    assert site(owner_client, f"/artifact/{hazard_map.pk}/site", lon=-121.0, lat=49.27).status_code == 404
    assert site(owner_client, f"/artifact/{hazard_map.pk}/site", lon=-122.0, lat=49.27).status_code == 200


def test_an_interpolated_artifact_site_weighs_the_nearest_sites_by_inverse_squared_distance(owner_client, hazard_map):
    rows = read_csv_rows(fixture_bytes("hazard_map-mean_2.csv"))
    lon, lat = -123.22, 49.266
    near = nearest(rows, lon, lat, k=sites.INTERPOLATION_SITES)
    weights = [1 / d**2 for _, d in near]
    weights = [w / sum(weights) for w in weights]
    body = site(owner_client, f"/artifact/{hazard_map.pk}/site", lon=lon, lat=lat, interpolate="true").json()
    assert body["geometry"]["coordinates"] == [lon, lat]
    assert [s["id"] for s in body["interpolation"]["sites"]] == [i for i, _ in near]
    assert [s["weight"] for s in body["interpolation"]["sites"]] == pytest.approx(weights, rel=1e-9)
    for name in ("PGA-0.002105", "SA(0.2)-0.002105", "SA(1.0)-0.002105"):
        expected = sum(w * float(rows[i][name]) for w, (i, _) in zip(weights, near))  # IMLs: linearly
        assert body["properties"][name] == pytest.approx(expected, rel=1e-9)
    assert "inverse distance weighting" in body["interpolation"]["method"]


def test_an_interpolated_hazard_curve_interpolates_poes_in_log_space(owner, owner_client):
    [artifact] = services.artifact_upload(owner=owner, file_name="hazard_curve-mean-PGA_2.csv", data=fixture_bytes("hazard_curve-mean-PGA_2.csv"))
    rows = read_csv_rows(fixture_bytes("hazard_curve-mean-PGA_2.csv"))
    lon, lat = -123.225, 49.27
    near = nearest(rows, lon, lat, k=3)
    weights = [1 / d**2 for _, d in near]
    weights = [w / sum(weights) for w in weights]
    body = site(owner_client, f"/artifact/{artifact.pk}/site", lon=lon, lat=lat, interpolate="true").json()
    for name in [n for n in rows[0] if n.startswith("poe-")]:
        values = [float(rows[i][name]) for i, _ in near]
        if all(v > 0 for v in values):
            expected = math.exp(sum(w * math.log(v) for w, v in zip(weights, values)))
        else:
            expected = sum(w * v for w, v in zip(weights, values))
        assert body["properties"][name] == pytest.approx(expected, rel=1e-9, abs=1e-300), name


def _plan(sql: str, params: dict) -> str:
    with connection.cursor() as cursor:
        # The statistics autovacuum keeps (geo migration 0004 has it analyse the shared partition
        # often): without any, the planner takes every artifact for a few rows.
        cursor.execute("ANALYZE geo_feature_shared")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


LAYOUTS = {"shared": 20000, "own": 0}  # ICEBOX_SHARED_PARTITION_MAX_ROWS: where a 3,000-site grid goes


def _geom_index(layout: str, artifact_id: int) -> str:
    return "geo_feature_shared_geom" if layout == "shared" else f"geo_feature_{artifact_id}_geom"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_an_artifact_site_is_one_nearest_neighbour_index_scan_not_a_scan_of_the_sites(owner_client, settings, layout):
    settings.ICEBOX_SHARED_PARTITION_MAX_ROWS = LAYOUTS[layout]
    artifact, _ = upload_grid(owner_client, 60, 50)
    part = Artifact.objects.get(pk=artifact["id"]).feature_part
    params = {"artifact": artifact["id"], "part": part, "lon": 7.01, "wrapped_lon": -352.99, "lat": 42.0, "metres": 100_000.0, "k": 1}
    plan = _plan(sites.ARTIFACT_SITE_SQL, params)
    assert f"Index Scan using {_geom_index(layout, artifact['id'])}" in plan, plan
    assert "Order By: (geom <-> " in plan, plan
    assert "Seq Scan" not in plan and "Sort Key: (geom <->" not in plan, plan


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_calculation_site_is_a_nearest_neighbour_index_scan_and_index_probes_of_each_artifact(owner, owner_client, settings, layout):
    settings.ICEBOX_SHARED_PARTITION_MAX_ROWS = LAYOUTS[layout]
    first, _ = upload_grid(owner_client, 60, 50, name="hazard_map-mean_77.csv")
    second, _ = upload_grid(owner_client, 60, 50, name="hazard_map-mean_78.csv")
    calculation = Calculation.objects.create(owner=owner, engine_url="http://127.0.0.1:8800", calc_id=77)
    for n, artifact in enumerate([first, second]):
        ImportedOutput.objects.create(
            calculation=calculation, output_id=n, output_type="hmaps", export_name="x.zip", file_name=artifact["file_name"], artifact_id=artifact["id"]
        )
    parts = [Artifact.objects.get(pk=a["id"]).feature_part for a in (first, second)]
    params = {
        "artifact": first["id"], "part": parts[0], "artifact_ids": [first["id"], second["id"]], "parts": parts,
        "lon": 7.01, "wrapped_lon": -352.99, "lat": 42.0, "metres": 100_000.0, "k": 4,
    }
    plan = _plan(sites.CALCULATION_SITE_SQL, params)
    assert "Order By: (geom <-> " in plan, plan
    assert f"Index Scan using {_geom_index(layout, first['id'])}" in plan, plan  # the nearest sites
    for artifact in (first, second):  # each artifact's features at those sites: an index probe
        assert _geom_index(layout, artifact["id"]) in plan, plan
    assert re.search(r"Index Cond: \((\(artifact_id = v\.artifact_id\) AND \()?geom ~= ", plan), plan
    assert "Seq Scan" not in plan, plan
    body = site(owner_client, f"/calculations/{calculation.pk}/site", lon=7.01, lat=42.0).json()
    assert [m["artifact"] for m in body["hazard_maps"]] == [first["id"], second["id"]]


# -- a calculation ------------------------------------------------------------------------------


def _by_file(artifacts) -> dict[str, Artifact]:
    return {a.file_name: a for a in artifacts}


@pytest.mark.parametrize("lon, lat", [(-123.23738, 49.27479), (-123.231, 49.259), (-123.19, 49.27)])
def test_a_calculation_site_holds_every_curve_spectrum_and_map_value_of_the_engine_files(owner, owner_client, fake_engine, lon, lat):
    calculation = import_calc(owner, fake_engine)
    files = calc_files()
    artifacts = _by_file(Artifact.objects.filter(imported_output__calculation=calculation))
    [(index, km)] = nearest(files["hazard_map-mean_2.csv"], lon, lat)
    response = site(owner_client, f"/calculations/{calculation.pk}/site", lon=lon, lat=lat)
    assert response.status_code == 200, response.content
    body = response.json()
    row = files["hazard_map-mean_2.csv"][index]
    assert body["site"] == {
        "id": index, "lon": float(row["lon"]), "lat": float(row["lat"]), "distance_km": pytest.approx(km, rel=1e-9, abs=1e-9),
        "custom_site_id": None, "depth": 0.0,
    }
    assert body["calculation"] == calculation.pk and body["point"] == {"lon": lon, "lat": lat}

    curve_files = sorted(name for name in files if "_curve-" in name)
    assert [c["file_name"] for c in body["hazard_curves"]] == curve_files
    for curve in body["hazard_curves"]:
        file_row = files[curve["file_name"]][index]
        levels = [name for name in file_row if name.startswith("poe-")]
        assert curve["artifact"] == artifacts[curve["file_name"]].pk
        assert curve["imt"] == curve["file_name"].rsplit("-", 1)[1].removesuffix("_2.csv")
        assert curve["imls"] == [float(name.removeprefix("poe-")) for name in levels]
        assert curve["poes"] == [float(file_row[name]) for name in levels]

    uhs_files = sorted(name for name in files if "_uhs-" in name)
    assert [u["file_name"] for u in body["uhs"]] == uhs_files
    for spectrum in body["uhs"]:
        file_row = files[spectrum["file_name"]][index]
        columns = [name for name in file_row if "~" in name]
        assert spectrum["imts"] == [name.split("~")[1] for name in columns] == ["PGA", "SA(0.2)", "SA(1.0)"]
        assert spectrum["periods"] == [0.0, 0.2, 1.0]
        assert spectrum["poe"] == 0.002105
        assert spectrum["values"] == [float(file_row[name]) for name in columns]

    map_files = sorted(name for name in files if "_map-" in name)
    assert [m["file_name"] for m in body["hazard_maps"]] == map_files
    for hazard_map in body["hazard_maps"]:
        file_row = files[hazard_map["file_name"]][index]
        names = [name for name in file_row if name not in ("lon", "lat")]
        assert [v["iml"] for v in hazard_map["values"]] == [float(file_row[name]) for name in names]
        assert [v["imt"] for v in hazard_map["values"]] == [name.rsplit("-0.", 1)[0] for name in names]
        if hazard_map["file_name"].endswith("-475y_2.csv"):
            assert hazard_map["return_period"] == 475 and {v["poe"] for v in hazard_map["values"]} == {None}
        else:
            assert {v["poe"] for v in hazard_map["values"]} == {0.002105}
    # The calc's site model (a file of its own kind): its site nearest the point, every column.
    model_rows = read_csv_rows(fixture_bytes("calc1_output-6-site_model_1.csv"))
    [(model_index, model_km)] = nearest(model_rows, lon, lat)
    model_row = model_rows[model_index]
    assert body["site_model"] == {
        "source": "site model",
        "artifact": Artifact.objects.get(imported_output__calculation=calculation, artifact_type="site_model").pk,
        "site": {"id": model_index, "lon": float(model_row["lon"]), "lat": float(model_row["lat"]), "distance_km": pytest.approx(model_km, rel=1e-9, abs=1e-9)},
        **{name: (int(v) if name in ("sids", "vs30measured") else float(v)) for name, v in model_row.items() if name not in ("lon", "lat")},
    }


def test_a_calculation_site_without_a_site_model_gives_the_reference_site_conditions_of_its_job(owner, owner_client, fake_engine):
    import configparser

    calculation = import_calc(owner, fake_engine)
    job = configparser.ConfigParser()
    job.read(FIXTURES / "engine/jobs/classical_case_18/job_icebox.ini")
    section = next(s for s in job.sections() if job.has_option(s, "reference_vs30_value"))
    calculation.oqparam = {**calculation.oqparam, "reference_vs30_value": job.getfloat(section, "reference_vs30_value"),
                           "reference_vs30_type": job.get(section, "reference_vs30_type"),
                           "reference_depth_to_1pt0km_per_sec": job.getfloat(section, "reference_depth_to_1pt0km_per_sec"),
                           "reference_depth_to_2pt5km_per_sec": job.getfloat(section, "reference_depth_to_2pt5km_per_sec")}
    calculation.save()
    # Without a site model of its own, the calc used its job's reference site conditions.
    services.artifact_delete(artifact=Artifact.objects.get(imported_output__calculation=calculation, artifact_type="site_model"))
    body = site(owner_client, f"/calculations/{calculation.pk}/site", lon=-123.23, lat=49.27).json()
    assert body["site_model"] == {"source": "job parameters (reference site conditions)", "vs30": 400.0, "vs30_type": "measured", "z1pt0": 40.0, "z2pt5": 2.0}


def test_an_interpolated_calculation_site_answers_for_the_point_from_the_sites_around_it(owner, owner_client, fake_engine):
    calculation = import_calc(owner, fake_engine)
    files = calc_files()
    lon, lat = -123.222, 49.268
    near = nearest(files["hazard_map-mean_2.csv"], lon, lat, k=sites.INTERPOLATION_SITES)
    weights = [1 / d**2 for _, d in near]
    weights = [w / sum(weights) for w in weights]
    body = site(owner_client, f"/calculations/{calculation.pk}/site", lon=lon, lat=lat, interpolate="true").json()
    assert body["site"] is None and body["point"] == {"lon": lon, "lat": lat}
    assert [s["id"] for s in body["interpolation"]["sites"]] == [i for i, _ in near]
    assert "log space" in body["interpolation"]["method"]

    def log_idw(values):
        if all(v > 0 for v in values):
            return math.exp(sum(w * math.log(v) for w, v in zip(weights, values)))
        return sum(w * v for w, v in zip(weights, values))

    for curve in body["hazard_curves"]:
        rows = files[curve["file_name"]]
        levels = [name for name in rows[0] if name.startswith("poe-")]
        expected = [log_idw([float(rows[i][name]) for i, _ in near]) for name in levels]
        assert curve["poes"] == pytest.approx(expected, rel=1e-9, abs=1e-300), curve["file_name"]
    for hazard_map in body["hazard_maps"]:
        rows = files[hazard_map["file_name"]]
        names = [name for name in rows[0] if name not in ("lon", "lat")]
        expected = [sum(w * float(rows[i][name]) for w, (i, _) in zip(weights, near)) for name in names]
        assert [v["iml"] for v in hazard_map["values"]] == pytest.approx(expected, rel=1e-9)
    for spectrum in body["uhs"]:
        rows = files[spectrum["file_name"]]
        names = [name for name in rows[0] if "~" in name]
        expected = [sum(w * float(rows[i][name]) for w, (i, _) in zip(weights, near)) for name in names]
        assert spectrum["values"] == pytest.approx(expected, rel=1e-9)


def test_a_calculation_with_no_site_near_the_point_is_a_404_saying_so(owner, owner_client, fake_engine):
    calculation = import_calc(owner, fake_engine)
    response = site(owner_client, f"/calculations/{calculation.pk}/site", lon=10, lat=45)
    assert response.status_code == 404
    assert response.json() == {
        "detail": f"calculation {calculation.pk} has no site within 100 km of lon 10, lat 45 (max_distance_km)",
        "code": "not_found",
    }


def test_the_custom_site_id_of_a_calculation_site_is_the_engines(owner, owner_client):
    data = fixture_bytes("hazard_curve-mean-PGA_8.csv")
    [artifact] = services.artifact_upload(owner=owner, file_name="hazard_curve-mean-PGA_8.csv", data=data)
    calculation = Calculation.objects.create(owner=owner, engine_url="http://127.0.0.1:8800", calc_id=8)
    ImportedOutput.objects.create(calculation=calculation, output_id=53, output_type="hcurves", export_name="x.zip", file_name=artifact.file_name, artifact=artifact)
    rows = read_csv_rows(data)
    [(index, _)] = nearest(rows, 0.1, 0.1)
    body = site(owner_client, f"/calculations/{calculation.pk}/site", lon=0.1, lat=0.1).json()
    assert body["site"]["id"] == index and body["site"]["custom_site_id"] == rows[index]["custom_site_id"]
    assert body["hazard_curves"][0]["poes"] == [float(rows[index][n]) for n in rows[index] if n.startswith("poe-")]


# -- who may read ---------------------------------------------------------------------------------


def test_an_artifact_site_is_the_owners_and_a_grantees_and_a_404_to_anyone_else(owner, hazard_map, owner_client, grantee, grantee_client, other_client, anon_client):
    path = f"/artifact/{hazard_map.pk}/site"
    point = {"lon": -123.23, "lat": 49.27}
    assert site(owner_client, path, **point).status_code == 200
    assert site(grantee_client, path, **point).status_code == 404
    sharing_services.share_create(sharer=owner, artifact=hazard_map, user="grantee")
    assert site(grantee_client, path, **point).json() == site(owner_client, path, **point).json()
    other = site(other_client, path, **point)
    assert other.status_code == 404 and other.json() == site(other_client, "/artifact/999999/site", **point).json() | {
        "detail": f"artifact {hazard_map.pk} not found"
    }
    assert site(anon_client, path, **point).status_code == 401


def test_a_calculation_site_is_the_owners_and_a_grantees_and_a_404_to_anyone_else(owner, owner_client, fake_engine, grantee_client, other_client, anon_client):
    calculation = import_calc(owner, fake_engine)
    path = f"/calculations/{calculation.pk}/site"
    point = {"lon": -123.23, "lat": 49.27}
    assert site(grantee_client, path, **point).status_code == 404
    sharing_services.share_create(sharer=owner, calculation=calculation, user="grantee")
    shared = site(grantee_client, path, **point)
    assert shared.status_code == 200 and shared.json() == site(owner_client, path, **point).json()
    other = site(other_client, path, **point)
    assert other.status_code == 404 and other.json() == {"detail": f"calculation {calculation.pk} not found", "code": "not_found"}
    assert site(anon_client, path, **point).status_code == 401


def test_a_calculation_site_uses_only_the_calculations_own_artifacts(owner, owner_client, fake_engine, other_user):
    calculation = import_calc(owner, fake_engine)
    # Another user's upload of the same file: same points, not part of this calculation.
    services.artifact_upload(owner=other_user, file_name="hazard_map-mean_2.csv", data=fixture_bytes("hazard_map-mean_2.csv"))
    # Its hazard artifacts: the report (a raw file) and the realizations (a table) have no sites,
    # and its site model's sites are not hazard values.
    mine = set(Artifact.objects.filter(imported_output__calculation=calculation, artifact_type__in=["hazard_curve", "hazard_map", "uhs"]).values_list("pk", flat=True))
    body = site(owner_client, f"/calculations/{calculation.pk}/site", lon=-123.23, lat=49.27).json()
    seen = {x["artifact"] for key in ("hazard_curves", "uhs", "hazard_maps") for x in body[key]}
    assert seen == mine


def test_a_calculation_site_is_found_among_its_hazard_sites_not_its_larger_gmf(owner, owner_client, fake_engine):
    """A calc's GMF (306 features on 3 sites near lon 0, lat 0) is its largest artifact; the sites of a
    calc site are still the hazard artifacts' (before: the GMF's, and Vancouver had no site within 100 km)."""
    calculation = import_calc(owner, fake_engine)
    gmf = next(a for a in services.artifact_upload(owner=owner, file_name="output-41-gmf_data-csv.zip", data=_gmf_zip())
               if a.artifact_type == "gmf")
    ImportedOutput.objects.create(calculation=calculation, output_id=41, output_type="gmf_data", export_name="output-41-gmf_data-csv.zip",
                                  file_name=gmf.file_name, artifact=gmf)
    assert gmf.feature_count > max(a.feature_count for a in calculation_artifacts(calculation) if a.pk != gmf.pk)
    response = site(owner_client, f"/calculations/{calculation.pk}/site", lon=-123.23, lat=49.27)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["site"]["lon"], body["site"]["lat"]) == (-123.23738, 49.27479)
    assert gmf.pk not in {x["artifact"] for key in ("hazard_curves", "uhs", "hazard_maps") for x in body[key]}
    assert site(owner_client, f"/calculations/{calculation.pk}/site", lon=0.0, lat=0.1).status_code == 404


def calculation_artifacts(calculation) -> list:
    return list(Artifact.objects.filter(imported_output__calculation=calculation))


def _gmf_zip() -> bytes:
    """gmf-data_5.csv and sitemesh_5.csv of a real gmf_data export (fixtures/README.md), byte for byte."""
    with zipfile.ZipFile(io.BytesIO(fixture_bytes("scenario2_calc5_output-41-gmf_data-csv.zip"))) as source:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            for name in ("gmf-data_5.csv", "sitemesh_5.csv"):
                archive.writestr(name, source.read(name))
    return out.getvalue()


# -- bad input ------------------------------------------------------------------------------------


BAD = [
    ({"lat": "49"}, "lon is required"),
    ({"lon": "-123"}, "lat is required"),
    ({"lon": "", "lat": "49"}, "lon is required"),
    ({"lon": "abc", "lat": "49"}, "lon must be a decimal number from -180 to 180 in ASCII digits, got 'abc'"),
    ({"lon": "nan", "lat": "49"}, "lon must be a decimal number"),
    ({"lon": "inf", "lat": "49"}, "lon must be a decimal number"),
    ({"lon": "1e400", "lat": "49"}, "lon must be a number from -180 to 180, got 1e400"),
    ({"lon": "180.5", "lat": "49"}, "lon must be a number from -180 to 180, got 180.5"),
    ({"lon": "-123", "lat": "-90.01"}, "lat must be a number from -90 to 90, got -90.01"),
    ({"lon": "\u0663", "lat": "49"}, "in ASCII digits"),
    ({"lon": "1_0", "lat": "49"}, "in ASCII digits"),
    ({"lon": " -123", "lat": "49"}, "in ASCII digits"),
    ({"lon": "-123", "lat": "49", "max_distance_km": "0"}, "max_distance_km must be a number more than 0 to 20016, got 0"),
    ({"lon": "-123", "lat": "49", "max_distance_km": "-5"}, "max_distance_km must be a number more than 0"),
    ({"lon": "-123", "lat": "49", "max_distance_km": "30000"}, "max_distance_km must be a number more than 0 to 20016, got 30000"),
    ({"lon": "-123", "lat": "49", "interpolate": "yes"}, "interpolate must be true or false, got 'yes'"),
]


@pytest.mark.parametrize("params, message", BAD)
def test_a_bad_point_is_a_400_naming_the_parameter(owner, owner_client, hazard_map, params, message):
    calculation = Calculation.objects.create(owner=owner, engine_url="http://127.0.0.1:8800", calc_id=5)
    for path in (f"/artifact/{hazard_map.pk}/site", f"/calculations/{calculation.pk}/site"):
        response = owner_client.get(path, params)
        assert response.status_code == 400, (path, response.content)
        body = response.json()
        assert body["code"] == "invalid_parameter" and message in body["detail"], body


def test_interpolating_at_a_site_gives_that_sites_own_values(owner, owner_client):
    [artifact] = services.artifact_upload(owner=owner, file_name="hazard_curve-mean-PGA_2.csv", data=fixture_bytes("hazard_curve-mean-PGA_2.csv"))
    row = read_csv_rows(fixture_bytes("hazard_curve-mean-PGA_2.csv"))[1]
    body = site(owner_client, f"/artifact/{artifact.pk}/site", lon=row["lon"], lat=row["lat"], interpolate="true").json()
    assert [s["weight"] for s in body["interpolation"]["sites"]] == [1.0, 0.0, 0.0]
    assert body["properties"] == {name: float(value) for name, value in row.items() if name not in ("lon", "lat")}


def test_the_nearest_site_may_be_across_the_antimeridian(owner, owner_client):
    # More sites on the point's own side than the nearest-neighbour candidates, all farther than
    # the one across the antimeridian (0.03° away on the sphere, 359.97° in degrees).
    lines = ["lon,lat,PGA-0.002105"] + [f"{-179.9 + 0.1 * i:.5f},0.00000,1.0E-01" for i in range(sites.CANDIDATES + 10)]
    lines.append("179.98000,0.00000,2.0E-01")
    [artifact] = services.artifact_upload(owner=owner, file_name="hazard_map-mean_6.csv", data=("\n".join(lines) + "\n").encode())
    body = site(owner_client, f"/artifact/{artifact.pk}/site", lon=-179.99, lat=0).json()
    assert body["geometry"]["coordinates"] == [179.98, 0.0] and body["properties"] == {"PGA-0.002105": 0.2}
    assert body["distance_km"] == pytest.approx(haversine_km(-179.99, 0, 179.98, 0), rel=1e-9)
    assert site(owner_client, f"/artifact/{artifact.pk}/site", lon=179.99, lat=0).json()["id"] == sites.CANDIDATES + 10


def _response_schema(client, path: str) -> dict:
    """The 200 schema of GET `path` in /api/schema, as JSON Schema (OpenAPI's nullable converted)."""
    from schemathesis.specs.openapi.converter import to_json_schema

    doc = json.loads(client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
    content = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    components = {name: to_json_schema(schema, "nullable", is_response_schema=True) for name, schema in doc["components"]["schemas"].items()}
    return {**to_json_schema(content, "nullable", is_response_schema=True), "components": {"schemas": components}}


def test_calculation_site_answers_conform_to_the_documented_schema(owner, owner_client, fake_engine):
    import jsonschema

    calculation = import_calc(owner, fake_engine)
    schema = _response_schema(owner_client, "/calculations/{calculation_id}/site")
    for interpolate in ("false", "true"):
        body = site(owner_client, f"/calculations/{calculation.pk}/site", lon=-123.22, lat=49.27, interpolate=interpolate).json()
        jsonschema.validate(body, schema)
    # The check bites: a body without its curves is refused.
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({k: v for k, v in body.items() if k != "hazard_curves"}, schema)


def test_a_calculation_site_reads_the_hazard_features_in_one_statement_and_its_site_model_in_one(owner, owner_client, fake_engine, django_assert_max_num_queries):
    calculation = import_calc(owner, fake_engine)
    # The site model has sites of its own (not the hazard files' site indices): its own nearest-neighbour statement.
    with django_assert_max_num_queries(7) as captured:
        assert site(owner_client, f"/calculations/{calculation.pk}/site", lon=-123.22, lat=49.27).status_code == 200
    assert sum("geo_feature" in query["sql"] for query in captured.captured_queries) == 2, captured.captured_queries
