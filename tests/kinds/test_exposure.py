"""kinds.exposure on the assetcol CSVs of real exposure zips (their value and tag columns differ)."""

from __future__ import annotations

import pytest

from kinds import exposure
from kinds.base import Export

from tests.kinds.engine_exports import assert_points, member, parse_error, replaced

CASES = [
    ("damage13_calc2_output-10-exposure-zip.zip", 2,
     {"id": str, "value-number": float, "value-structural": float, "occupants_night": float, "occupants_avg": float,
      "ideductible": float, "NAME_1": str, "taxonomy": str}),
    ("ebrisk01_calc3_output-24-exposure-zip.zip", 3,
     {"id": str, "value-number": float, "value-nonstructural": float, "value-structural": float, "value-area": float,
      "ideductible": float, "policy": str, "taxonomy": str}),
    ("damage1_calc7_output-49-exposure-zip.zip", 7,  # tags that read as numbers or '?' stay text
     {"id": str, "value-number": float, "value-structural": float, "ideductible": float, "CRESTA": str, "region": str,
      "taxonomy": str}),
    ("crisk3_calc4_output-31-exposure-zip.zip", 4,
     {"id": str, "value-number": float, "value-structural": float, "ideductible": float, "taxonomy": str}),
]


@pytest.mark.parametrize("fixture,calc,dtypes", CASES)
def test_every_asset_with_every_value_and_tag(fixture, calc, dtypes):
    file, export = member(fixture, f"assetcol_{calc}.csv", "exposure")
    assert exposure.claims(file, export)
    assert not exposure.claims(export.file(f"exposure_{calc}.xml"), export)  # the XML stays a raw file
    table = exposure.read(file, export)
    assert_points(table, file.data, lon="lon", lat="lat", dtypes=dtypes)
    quantities = {column.name: column.quantity for column in table.columns}
    assert quantities["id"] == "asset_id" and quantities["taxonomy"] == "tag" and quantities["value-number"] == "value"
    assert table.metadata == {"calc_id": calc}  # no metadata row in this file


def test_an_asset_without_id():
    file, export = member("ebrisk01_calc3_output-24-exposure-zip.zip", "assetcol_3.csv", "exposure")
    error = parse_error(exposure, replaced(file, b"\na1,", b"\n,"), export)
    assert (error.file_name, error.line, error.message) == ("output-24-exposure-zip.zip/assetcol_3.csv", 3, "empty 'id'")


def test_a_value_that_is_not_a_number():
    file, export = member("ebrisk01_calc3_output-24-exposure-zip.zip", "assetcol_3.csv", "exposure")
    error = parse_error(exposure, replaced(file, b"1.50000E+03", b"many"), export)
    assert (error.line, error.message) == (2, "column 'value-nonstructural': 'many' is not a number")


def test_only_the_exposure_output():
    file, _ = member("ebrisk01_calc3_output-24-exposure-zip.zip", "assetcol_3.csv")
    assert not exposure.claims(file, Export([file], "avg_losses-rlzs"))
