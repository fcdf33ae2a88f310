"""kinds.named_csv: the grammar the spatial kinds share, on a real file (a site mesh) and broken copies of it."""

from __future__ import annotations

import pytest

from kinds import site_mesh
from kinds.base import FLOAT, TEXT, Export, ExportFile, ParseError
from kinds.named_csv import file_metadata, name_matcher, read_header, typed_rows

from tests.kinds.engine_exports import member, metadata_pairs

MESH, _ = member("scenario2_calc5_output-41-gmf_data-csv.zip", "sitemesh_5.csv")
META = MESH.data.split(b"\r\n", 1)[0]


def mesh_with(data: bytes, name: str = "sitemesh_5.csv") -> ExportFile:
    return ExportFile(name, data, f"x.zip/{name}")


def error_of(data: bytes) -> ParseError:
    file = mesh_with(data)
    with pytest.raises(ParseError) as caught:
        for _ in site_mesh.read(file, Export([file])).rows():
            pass
    return caught.value


def test_the_metadata_row_pairs_as_the_engine_wrote_them():
    header = read_header(MESH)
    pairs = metadata_pairs(MESH.data)
    assert header.pairs == {"generated_by": pairs["generated_by"], "start_date": pairs["start_date"],
                            "checksum": int(pairs["checksum"])}
    assert (header.cells, header.line) == (["custom_site_id", "lon", "lat"], 2)
    assert file_metadata(header) == {**header.pairs, "engine_version": "3.26.2", "calc_id": 5}


def test_a_utf8_bom_and_lf_line_ends_are_accepted():
    data = b"\xef\xbb\xbf" + MESH.data.replace(b"\r\n", b"\n")
    file = mesh_with(data)
    assert list(site_mesh.read(file, Export([file])).rows()) == list(site_mesh.read(MESH, Export([MESH])).rows())


def test_without_a_metadata_row():
    data = MESH.data.split(b"\r\n", 1)[1]
    assert read_header(mesh_with(data)).pairs == {}
    assert read_header(mesh_with(data)).line == 1


@pytest.mark.parametrize("meta,line,message", [
    (b'#,x,"generated_by=\'a\'"', 1, 'unexpected values in the metadata row (expected "#", empty cells, then key=value pairs)'),
    (b'#,,"checksum=1, checksum=2"', 1, "metadata key 'checksum' given twice"),
    (b'#,,"checksum=\'abc\'"', 1, "metadata checksum='abc' is not an integer"),
    (b'#,,"investigation_time=-1.0"', 1, "metadata investigation_time=-1.0 is not a positive number of years"),
    (b'#,,"risk_investigation_time=\'x\'"', 1, "metadata risk_investigation_time='x' is not a positive number of years"),
    (b'#,,"generated_by=5"', 1, "metadata generated_by=5 is not a text"),
    (b'#,,"= nothing"', 1, "cannot read the metadata row from '= nothing'"),
])
def test_a_bad_metadata_row(meta, line, message):
    error = error_of(MESH.data.replace(META, meta))
    assert (error.file_name, error.line, error.message) == ("x.zip/sitemesh_5.csv", line, message)


@pytest.mark.parametrize("data,line,message", [
    (b"", 1, "empty file"),
    (b" \r\n\r\n", 1, "empty file"),
    (META + b"\r\n", 2, "no header row after the metadata row"),
    (META + b"\r\n\r\ncustom_site_id,lon,lat\r\n", 2, "blank line where the header row should be"),
    (META + b"\r\ncustom_site_id,,lat\r\n", 2, "empty column name in the header row"),
    (META + b"\r\ncustom_site_id,lon,lat\r\n", 3, "no data rows"),
    (META + b"\r\ncustom_site_id,lon,lat\r\na\rb,1,2\r\n", 3,
     "malformed CSV: a carriage return inside a field (lines must end with \\n or \\r\\n)"),
    (META + b"\r\ncustom_site_id,lon,lat\r\na,1\r\n", 3, "expected 3 values, found 2"),
    (META + b"\r\ncustom_site_id,lon,lat\r\na,1,2\r\n\r\nb,1,x\r\n", 5, "column 'lat': 'x' is not a number"),
])
def test_a_broken_file(data, line, message):
    error = error_of(data)
    assert (error.line, error.message) == (line, message)


def test_a_header_cell_of_unbounded_length():
    error = error_of(META + b"\r\ncustom_site_id,lon," + b"x" * 500 + b"\r\n")
    assert error.line == 2 and error.message.startswith("column name of 500 characters")


def test_huge_finite_values_are_not_mistaken_for_infinity():
    """The row loop's one sum overflows to inf for two values near the float maximum: a false alarm, cleared."""
    data = b"a,b,lon,lat\r\n1.7E+308,1.7E+308,1,2\r\n"
    header = read_header(ExportFile("t.csv", data))
    rows = list(typed_rows(header, [FLOAT, FLOAT, FLOAT, FLOAT], lon=2, lat=3)())
    assert rows == [((1.0, 2.0), (1.7e308, 1.7e308))]


def test_text_cells_are_kept_as_written():
    data = b'id,lon,lat,tag\r\n"st. Ribnik, n. 14",1,2, spaced \r\n'
    header = read_header(ExportFile("t.csv", data))
    assert list(typed_rows(header, [TEXT, FLOAT, FLOAT, TEXT], lon=1, lat=2)()) == [((1.0, 2.0), ("st. Ribnik, n. 14", " spaced "))]


def test_engine_file_names():
    match = name_matcher("sitemesh")
    assert match("sitemesh_5.csv")["calc_id"] == "5"
    assert match("output-41-sitemesh_5.csv")["calc_id"] == "5"
    assert match("sitemesh_5.csv.bak") is None and match("my-sitemesh_5.csv") is None and match("sitemesh.csv") is None
