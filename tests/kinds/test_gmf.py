"""kinds.gmf on real gmf_data exports (fixtures/README.md), checked against the csv module, and broken copies of them."""

from __future__ import annotations

import pytest

from kinds import gmf, site_mesh
from kinds.base import Export, ExportFile

from tests.kinds.engine_exports import (
    assert_points, member, metadata_pairs, parse_error, records, replaced, with_file,
)

SCENARIO2 = "scenario2_calc5_output-41-gmf_data-csv.zip"  # 3 sites x 102 events
SCENARIO1 = "scenario1_calc1_output-4-gmf_data-csv.zip"  # 3 sites in the mesh, rows for one of them
DAMAGE1 = "damage1_calc7_output-51-gmf_data-csv.zip"  # 3 sites, 1 event
LABEL = "output-41-gmf_data-csv.zip/gmf-data_5.csv"


def mesh_points(data: bytes, key: str) -> dict:
    _, rows = records(data)
    return {row[key]: (float(row["lon"]), float(row["lat"])) for row in rows}


def line_of(data: bytes, text: bytes) -> int:
    """1-based line number of the first line that starts with `text`."""
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.startswith(text):
            return number
    raise AssertionError(text)


def test_declares_the_kind():
    assert gmf.NAME == "gmf" and gmf.GEOMETRY == "point"
    assert gmf.OUTPUT_TYPES == ("gmf_data",)
    assert gmf.FILTERABLE == ("event_id",)


@pytest.mark.parametrize("output_type", ["gmf_data", None])
def test_claims_the_gmf_rows_only(output_type):
    export = member(SCENARIO2, "gmf-data_5.csv", output_type)[1]
    claimed = {file.name: gmf.claims(file, export) for file in export.files}
    assert claimed == {"gmf-data_5.csv": True, "sigma_epsilon_5.csv": False, "sitemesh_5.csv": False}


def test_does_not_claim_a_gmf_name_of_another_output():
    file, _ = member(SCENARIO2, "gmf-data_5.csv")
    assert not gmf.claims(file, Export([file], "avg_gmf"))
    assert not gmf.claims(ExportFile("gmf-data.csv", file.data), Export([]))


@pytest.mark.parametrize("fixture,calc", [(SCENARIO2, 5), (SCENARIO1, 1), (DAMAGE1, 7)])
def test_every_row_is_a_feature_at_its_sites_mesh_point(fixture, calc):
    file, export = member(fixture, f"gmf-data_{calc}.csv", "gmf_data")
    mesh = mesh_points(export.file(f"sitemesh_{calc}.csv").data, "custom_site_id")
    table = gmf.read(file, export)
    raw = assert_points(table, file.data, lon="", lat="", place=lambda row: mesh[row["custom_site_id"]],
                        dtypes={"event_id": int, "gmv_PGA": float, "custom_site_id": str})
    assert table.artifact_type == "gmf" and table.geometry == "point"
    assert table.data == file.data
    if calc == 5:
        assert len(raw) == 306 and {row["custom_site_id"] for row in raw} == set(mesh)
    elif calc == 7:  # GMFs read from a file by the job: one event, no sigma_epsilon in the zip
        assert len(raw) == 3 and [f.name for f in export.files] == ["gmf-data_7.csv", "sitemesh_7.csv"]
    else:  # the engine leaves out sites beyond maximum_distance: the mesh has more sites than the rows use
        assert len({row["custom_site_id"] for row in raw}) == 1 < len(mesh) == 3
    assert list(table.rows()) == list(table.rows())  # rows() can be called again


def test_columns_say_what_they_are():
    file, export = member(SCENARIO2, "gmf-data_5.csv", "gmf_data")
    columns = {column.name: column for column in gmf.read(file, export).columns}
    assert (columns["event_id"].quantity, columns["event_id"].dtype) == ("event_id", "int")
    assert (columns["gmv_PGA"].quantity, columns["gmv_PGA"].imt) == ("gmv", "PGA")
    assert (columns["custom_site_id"].quantity, columns["custom_site_id"].dtype) == ("site_id", "text")


def test_metadata_comes_from_the_header_row_and_the_name():
    file, export = member(SCENARIO2, "gmf-data_5.csv", "gmf_data")
    pairs = metadata_pairs(file.data)
    metadata = gmf.read(file, export).metadata
    assert metadata["generated_by"] == pairs["generated_by"] == "OpenQuake engine 3.26.2"
    assert metadata["engine_version"] == "3.26.2"
    assert metadata["start_date"] == pairs["start_date"]
    assert metadata["checksum"] == int(pairs["checksum"])
    assert metadata["calc_id"] == 5
    assert metadata["site_mesh"] == "sitemesh_5.csv"


def test_site_ids_instead_of_custom_site_ids():
    """The engine writes site_id (the site's index) when the sites have no custom id (export_gmf_data_csv)."""
    file, export = member(SCENARIO2, "gmf-data_5.csv", "gmf_data")
    mesh = export.file("sitemesh_5.csv")
    _, mesh_rows = records(mesh.data)
    ids = {row["custom_site_id"]: str(index) for index, row in enumerate(mesh_rows)}
    for custom, index in ids.items():
        file = replaced(file, f",{custom}".encode(), f",{index}".encode(), file.data.count(f",{custom}".encode()))
        mesh = replaced(mesh, f"{custom},".encode(), f"{index},".encode())
    file = replaced(file, b"custom_site_id", b"site_id")
    mesh = replaced(mesh, b"custom_site_id", b"site_id")
    export = with_file(with_file(export, file), mesh)
    points = mesh_points(mesh.data, "site_id")
    table = gmf.read(file, export)
    assert_points(table, file.data, lon="", lat="", place=lambda row: points[row["site_id"]],
                  dtypes={"event_id": int, "gmv_PGA": float, "site_id": int})
    assert site_mesh.read(mesh, export).columns[0].dtype == "int"


def test_no_site_mesh_in_the_export():
    file, export = member(SCENARIO2, "gmf-data_5.csv", "gmf_data")
    alone = Export([file, export.file("sigma_epsilon_5.csv")], "gmf_data")
    error = parse_error(gmf, file, alone)
    assert error.file_name == LABEL
    assert "no site mesh" in error.message and "sitemesh_5.csv" in error.message


def test_a_row_whose_site_is_not_in_the_mesh():
    file, export = member(SCENARIO2, "gmf-data_5.csv", "gmf_data")
    _, rows = records(file.data)
    row = rows[200]
    line = f"{row['event_id']},{row['gmv_PGA']},{row['custom_site_id']}".encode()
    broken = replaced(file, line, line[:-len(row["custom_site_id"])] + b"nowhere1")
    error = parse_error(gmf, broken, export)
    assert (error.file_name, error.line) == (LABEL, line_of(file.data, line))
    assert error.message == "custom_site_id 'nowhere1' is not in the site mesh sitemesh_5.csv"
    assert str(error) == f"{LABEL}: line {error.line}: {error.message}"


def test_a_mesh_that_names_a_site_twice():
    file, export = member(SCENARIO2, "gmf-data_5.csv", "gmf_data")
    mesh = export.file("sitemesh_5.csv")
    _, rows = records(mesh.data)
    first, second = (f"{row['custom_site_id']},{row['lon']},{row['lat']}".encode() for row in rows[:2])
    broken = replaced(mesh, second, first.split(b",")[0] + second[second.index(b","):])
    error = parse_error(gmf, file, with_file(export, broken))
    assert error.file_name == "output-41-gmf_data-csv.zip/sitemesh_5.csv"
    assert error.line == line_of(mesh.data, second)
    assert error.message == f"site {rows[0]['custom_site_id']!r} is in the mesh twice"


def test_a_mesh_keyed_by_the_other_id():
    file, export = member(SCENARIO2, "gmf-data_5.csv", "gmf_data")
    mesh = export.file("sitemesh_5.csv")
    error = parse_error(gmf, file, with_file(export, replaced(mesh, b"custom_site_id", b"site_id")))
    assert error.file_name == LABEL
    assert error.message == "the rows name sites by custom_site_id but sitemesh_5.csv by site_id"


@pytest.mark.parametrize("cell,message", [
    (b"3.5", "column 'event_id': '3.5' is not an integer"),
    (b"", "empty value in column 'event_id'"),
    (b"x", "column 'event_id': 'x' is not an integer"),
])
def test_a_bad_event_id(cell, message):
    file, export = member(SCENARIO2, "gmf-data_5.csv", "gmf_data")
    _, rows = records(file.data)
    line = f"{rows[10]['event_id']},{rows[10]['gmv_PGA']},".encode()
    error = parse_error(gmf, replaced(file, b"\n" + line, b"\n" + cell + line[line.index(b","):]), export)
    assert (error.line, error.message) == (line_of(file.data, line), message)


@pytest.mark.parametrize("cell,message", [
    (b"nan", "column 'gmv_PGA': 'nan' is not a finite number"),
    (b"-inf", "column 'gmv_PGA': '-inf' is not a finite number"),
    (b"1.0E+400", "column 'gmv_PGA': '1.0E+400' is not a finite number"),
    (b"0,1", "expected 3 values, found 4"),
])
def test_a_bad_ground_motion_value(cell, message):
    file, export = member(SCENARIO2, "gmf-data_5.csv", "gmf_data")
    _, rows = records(file.data)
    value = rows[-1]["gmv_PGA"].encode()
    line = f"{rows[-1]['event_id']},{rows[-1]['gmv_PGA']},".encode()
    error = parse_error(gmf, replaced(file, line, line.replace(value, cell)), export)
    assert (error.line, error.message) == (line_of(file.data, line), message)


@pytest.mark.parametrize("header,message", [
    (b"event_id,gmv_PGA,site", "a GMF file has one site column, custom_site_id or site_id"),
    (b"event_id,gmv_PGA,custom_site_id,site_id", "a GMF file has one site column, custom_site_id or site_id; this one has both"),
    (b"eid,gmv_PGA,custom_site_id", "no 'event_id' column (the columns are eid, gmv_PGA, custom_site_id)"),
    (b"event_id,PGA,custom_site_id", "no gmv_<IMT> column (the columns are event_id, PGA, custom_site_id)"),
    (b"event_id,gmv_PGA,gmv_PGA", "duplicate column 'gmv_PGA'"),
])
def test_a_bad_header(header, message):
    file, export = member(SCENARIO2, "gmf-data_5.csv", "gmf_data")
    error = parse_error(gmf, replaced(file, b"event_id,gmv_PGA,custom_site_id", header), export)
    assert (error.file_name, error.line, error.message) == (LABEL, 2, message)


def test_not_a_text_file():
    file, export = member(SCENARIO2, "gmf-data_5.csv", "gmf_data")
    error = parse_error(gmf, replaced(file, b"gmv_PGA", b"gmv_\x00GA"), export)
    assert (error.line, error.message) == (2, "not a CSV text file (it contains NUL bytes)")
    _, rows = records(file.data)
    error = parse_error(gmf, replaced(file, rows[3]["gmv_PGA"].encode(), b"\xff"), export)
    assert error.line == 6 and error.message.startswith("not valid UTF-8 (byte 0xff")


def test_only_a_header():
    file, export = member(SCENARIO2, "gmf-data_5.csv", "gmf_data")
    header_end = file.data.index(b"custom_site_id") + len(b"custom_site_id\r\n")
    error = parse_error(gmf, ExportFile(file.name, file.data[:header_end], file.label), export)
    assert (error.line, error.message) == (3, "no data rows")
