"""The hazard kinds (kinds/hazard_csv.py and the registry's zip bounds) on real engine exports
(fixtures/, see its README) and on broken files built here."""

from __future__ import annotations

import csv
import io
import json
import pickle
import struct
import time
import zipfile
from pathlib import Path

import pytest

import kinds
from kinds import read_export
from kinds.base import TEXT, Column, Export, ExportFile, ParseError, Table

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
LIMIT = 10_000_000

HCURVES_ZIP = "calc2_output-9-hcurves-csv.zip"
HMAPS_ZIP = "calc2_output-10-hmaps-csv.zip"
HMAPS_STATS_ZIP = "calc2_output-11-hmaps-stats-csv.zip"
UHS_ZIP = "calc2_output-14-uhs-csv.zip"
CALC8_ZIP = "calc8_output-53-hcurves-csv.zip"
ZIPS = [HCURVES_ZIP, HMAPS_ZIP, HMAPS_STATS_ZIP, UHS_ZIP, CALC8_ZIP]
SINGLE_CSVS = [
    "hazard_curve-mean-PGA_2.csv",
    "quantile_curve-0.15-SA(0.2)_2.csv",
    "hazard_map-mean_2.csv",
    "hazard_map-mean-475y_2.csv",
    "hazard_uhs-mean_2.csv",
    "quantile_uhs-0.15_2.csv",
    "hazard_curve-mean-PGA_8.csv",
]
CALC2_META = {
    "generated_by": "OpenQuake engine 3.26.2",
    "engine_version": "3.26.2",
    "start_date": "2026-11-27T18:18:03",
    "checksum": 200182232,
}
MAP_HEADER = '#,,,,"generated_by=\'OpenQuake engine 3.26.2\', start_date=\'2026-11-27T18:18:03\', checksum=200182232, kind=\'mean\', investigation_time=1.0"'
MAP_COLUMNS = "lon,lat,PGA-0.002105,SA(0.2)-0.002105,SA(1.0)-0.002105"
MAP_ROWS = [
    "-123.23738,49.27479,3.023842E-03,1.227869E-02,1.304541E-02",
    "-123.23282,49.26162,2.969383E-03,1.210475E-02,1.294519E-02",
    "-123.20480,49.26786,2.971275E-03,1.211080E-02,1.294868E-02",
]


def read_upload(file_name: str, data: bytes, **bounds) -> list[Table]:
    return read_export(file_name, data, **bounds)


def read_csv(file_name: str, data: bytes) -> Table:
    """One uploaded CSV, through the registry (its kind is found by its name or header)."""
    (table,) = read_export(file_name, data, max_uncompressed=max(len(data), 1))
    return table


def read_zip(file_name: str, data: bytes, *, max_uncompressed: int, max_members: int = 1000) -> list[Table]:
    """An uploaded zip, read as one even when the bytes are not a zip (to test the zip reader's errors)."""
    files = kinds._zip_members(file_name, ExportFile(file_name, data), upload=True, max_uncompressed=max_uncompressed, max_members=max_members)
    export = Export(files=files, name=file_name)
    return [kinds.read_file(file, export, max_uncompressed=max_uncompressed) for file in files]


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def zip_members(name: str) -> dict[str, bytes]:
    with zipfile.ZipFile(FIXTURES / name) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def make_zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def hazard_map(*rows: str, header: str = MAP_HEADER, columns: str = MAP_COLUMNS) -> bytes:
    """A hazard_map-mean_2.csv like the engine's (CRLF), with the given data rows."""
    lines = ([header] if header else []) + [columns, *rows]
    return ("\r\n".join(lines) + "\r\n").encode()


def parse_error(call, *args, **kwargs) -> ParseError:
    """The ParseError raised by call(...), reading the rows too if call returns tables."""
    with pytest.raises(ParseError) as caught:
        result = call(*args, **kwargs)
        for table in result if isinstance(result, list) else [result]:
            for _ in table.rows():
                pass
    return caught.value


def independent_read(data: bytes) -> tuple[list[str], list[tuple]]:
    """Header and ((lon, lat), values) rows read with plain csv + float, skipping the '#' row."""
    rows = list(csv.reader(data.decode("utf-8").splitlines()))
    if rows[0][0] == "#":
        rows = rows[1:]
    header, body = rows[0], rows[1:]
    lon, lat = header.index("lon"), header.index("lat")
    others = [i for i, name in enumerate(header) if name not in ("lon", "lat")]
    expected = []
    for row in body:
        values = tuple(row[i] if header[i] == "custom_site_id" else float(row[i]) for i in others)
        expected.append(((float(row[lon]), float(row[lat])), values))
    return [header[i] for i in others], expected


# --- the four formats, read from real exports ----------------------------------------------

def test_hazard_curve_is_detected_with_the_metadata_of_its_header_and_name():
    table = read_csv("hazard_curve-mean-PGA_2.csv", fixture("hazard_curve-mean-PGA_2.csv"))

    assert table.file_name == "hazard_curve-mean-PGA_2.csv"
    assert table.artifact_type == "hazard_curve"
    assert table.metadata == {**CALC2_META, "kind": "mean", "investigation_time": 1.0, "imt": "PGA", "calc_id": 2}


def test_hazard_curve_columns_carry_imt_and_iml():
    table = read_csv("hazard_curve-mean-PGA_2.csv", fixture("hazard_curve-mean-PGA_2.csv"))

    assert table.columns[0] == Column("depth", "depth")
    curve = table.columns[1:]
    assert len(curve) == 12
    assert {(c.quantity, c.imt, c.poe, c.is_text) for c in curve} == {("poe", "PGA", None, False)}
    assert [c.name for c in curve[:2]] == ["poe-0.0010197", "poe-0.0101972"]
    assert [c.iml for c in curve] == [0.0010197, 0.0101972, 0.017845, 0.0305915, 0.061183, 0.101972,
                                      0.17845, 0.305915, 0.61183, 1.01972, 1.7845, 2.39633]


def test_quantile_curve_has_quantile_kind_and_an_imt_with_parentheses():
    table = read_csv("quantile_curve-0.15-SA(0.2)_2.csv", fixture("quantile_curve-0.15-SA(0.2)_2.csv"))

    assert table.metadata == {**CALC2_META, "kind": "quantile-0.15", "investigation_time": 1.0, "imt": "SA(0.2)",
                              "calc_id": 2}
    assert {c.imt for c in table.columns[1:]} == {"SA(0.2)"}


def test_hazard_map_columns_carry_imt_and_poe():
    table = read_csv("hazard_map-mean_2.csv", fixture("hazard_map-mean_2.csv"))

    assert table.artifact_type == "hazard_map"
    assert table.metadata == {**CALC2_META, "kind": "mean", "investigation_time": 1.0, "calc_id": 2}
    assert table.columns == [
        Column("PGA-0.002105", "iml", imt="PGA", poe=0.002105),
        Column("SA(0.2)-0.002105", "iml", imt="SA(0.2)", poe=0.002105),
        Column("SA(1.0)-0.002105", "iml", imt="SA(1.0)", poe=0.002105),
    ]


def test_hazard_map_stats_take_kind_and_return_period_from_the_file_name():
    table = read_csv("hazard_map-mean-475y_2.csv", fixture("hazard_map-mean-475y_2.csv"))

    assert table.artifact_type == "hazard_map"
    # Its header has only generated_by, start_date and checksum: no kind, no investigation_time.
    assert table.metadata == {**CALC2_META, "kind": "mean", "return_period": 475, "calc_id": 2}
    assert table.columns == [Column("PGA", "iml", imt="PGA"), Column("SA(0.2)", "iml", imt="SA(0.2)"),
                             Column("SA(1.0)", "iml", imt="SA(1.0)")]


def test_quantile_map_stats_name_gives_the_quantile_kind():
    tables = read_zip(HMAPS_STATS_ZIP, fixture(HMAPS_STATS_ZIP), max_uncompressed=LIMIT)

    assert [(t.file_name, t.metadata["kind"], t.metadata["return_period"]) for t in tables] == [
        ("hazard_map-mean-475y_2.csv", "mean", 475),
        ("quantile_map-0.15-475y_2.csv", "quantile-0.15", 475),
        ("quantile_map-0.85-475y_2.csv", "quantile-0.85", 475),
    ]


def test_uhs_columns_carry_poe_and_imt():
    table = read_csv("hazard_uhs-mean_2.csv", fixture("hazard_uhs-mean_2.csv"))

    assert table.artifact_type == "uhs"
    assert table.metadata == {**CALC2_META, "kind": "mean", "investigation_time": 1.0, "calc_id": 2}
    assert table.columns == [
        Column("0.002105~PGA", "iml", imt="PGA", poe=0.002105),
        Column("0.002105~SA(0.2)", "iml", imt="SA(0.2)", poe=0.002105),
        Column("0.002105~SA(1.0)", "iml", imt="SA(1.0)", poe=0.002105),
    ]


def test_quantile_uhs_kind_is_quantile_and_value():
    table = read_csv("quantile_uhs-0.15_2.csv", fixture("quantile_uhs-0.15_2.csv"))

    assert table.artifact_type == "uhs"
    assert table.metadata == {**CALC2_META, "kind": "quantile-0.15", "investigation_time": 1.0, "calc_id": 2}


def test_event_based_curves_have_a_text_custom_site_id_first():
    table = read_csv("hazard_curve-mean-PGA_8.csv", fixture("hazard_curve-mean-PGA_8.csv"))

    assert table.metadata == {
        "generated_by": "OpenQuake engine 3.26.2", "engine_version": "3.26.2", "start_date": "2026-11-27T18:19:41",
        "checksum": 2594230135, "kind": "mean", "investigation_time": 5.0, "imt": "PGA", "calc_id": 8,
    }
    assert table.columns[0] == Column("custom_site_id", "site_id", dtype=TEXT)
    assert table.columns[1] == Column("depth", "depth")
    assert [c.iml for c in table.columns[2:]][::19] == [0.005, 2.13]
    rows = list(table.rows())
    site_ids = [values[0] for _, values in rows]
    assert len(rows) == 36
    assert site_ids[:3] == ["7zzqc5z8", "ebp33jxe", "7zzk31zs"]
    assert site_ids[-1] == "kp8zhqjt"
    assert len(set(site_ids)) == 36
    assert rows[0][0] == (-1.00026, -0.19909)
    assert rows[0][1][1:4] == (0.0, 0.950213, 0.8646647)


@pytest.mark.parametrize("name", SINGLE_CSVS)
def test_every_value_equals_an_independent_read_of_the_file(name):
    data = fixture(name)
    names, expected = independent_read(data)

    table = read_csv(name, data)

    assert [c.name for c in table.columns] == names
    assert list(table.rows()) == expected


@pytest.mark.parametrize("zip_name", ZIPS)
def test_every_zip_member_equals_an_independent_read_of_that_member(zip_name):
    members = zip_members(zip_name)

    tables = read_zip(zip_name, fixture(zip_name), max_uncompressed=LIMIT)

    assert [t.file_name for t in tables] == list(members)
    for table in tables:
        names, expected = independent_read(members[table.file_name])
        assert [c.name for c in table.columns] == names
        assert list(table.rows()) == expected


@pytest.mark.parametrize("zip_name, count, rows", [
    (HCURVES_ZIP, 18, 3), (HMAPS_ZIP, 6, 3), (HMAPS_STATS_ZIP, 3, 3), (UHS_ZIP, 6, 3), (CALC8_ZIP, 2, 36),
])
def test_each_zip_yields_one_table_per_member_with_its_rows(zip_name, count, rows):
    tables = read_zip(zip_name, fixture(zip_name), max_uncompressed=LIMIT)

    assert len(tables) == count
    assert {sum(1 for _ in t.rows()) for t in tables} == {rows}


def test_hcurves_zip_tables_are_named_and_described_by_their_members():
    tables = read_zip(HCURVES_ZIP, fixture(HCURVES_ZIP), max_uncompressed=LIMIT)

    described = {(t.metadata["kind"], t.metadata["imt"]) for t in tables}
    kinds = ["mean", "rlz-000", "rlz-001", "rlz-002", "quantile-0.15", "quantile-0.85"]
    assert described == {(k, imt) for k in kinds for imt in ("PGA", "SA(0.2)", "SA(1.0)")}
    assert "hazard_curve-rlz-001-SA(1.0)_2.csv" in [t.file_name for t in tables]
    assert {t.artifact_type for t in tables} == {"hazard_curve"}


def test_zip_member_reads_the_same_as_the_extracted_file():
    from_zip = read_zip(HMAPS_ZIP, fixture(HMAPS_ZIP), max_uncompressed=LIMIT)[0]
    alone = read_csv("hazard_map-mean_2.csv", fixture("hazard_map-mean_2.csv"))

    assert (from_zip.file_name, from_zip.artifact_type, from_zip.metadata, from_zip.columns) == \
           (alone.file_name, alone.artifact_type, alone.metadata, alone.columns)
    assert list(from_zip.rows()) == list(alone.rows())


def test_hazard_maps_and_uhs_hold_the_same_numbers_regrouped():
    # The engine computes UHS from the maps; the two real files must agree (api.md 5.4).
    hmap = read_csv("hazard_map-mean_2.csv", fixture("hazard_map-mean_2.csv"))
    uhs = read_csv("hazard_uhs-mean_2.csv", fixture("hazard_uhs-mean_2.csv"))

    assert list(hmap.rows()) == list(uhs.rows())


def test_upload_is_dispatched_on_content_not_on_name():
    zipped = read_upload("looks-like.csv", fixture(HMAPS_ZIP), max_uncompressed=LIMIT)
    single = read_upload("hazard_map-mean_2.zip", fixture("hazard_map-mean_2.csv"), max_uncompressed=LIMIT)

    assert len(zipped) == 6
    assert [t.artifact_type for t in single] == ["hazard_map"]


def test_rows_can_be_read_again():
    table = read_csv("hazard_map-mean_2.csv", fixture("hazard_map-mean_2.csv"))

    assert list(table.rows()) == list(table.rows())


def test_columns_and_metadata_are_json_friendly():
    table = read_csv("hazard_curve-mean-PGA_8.csv", fixture("hazard_curve-mean-PGA_8.csv"))

    encoded = json.dumps({"metadata": table.metadata, "columns": [c.as_dict() for c in table.columns]})
    assert json.loads(encoded)["columns"][2] == {
        "name": "poe-0.0050000", "quantity": "poe", "imt": "PGA", "iml": 0.005, "poe": None, "dtype": "float", "is_text": False}


# --- metadata: the name, the header, and their absence ----------------------------------------

def test_single_file_download_name_with_output_prefix_is_understood():
    table = read_csv("output-4-hazard_map-mean-475y_1.csv", fixture("hazard_map-mean-475y_2.csv"))

    assert table.file_name == "output-4-hazard_map-mean-475y_1.csv"
    assert table.metadata["kind"] == "mean"
    assert table.metadata["return_period"] == 475
    assert table.metadata["calc_id"] == 1


def test_directories_in_the_uploaded_name_are_dropped():
    table = read_csv("C:\\Users\\me\\hazard_map-mean_2.csv", fixture("hazard_map-mean_2.csv"))

    assert table.file_name == "hazard_map-mean_2.csv"


def test_file_without_metadata_row_takes_metadata_from_the_name_alone():
    data = fixture("hazard_curve-mean-PGA_2.csv").split(b"\r\n", 1)[1]

    table = read_csv("hazard_curve-mean-PGA_2.csv", data)

    assert table.metadata == {"kind": "mean", "imt": "PGA", "calc_id": 2}
    assert len(list(table.rows())) == 3


def test_file_without_metadata_row_counts_lines_from_its_header():
    data = hazard_map(MAP_ROWS[0], "-123.2,49.2,1.0,2.0", header="")

    error = parse_error(read_csv, "hazard_map-mean_2.csv", data)

    assert error.line == 3
    assert str(error) == "hazard_map-mean_2.csv: line 3: expected 5 values, found 4"


def test_name_outside_the_engine_grammar_leaves_metadata_to_the_header():
    table = read_csv("hazard map (1).csv", fixture("hazard_map-mean_2.csv"))

    assert table.metadata == {**CALC2_META, "kind": "mean", "investigation_time": 1.0}


def test_metadata_values_may_contain_commas_and_quotes():
    header = '#,,,,"generated_by=\'OpenQuake engine 3.26.2\', start_date=\'a, b\', checksum=7, kind=""it\'s"", investigation_time=50"'

    table = read_csv("map.csv", hazard_map(*MAP_ROWS, header=header))

    assert table.metadata["start_date"] == "a, b"
    assert table.metadata["kind"] == "it's"
    assert table.metadata["investigation_time"] == 50.0
    assert table.metadata["checksum"] == 7


def test_leading_utf8_bom_is_ignored():
    table = read_csv("hazard_map-mean_2.csv", b"\xef\xbb\xbf" + fixture("hazard_map-mean_2.csv"))

    assert table.metadata["kind"] == "mean"
    assert len(list(table.rows())) == 3


def test_unix_line_endings_and_blank_lines_are_accepted():
    data = fixture("hazard_map-mean_2.csv").replace(b"\r\n", b"\n") + b"\n\n"

    assert list(read_csv("hazard_map-mean_2.csv", data).rows()) == \
           list(read_csv("hazard_map-mean_2.csv", fixture("hazard_map-mean_2.csv")).rows())


def test_coordinates_on_the_edges_of_the_globe_are_accepted():
    table = read_csv("map.csv", hazard_map("180,90,1,2,3", "-180.0,-90.0,1,2,3"))

    assert [row[0] for row in table.rows()] == [(180.0, 90.0), (-180.0, -90.0)]


def test_name_and_header_disagreeing_on_the_kind_is_rejected():
    error = parse_error(read_csv, "hazard_map-rlz-001_2.csv", fixture("hazard_map-mean_2.csv"))

    assert error.line == 1
    assert str(error).startswith("hazard_map-rlz-001_2.csv: line 1: ")
    assert "'mean'" in error.message and "'rlz-001'" in error.message


def test_name_and_header_disagreeing_on_the_imt_is_rejected():
    error = parse_error(read_csv, "hazard_curve-mean-PGV_2.csv", fixture("hazard_curve-mean-PGA_2.csv"))

    assert str(error).startswith("hazard_curve-mean-PGV_2.csv: line 1: ")
    assert "'PGA'" in error.message and "'PGV'" in error.message


def test_name_of_another_artifact_type_is_rejected():
    error = parse_error(read_csv, "hazard_uhs-mean_2.csv", fixture("hazard_map-mean_2.csv"))

    assert str(error).startswith("hazard_uhs-mean_2.csv: line 2: the file name says uhs")


def test_bare_imt_map_without_return_period_in_the_name_is_rejected():
    error = parse_error(read_csv, "upload.csv", fixture("hazard_map-mean-475y_2.csv"))

    assert str(error).startswith("upload.csv: line 2: ")
    assert "return period" in error.message


# --- errors in the text of a CSV --------------------------------------------------------------

def test_parse_error_reads_file_line_message_and_keeps_them_as_attributes():
    error = ParseError("expected 5 values, found 4", file_name="hazard_map-mean_2.csv", line=7)

    assert str(error) == "hazard_map-mean_2.csv: line 7: expected 5 values, found 4"
    assert (error.message, error.file_name, error.line) == ("expected 5 values, found 4", "hazard_map-mean_2.csv", 7)
    assert str(ParseError("corrupt zip", file_name="a.zip")) == "a.zip: corrupt zip"
    assert str(pickle.loads(pickle.dumps(error))) == str(error)


@pytest.mark.parametrize("data", [b"", b"\r\n\r\n", b"\xef\xbb\xbf", b"   \n"])
def test_empty_file_is_rejected(data):
    error = parse_error(read_csv, "hazard_map-mean_2.csv", data)

    assert str(error) == "hazard_map-mean_2.csv: line 1: empty file"


def test_file_with_only_a_metadata_row_is_rejected():
    error = parse_error(read_csv, "hazard_map-mean_2.csv", (MAP_HEADER + "\r\n").encode())

    assert str(error) == "hazard_map-mean_2.csv: line 2: no header row after the metadata row"


@pytest.mark.parametrize("data, line", [(hazard_map(), 3), (hazard_map(header=""), 2), (hazard_map() + b"\r\n  \r\n", 3)])
def test_file_with_a_header_and_no_data_rows_is_rejected(data, line):
    error = parse_error(read_csv, "hazard_map-mean_2.csv", data)

    assert str(error) == f"hazard_map-mean_2.csv: line {line}: no data rows"


def test_invalid_utf8_in_a_data_row_is_reported_on_its_line():
    data = hazard_map(MAP_ROWS[0], "-123.23282,49.26162,2.9\xff69383E-03,1,2")
    data = data.replace("\xff".encode(), b"\xff")

    error = parse_error(read_csv, "hazard_map-mean_2.csv", data)

    assert str(error).startswith("hazard_map-mean_2.csv: line 4: not valid UTF-8 (byte 0xff")


def test_invalid_utf8_in_the_header_is_reported_at_once():
    data = fixture("hazard_map-mean_2.csv").replace(b"PGA-", b"PG\xe9-")

    with pytest.raises(ParseError) as caught:
        read_csv("hazard_map-mean_2.csv", data)

    assert str(caught.value).startswith("hazard_map-mean_2.csv: line 2: not valid UTF-8")


@pytest.mark.parametrize("data, line", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 3),
    (hazard_map(MAP_ROWS[0], "-123.2,49.2,1\x00,2,3"), 4),
])
def test_binary_data_is_not_a_csv_text_file(data, line):
    error = parse_error(read_csv, "upload.csv", data)

    assert str(error).startswith(f"upload.csv: line {line}: not a CSV text file")


def test_binary_data_without_nul_bytes_is_rejected_as_not_utf8():
    error = parse_error(read_csv, "upload.csv", b"\x1f\x8b\x08\x08\xcf\xa4\xfe\xff")

    assert str(error).startswith("upload.csv: line 1: not valid UTF-8")


@pytest.mark.parametrize("row, found", [
    ("-123.23282,49.26162,2.969383E-03,1.210475E-02", 4),
    ("-123.23282,49.26162,2.969383E-03,1.210475E-02,1.294519E-02,1.0", 6),
])
def test_row_with_too_few_or_too_many_values_is_rejected(row, found):
    data = hazard_map(MAP_ROWS[0], MAP_ROWS[1], row)

    error = parse_error(read_csv, "hazard_map-mean_2.csv", data)

    assert str(error) == f"hazard_map-mean_2.csv: line 5: expected 5 values, found {found}"


def test_rows_before_an_error_are_yielded_and_the_error_is_raised_lazily():
    table = read_csv("hazard_map-mean_2.csv", hazard_map(MAP_ROWS[0], MAP_ROWS[1], "-123.2,49.2,1"))
    rows = table.rows()

    assert next(rows)[0][0] == -123.23738
    assert next(rows)[0][0] == -123.23282
    with pytest.raises(ParseError, match="line 5: expected 5 values, found 3"):
        next(rows)


def test_file_cut_in_the_middle_of_its_last_row_is_rejected():
    data = fixture("hazard_curve-mean-PGA_2.csv")
    cut = data[:data.rindex(b"\r\n", 0, len(data) - 2) + 60]  # 60 bytes into the last row

    error = parse_error(read_csv, "hazard_curve-mean-PGA_2.csv", cut)

    assert str(error) == "hazard_curve-mean-PGA_2.csv: line 5: expected 15 values, found 6"


def test_non_numeric_value_is_rejected_naming_its_column():
    data = hazard_map(MAP_ROWS[0], "-123.23282,49.26162,2.969383E-03,abc,1.294519E-02")

    error = parse_error(read_csv, "hazard_map-mean_2.csv", data)

    assert str(error) == "hazard_map-mean_2.csv: line 4: column 'SA(0.2)-0.002105': 'abc' is not a number"


def test_non_numeric_coordinate_is_rejected_naming_its_column():
    error = parse_error(read_csv, "hazard_map-mean_2.csv", hazard_map("-123.2W,49.2,1,2,3"))

    assert str(error) == "hazard_map-mean_2.csv: line 3: column 'lon': '-123.2W' is not a number"


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999"])
def test_non_finite_value_is_rejected(value):
    data = hazard_map(MAP_ROWS[0], MAP_ROWS[1], f"-123.2,49.2,1.0,{value},2.0")

    error = parse_error(read_csv, "hazard_map-mean_2.csv", data)

    assert str(error) == f"hazard_map-mean_2.csv: line 5: column 'SA(0.2)-0.002105': '{value}' is not a finite number"


def test_huge_finite_values_are_not_mistaken_for_infinite():
    # Their sum overflows to inf, which the fast finiteness check must not take for a bad value.
    table = read_csv("map.csv", hazard_map("0,0,1.7E+308,1.7E+308,1.7E+308"))

    assert list(table.rows()) == [((0.0, 0.0), (1.7e308, 1.7e308, 1.7e308))]


def test_non_finite_coordinate_is_rejected():
    error = parse_error(read_csv, "hazard_map-mean_2.csv", hazard_map("nan,49.2,1,2,3"))

    assert str(error) == "hazard_map-mean_2.csv: line 3: column 'lon': 'nan' is not a finite number"


@pytest.mark.parametrize("lon, lat", [("180.00001", "0"), ("-200", "0"), ("0", "90.5"), ("0", "-91")])
def test_coordinates_off_the_globe_are_rejected(lon, lat):
    data = hazard_map(MAP_ROWS[0], f"{lon},{lat},1,2,3")

    error = parse_error(read_csv, "hazard_map-mean_2.csv", data)

    assert str(error).startswith("hazard_map-mean_2.csv: line 4: lon ")
    assert "is not a point on the globe" in error.message


@pytest.mark.parametrize("row, column", [
    ("-123.2,49.2,1,,3", "SA(0.2)-0.002105"),
    (",49.2,1,2,3", "lon"),
    ("-123.2,49.2,1,2, ", "SA(1.0)-0.002105"),
])
def test_empty_cell_is_rejected_naming_its_column(row, column):
    error = parse_error(read_csv, "hazard_map-mean_2.csv", hazard_map(MAP_ROWS[0], row))

    assert str(error) == f"hazard_map-mean_2.csv: line 4: empty value in column '{column}'"


def test_empty_custom_site_id_is_rejected():
    data = fixture("hazard_curve-mean-PGA_8.csv").replace(b"\r\nebp33jxe,", b"\r\n,")

    error = parse_error(read_csv, "hazard_curve-mean-PGA_8.csv", data)

    assert str(error) == "hazard_curve-mean-PGA_8.csv: line 4: empty custom_site_id"


def test_bad_value_after_custom_site_id_is_reported_with_its_column():
    data = fixture("hazard_curve-mean-PGA_8.csv").replace(b"ebp33jxe,-1.00025", b"ebp33jxe,x")

    error = parse_error(read_csv, "hazard_curve-mean-PGA_8.csv", data)

    assert str(error) == "hazard_curve-mean-PGA_8.csv: line 4: column 'lon': 'x' is not a number"


def test_malformed_quoting_is_rejected():
    error = parse_error(read_csv, "hazard_map-mean_2.csv", hazard_map(MAP_ROWS[0], '"-123.2"x,49.2,1,2,3'))

    assert str(error).startswith("hazard_map-mean_2.csv: line 4: malformed CSV")


# --- errors in the header -------------------------------------------------------------------

UNCLAIMED = ("not a file Icebox can read: uploads take the engine's CSV exports of ground-motion fields, site mesh of "
             "ground-motion fields, average ground motion per site, site model, ruptures, exposure assets, average losses "
             "per asset, average damages per asset, loss maps per asset, hazard curves, hazard maps, "
             "uniform hazard spectra, engine tables (or a zip of them)")


def test_engine_csv_no_kind_reads_is_refused_naming_what_uploads_take():
    # Before the kind registry this was "line 2: unknown column 'rlz_id'" from the hazard reader;
    # an upload of a file no kind claims now says what an upload may be.
    # (The realizations file itself is an engine table: its metadata row says it is the engine's.)
    error = parse_error(read_csv, "rlz_table.csv", b"rlz_id,branch_path,weight\r\n0,A~A,1.0\r\n")

    assert str(error) == f"rlz_table.csv: {UNCLAIMED}"


def test_unclaimed_csv_without_metadata_row_is_refused_the_same_way():
    data = fixture("calc2_output-12-realizations_2.csv").split(b"\n", 1)[1]

    error = parse_error(read_csv, "realizations.csv", data)

    assert str(error) == f"realizations.csv: {UNCLAIMED}"


def test_a_lon_lat_csv_with_broken_columns_gets_the_hazard_reader_message():
    data = fixture("hazard_map-mean_2.csv").replace(b"lon,lat,PGA-0.002105", b"lon,lat,rlz_id")

    error = parse_error(read_csv, "upload.csv", data)

    assert str(error) == "upload.csv: line 2: unknown column 'rlz_id'"


@pytest.mark.parametrize("columns, named", [
    ("lon,lat,PGA-0.002105,rlz_id", "rlz_id"),
    ("lon,lat,PGA-0.002105,", ""),
    ("lon,lat,pga-0.002105", "pga-0.002105"),
    ("lon,lat,PGA-abc", "PGA-abc"),
    ("lon,lat,0.002105~sa", "0.002105~sa"),
])
def test_unknown_data_column_is_rejected_by_name(columns, named):
    error = parse_error(read_csv, "map.csv", hazard_map("0,0,1,2", columns=columns))

    assert str(error) == f"map.csv: line 2: unknown column {named!r}"


@pytest.mark.parametrize("columns, named", [
    ("lon,lat,PGA-0.002105,0.002105~SA(0.2)", "0.002105~SA(0.2)"),
    ("lon,lat,poe-0.1,PGA", "PGA"),
    ("lon,lat,PGA,SA(0.2)-0.002105", "SA(0.2)-0.002105"),
])
def test_mixed_kinds_of_columns_are_rejected(columns, named):
    error = parse_error(read_csv, "map.csv", hazard_map("0,0,1,2", columns=columns))

    assert str(error).startswith(f"map.csv: line 2: column {named!r} does not belong with the columns before it")


@pytest.mark.parametrize("columns, message", [
    ("lon,lat,PGA-0.002105,PGA-0.002105", "duplicate column 'PGA-0.002105'"),
    ("lon,lat,PGA-0.002105,PGA-0.0021050", "column 'PGA-0.0021050' repeats the same quantity as an earlier column"),
    ("lon,lat,PGA-0.002105,lat", "unexpected column 'lat'"),
])
def test_duplicate_columns_are_rejected(columns, message):
    error = parse_error(read_csv, "map.csv", hazard_map("0,0,1,2", columns=columns))

    assert str(error) == f"map.csv: line 2: {message}"


@pytest.mark.parametrize("columns, message", [
    ("lat,lon,PGA-0.1", "unknown column 'lat': a hazard CSV starts with [custom_site_id,] lon, lat"),
    ("lon", "a hazard CSV needs lon and lat columns"),
    ("lon,lat", "no data columns after lon, lat"),
    ("lon,lat,depth", "no data columns after lon, lat"),
    ("lon,lat,PGA-1.5", "column 'PGA-1.5': '1.5' is not a probability of exceedance"),
    ("lon,lat,poe-0", "column 'poe-0': the intensity level is not a positive number"),
])
def test_header_without_usable_columns_is_rejected(columns, message):
    error = parse_error(read_csv, "map.csv", hazard_map("0,0,1", columns=columns))

    assert str(error) == f"map.csv: line 2: {message}"


@pytest.mark.parametrize("data, message", [
    (hazard_map("0,0,1", columns="lon,lat,A(" + "-" * 100_000 + ")-x"), "line 2: column name of 100005 characters"),
    (hazard_map("0,0,1", header='#,"k=' + " " * 100_000 + "'\"", columns="lon,lat,PGA"), "line 1: cannot read the metadata row"),
])
def test_crafted_header_cells_are_rejected_quickly(data, message):
    # These once took minutes to hours in backtracking regexes; now a few milliseconds.
    started = time.perf_counter()
    error = parse_error(read_csv, "map.csv", data)

    assert time.perf_counter() - started < 2
    assert str(error).startswith(f"map.csv: {message}")


def test_crafted_file_name_is_read_quickly():
    # Zip member names can be 64 KiB long and go through the file-name grammar.
    name = "quantile_map-" + "1" * 60_000 + "x_2.csv"
    started = time.perf_counter()

    table = read_csv(name, fixture("hazard_map-mean_2.csv"))

    assert time.perf_counter() - started < 2
    assert "calc_id" not in table.metadata


def test_old_mac_line_endings_are_rejected_with_a_clear_message():
    data = fixture("hazard_map-mean_2.csv").replace(b"\r\n", b"\r")

    error = parse_error(read_csv, "hazard_map-mean_2.csv", data)

    assert str(error) == ("hazard_map-mean_2.csv: line 1: malformed CSV: a carriage return inside a field "
                          "(lines must end with \\n or \\r\\n)")


def test_imt_names_follow_the_engine_grammar():
    columns = 'lon,lat,PGV-0.1,MMI-0.1,AvgSA-0.1,IA-0.1,"SDi(1.0,0.5)-0.1",SA(1e-05)-1e-05'

    table = read_csv("map.csv", hazard_map("0,0,1,2,3,4,5,6", columns=columns))

    assert [(c.imt, c.poe) for c in table.columns] == [
        ("PGV", 0.1), ("MMI", 0.1), ("AvgSA", 0.1), ("IA", 0.1), ("SDi(1.0,0.5)", 0.1), ("SA(1e-05)", 1e-05)]


def test_hazard_curve_without_imt_in_header_or_name_is_rejected():
    data = fixture("hazard_curve-mean-PGA_2.csv").replace(b", imt='PGA'", b"")

    error = parse_error(read_csv, "curves.csv", data)

    assert str(error).startswith("curves.csv: line 1: hazard curve without an IMT")
    # The same file keeps its IMT when the name still says it.
    assert read_csv("hazard_curve-mean-PGA_2.csv", data).metadata["imt"] == "PGA"


@pytest.mark.parametrize("cell, message", [
    ("generated_by='x', broken", "cannot read the metadata row from 'broken'"),
    ("checksum='abc'", "metadata checksum='abc' is not an integer"),
    ("investigation_time=-1.0", "metadata investigation_time=-1.0 is not a positive number of years"),
    ("investigation_time=nan", "metadata investigation_time=nan is not a positive number of years"),
    ("kind='mean', kind='max'", "metadata key 'kind' given twice"),
    ("kind=3", "metadata kind=3 is not a text"),
])
def test_unreadable_metadata_row_is_rejected(cell, message):
    data = hazard_map(*MAP_ROWS, header=f'#,,,,"{cell}"')

    error = parse_error(read_csv, "map.csv", data)

    assert str(error) == f"map.csv: line 1: {message}"


def test_metadata_row_with_values_in_its_middle_cells_is_rejected():
    error = parse_error(read_csv, "map.csv", hazard_map(*MAP_ROWS, header='#,x,,,"kind=\'mean\'"'))

    assert str(error).startswith("map.csv: line 1: unexpected values in the metadata row")


# --- zips -----------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    b"PK\x03\x04" + b"\x00" * 40,
    b"not a zip at all",
    fixture(HMAPS_ZIP)[:600],  # cut short: no central directory
])
def test_corrupt_zip_is_rejected(data):
    error = parse_error(read_zip, "upload.zip", data, max_uncompressed=LIMIT)

    assert str(error).startswith("upload.zip: corrupt zip")


def test_zip_with_a_damaged_member_is_rejected_naming_the_member():
    data = bytearray(fixture(HMAPS_ZIP))
    start = data.index(b"hazard_map-mean_2.csv") + len("hazard_map-mean_2.csv")  # compressed data follows
    data[start + 10:start + 30] = b"\x00" * 20

    error = parse_error(read_zip, HMAPS_ZIP, bytes(data), max_uncompressed=LIMIT)

    assert str(error).startswith(f"{HMAPS_ZIP}/hazard_map-mean_2.csv: corrupt zip")


def test_zip_without_csv_member_is_rejected():
    data = make_zip({"README.txt": b"hello", "hcurves_2.npz": b"PK"})

    error = parse_error(read_zip, "upload.zip", data, max_uncompressed=LIMIT)

    assert str(error) == "upload.zip: no .csv file in the zip"


def test_empty_zip_upload_is_a_zip_without_csv():
    error = parse_error(read_upload, "upload.zip", make_zip({}), max_uncompressed=LIMIT)

    assert str(error) == "upload.zip: no .csv file in the zip"


def test_zip_declaring_more_than_the_limit_is_rejected_before_expanding():
    data = make_zip({"hazard_map-mean_2.csv": fixture("hazard_map-mean_2.csv") + b"\r\n" * 5_000_000})
    assert len(data) < 20_000  # a small upload that expands to 10 MB

    error = parse_error(read_zip, "bomb.zip", data, max_uncompressed=1_000_000)

    assert str(error) == "bomb.zip: the zip expands to 10000374 bytes, over the limit of 1000000"


def test_zip_limit_counts_all_members_together():
    members = zip_members(HMAPS_ZIP)
    total = sum(len(data) for data in members.values())

    assert len(read_zip(HMAPS_ZIP, fixture(HMAPS_ZIP), max_uncompressed=total)) == 6
    with pytest.raises(ParseError, match="over the limit"):
        read_zip(HMAPS_ZIP, fixture(HMAPS_ZIP), max_uncompressed=total - 1)


def test_zip_that_understates_its_sizes_is_never_expanded_past_them():
    big = fixture("hazard_map-mean_2.csv") + b"\r\n" * 500_000
    data = bytearray(make_zip({"hazard_map-mean_2.csv": big}))
    directory = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, directory + 24, 300)  # the central directory now says 300 bytes

    error = parse_error(read_zip, "liar.zip", bytes(data), max_uncompressed=1000)

    assert str(error).startswith("liar.zip/hazard_map-mean_2.csv: ")


def test_member_expanding_past_its_declared_size_is_cut_off_at_the_limit(monkeypatch):
    # CPython's zipfile already stops at the declared size (see above); the byte count in
    # read_zip is for a decompressor that would not. Simulate one that never ends.
    class EndlessMember:
        served = 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self, size):
            EndlessMember.served += size
            return b"\n" * size

    data = make_zip({"hazard_map-mean_2.csv": fixture("hazard_map-mean_2.csv")})
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, *args, **kwargs: EndlessMember())

    error = parse_error(read_zip, "bomb.zip", data, max_uncompressed=1_000_000)

    assert str(error) == "bomb.zip/hazard_map-mean_2.csv: the zip expands to more than the limit of 1000000 bytes"
    assert EndlessMember.served < 1_000_000 + 2 * 65536


@pytest.mark.parametrize("count", [6, 50])
def test_zip_with_more_than_max_members_entries_is_rejected(count):
    data = make_zip({f"dir/f{i}.txt": b"x" for i in range(count)})

    error = parse_error(read_zip, "many.zip", data, max_uncompressed=LIMIT, max_members=5)

    assert str(error) == "many.zip: more than 5 entries in the zip"


def test_zip_member_paths_are_reduced_to_base_names():
    data = make_zip({"calc_2/export/hazard_map-mean_2.csv": fixture("hazard_map-mean_2.csv")})

    (table,) = read_zip("upload.zip", data, max_uncompressed=LIMIT)

    assert table.file_name == "hazard_map-mean_2.csv"
    assert table.metadata["calc_id"] == 2


def test_zip_ignores_directories_other_files_and_macos_shadows():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.mkdir("export")
        archive.writestr("export/README.txt", b"not a table")
        archive.writestr("export/hazard_map-mean_2.csv", fixture("hazard_map-mean_2.csv"))
        archive.writestr("__MACOSX/export/._hazard_map-mean_2.csv", b"\x00\x05\x16\x07 AppleDouble")
        archive.writestr("export/._hazard_uhs-mean_2.csv", b"\x00\x05\x16\x07 AppleDouble")

    tables = read_zip("upload.zip", buffer.getvalue(), max_uncompressed=LIMIT)

    assert [t.file_name for t in tables] == ["hazard_map-mean_2.csv"]


def test_zip_with_two_members_of_the_same_name_is_rejected():
    data = make_zip({"a/hazard_map-mean_2.csv": fixture("hazard_map-mean_2.csv"),
                     "b/hazard_map-mean_2.csv": fixture("hazard_map-mean_2.csv")})

    error = parse_error(read_zip, "upload.zip", data, max_uncompressed=LIMIT)

    assert str(error) == "upload.zip: two members are named 'hazard_map-mean_2.csv'"


def test_error_in_a_data_row_of_a_member_names_the_zip_and_member():
    members = zip_members(HCURVES_ZIP)
    members["hazard_curve-mean-PGA_2.csv"] = members["hazard_curve-mean-PGA_2.csv"].replace(b"-123.23282", b"-999.0")
    tables = read_zip(HCURVES_ZIP, make_zip(members), max_uncompressed=LIMIT)

    with pytest.raises(ParseError) as caught:
        list(tables[0].rows())

    assert caught.value.file_name == f"{HCURVES_ZIP}/hazard_curve-mean-PGA_2.csv"
    assert str(caught.value).startswith(f"{HCURVES_ZIP}/hazard_curve-mean-PGA_2.csv: line 4: lon -999")
    assert tables[0].file_name == "hazard_curve-mean-PGA_2.csv"


def test_error_in_the_header_of_a_member_names_the_zip_and_member():
    members = zip_members(UHS_ZIP)
    members["quantile_uhs-0.15_2.csv"] = members["quantile_uhs-0.15_2.csv"].replace(b"lon,lat", b"rlz_id,lat")

    error = parse_error(read_zip, UHS_ZIP, make_zip(members), max_uncompressed=LIMIT)

    assert str(error).startswith(f"{UHS_ZIP}/quantile_uhs-0.15_2.csv: line 2: unknown column 'rlz_id'")


def test_encrypted_member_is_rejected():
    data = bytearray(make_zip({"hazard_map-mean_2.csv": fixture("hazard_map-mean_2.csv")}))
    # zipfile cannot write encrypted members: set the 'encrypted' flag where a real tool would.
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature) + flag_offset
        data[at] |= 0x1

    error = parse_error(read_upload, "secret.zip", bytes(data), max_uncompressed=LIMIT)

    assert str(error) == "secret.zip/hazard_map-mean_2.csv: encrypted member"


def test_bare_csv_upload_is_held_to_the_same_limit_as_a_zip():
    data = fixture("hazard_map-mean_2.csv")

    error = parse_error(read_upload, "hazard_map-mean_2.csv", data, max_uncompressed=len(data) - 1)

    assert str(error) == f"hazard_map-mean_2.csv: {len(data)} bytes, over the limit of {len(data) - 1}"
    assert len(read_upload("hazard_map-mean_2.csv", data, max_uncompressed=len(data))) == 1


def test_table_keeps_the_exact_bytes_of_its_file():
    # artifacts.services stores and hashes these: they must be the file, not a re-encoding of it.
    members = zip_members(CALC8_ZIP)
    with_bom = b"\xef\xbb\xbf" + fixture("hazard_map-mean_2.csv")

    tables = read_zip(CALC8_ZIP, fixture(CALC8_ZIP), max_uncompressed=LIMIT)

    assert [t.data for t in tables] == list(members.values())
    assert read_csv("hazard_map-mean_2.csv", with_bom).data == with_bom


def test_table_is_plain_data():
    table = read_csv("hazard_map-mean_2.csv", fixture("hazard_map-mean_2.csv"))

    assert isinstance(table, Table)
    assert "hazard_map-mean_2.csv" in repr(table) and "_data" not in repr(table)


def test_a_file_name_with_unicode_digits_is_not_an_engine_name():
    # '\d' matched '٢' (and int() read it as 2): engine names are written in ASCII digits.
    table = read_csv("hazard_map-mean_\u0662.csv", fixture("hazard_map-mean_2.csv"))
    assert "calc_id" not in table.metadata
    assert "return_period" not in read_csv("hazard_map-mean-\u0664\u0667\u0665y_2.csv", fixture("hazard_map-mean_2.csv")).metadata


def test_a_header_number_in_unicode_digits_is_refused():
    arabic = str.maketrans("0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669")
    data = fixture("hazard_map-mean_2.csv").decode()
    data = data.replace("PGA-0.002105", "PGA-" + "0.002105".translate(arabic), 1).encode()
    with pytest.raises(ParseError):
        read_csv("hazard_map-mean_2.csv", data)
