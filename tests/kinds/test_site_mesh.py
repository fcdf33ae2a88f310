"""kinds.site_mesh on the meshes of real gmf_data exports."""

from __future__ import annotations

import pytest

from kinds import site_mesh
from kinds.base import Export

from tests.kinds.engine_exports import assert_points, member, parse_error, records, replaced

SCENARIO2 = "scenario2_calc5_output-41-gmf_data-csv.zip"
SCENARIO1 = "scenario1_calc1_output-4-gmf_data-csv.zip"


@pytest.mark.parametrize("fixture,calc", [(SCENARIO2, 5), (SCENARIO1, 1)])
def test_every_site_is_a_point_with_its_id(fixture, calc):
    file, export = member(fixture, f"sitemesh_{calc}.csv", "gmf_data")
    assert site_mesh.claims(file, export)
    assert not any(site_mesh.claims(other, export) for other in export.files if other is not file)
    table = site_mesh.read(file, export)
    raw = assert_points(table, file.data, lon="lon", lat="lat", dtypes={"custom_site_id": str})
    assert len(raw) == 3
    assert table.metadata["calc_id"] == calc and table.metadata["engine_version"] == "3.26.2"
    assert site_mesh.site_points(file) == ("custom_site_id", {row["custom_site_id"]: (float(row["lon"]), float(row["lat"]))
                                                              for row in raw})


def test_not_claimed_from_another_output():
    file, _ = member(SCENARIO2, "sitemesh_5.csv")
    assert not site_mesh.claims(file, Export([file], "hcurves"))


@pytest.mark.parametrize("old,new,line,message", [
    (b"custom_site_id,lon,lat", b"custom_site_id,lon,lat,depth", 2,
     "a site mesh has the columns custom_site_id (or site_id), lon, lat; this one has custom_site_id, lon, lat, depth"),
    (b"0.00000,0.10000", b"0.00000,95.00000", 4, "lon 0, lat 95 is not a point on the globe"),
    (b"ebpbxfpy,", b",", 4, "empty 'custom_site_id'"),
    (b"0.00000,0.10000", b"0.00000,north", 4, "column 'lat': 'north' is not a number"),
])
def test_a_broken_mesh(old, new, line, message):
    file, export = member(SCENARIO2, "sitemesh_5.csv", "gmf_data")
    _, rows = records(file.data)
    assert rows[1]["custom_site_id"] == "ebpbxfpy" and rows[1]["lat"] == "0.10000"
    error = parse_error(site_mesh, replaced(file, old, new), export)
    assert (error.file_name, error.line, error.message) == ("output-41-gmf_data-csv.zip/sitemesh_5.csv", line, message)
