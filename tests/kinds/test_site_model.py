"""kinds.site_model on real site_model exports, whose columns vary with the job (and their order between runs)."""

from __future__ import annotations

import csv
import io

import pytest

from kinds import site_model
from kinds.base import Export, ExportFile

from tests.kinds.engine_exports import assert_points, export_of, parse_error, replaced

DAMAGE13 = "damage13_calc2_output-15-site_model_2.csv"
CLASSICAL34 = "classical34_calc6_output-44-site_model_6.csv"
DAMAGE13_TYPES = {"sids": int, "depth": float, "vs30": float, "vs30measured": int, "z1pt0": float, "z2pt5": float,
                  "custom_site_id": str}
# geology is a string parameter of the engine: its '0' stays the text '0'
CLASSICAL34_TYPES = {"sids": int, "depth": float, "geology": str, "region": int, "slope": float, "vs30": float}


@pytest.mark.parametrize("fixture,dtypes", [(DAMAGE13, DAMAGE13_TYPES), (CLASSICAL34, CLASSICAL34_TYPES)])
def test_every_site_with_every_parameter(fixture, dtypes):
    export = export_of(fixture, "site_model")
    (file,) = export.files
    assert site_model.claims(file, export)
    table = site_model.read(file, export)
    assert_points(table, file.data, lon="lon", lat="lat", dtypes=dtypes)
    assert table.metadata["generated_by"] == "OpenQuake engine 3.26.2"


def reordered(file: ExportFile, order: list) -> ExportFile:
    lines = file.data.decode().splitlines(keepends=True)
    rows = list(csv.DictReader(io.StringIO("".join(lines[1:]))))
    out = io.StringIO()
    writer = csv.DictWriter(out, order, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return ExportFile(file.name, (lines[0] + out.getvalue()).encode())


def test_columns_are_found_by_name_in_any_order():
    (file,) = export_of(DAMAGE13).files
    order = ["custom_site_id", "z2pt5", "lat", "vs30measured", "sids", "lon", "vs30", "depth", "z1pt0"]
    moved = reordered(file, order)
    table = site_model.read(moved, Export([moved]))
    assert_points(table, moved.data, lon="lon", lat="lat",
                  dtypes={name: DAMAGE13_TYPES[name] for name in order if name not in ("lon", "lat")})
    before = dict(zip([c.name for c in site_model.read(file, Export([file])).columns],
                      next(site_model.read(file, Export([file])).rows())[1]))
    point, values = next(table.rows())
    assert dict(zip([c.name for c in table.columns], values)) == before


def test_a_parameter_the_engine_version_does_not_know():
    (file,) = export_of(CLASSICAL34).files
    extended = replaced(replaced(file, b"slope,vs30\r\n", b"slope,vs30,future_number,future_text\r\n"),
                        b"6.00000E+02\r\n", b"6.00000E+02,1.5,B2\r\n")
    table = site_model.read(extended, Export([extended]))
    types = {column.name: column.dtype for column in table.columns}
    assert (types["future_number"], types["future_text"]) == ("float", "text")
    assert next(table.rows())[1][-2:] == (1.5, "B2")


def test_a_value_that_is_not_of_its_parameters_type():
    (file,) = export_of(CLASSICAL34).files
    broken = replaced(file, b"0,13.24805,42.55304,0.00000,0,0,", b"0,13.24805,42.55304,0.00000,0,north,")
    error = parse_error(site_model, broken, Export([broken]))
    assert (error.file_name, error.line, error.message) == ("output-44-site_model_6.csv", 3,
                                                            "column 'region': 'north' is not an integer")


def test_no_coordinates():
    (file,) = export_of(CLASSICAL34).files
    broken = replaced(file, b"sids,lon,lat", b"sids,x,lat")
    error = parse_error(site_model, broken, Export([broken]))
    assert error.line == 2 and error.message.startswith("no 'lon' column")
