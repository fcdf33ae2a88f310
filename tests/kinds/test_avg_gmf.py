"""kinds.avg_gmf on real avg_gmf exports (coordinates in %.5E)."""

from __future__ import annotations

import pytest

from kinds import avg_gmf
from kinds.base import Export, ExportFile

from tests.kinds.engine_exports import assert_points, engine_name, export_of, parse_error, replaced

SCENARIO2 = "scenario2_calc5_output-38-avg_gmf_5.csv"  # 3 sites, PGA
DAMAGE13 = "damage13_calc2_output-6-avg_gmf_2.csv"  # 1 site, PGA and SA(0.3)


@pytest.mark.parametrize("fixture,imts", [(SCENARIO2, ["PGA"]), (DAMAGE13, ["PGA", "SA(0.3)"])])
def test_every_site_with_its_average(fixture, imts):
    export = export_of(fixture, "avg_gmf")
    (file,) = export.files
    assert avg_gmf.claims(file, export) and avg_gmf.claims(file, Export([file]))
    table = avg_gmf.read(file, export)
    assert b"E+0" in file.data.split(b"\n")[2].split(b",")[1]  # the engine's %.5E coordinates
    assert_points(table, file.data, lon="lon", lat="lat", dtypes={"custom_site_id": str, **{imt: float for imt in imts}})
    assert [(column.quantity, column.imt) for column in table.columns[1:]] == [("gmv", imt) for imt in imts]
    assert table.metadata["calc_id"] == int(engine_name(fixture).rsplit("_", 1)[1].split(".")[0])


def test_a_header_and_no_row_is_an_empty_table():
    """The engine writes that when no site has ground motion (api.md 5.6, a scenario_damage calc)."""
    (file,) = export_of(DAMAGE13).files
    header_only = ExportFile(file.name, file.data[:file.data.index(b"szrzrp36")])
    assert list(avg_gmf.read(header_only, Export([header_only])).rows()) == []


def test_a_file_without_imt_columns():
    (file,) = export_of(SCENARIO2).files
    broken = replaced(file, b"custom_site_id,lon,lat,PGA", b"custom_site_id,lon,lat")
    error = parse_error(avg_gmf, broken, Export([broken]))
    assert (error.file_name, error.line) == ("output-38-avg_gmf_5.csv", 2)
    assert error.message == "no IMT column after lon, lat (the columns are custom_site_id, lon, lat)"


def test_not_another_outputs_file():
    (file,) = export_of(SCENARIO2).files
    assert not avg_gmf.claims(file, Export([file], "gmf_data"))
    assert not avg_gmf.claims(ExportFile("avg_gmf.csv", file.data), Export([]))
