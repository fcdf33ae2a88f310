"""The table kind on real engine exports (fixtures/tables/), checked against an independent csv reading."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest

from kinds import engine_table
from kinds.base import Export, ExportFile, ParseError

TABLES = Path(__file__).resolve().parents[2] / "fixtures" / "tables"
HAZARD = Path(__file__).resolve().parents[2] / "fixtures"

# (job folder, download, engine output type)
DOWNLOADS = [
    ("scenario_damage_case_1", "output-1-aggrisk-_1.csv", "aggrisk"),
    ("scenario_damage_case_1", "output-4-events_1.csv", "events"),
    ("scenario_damage_case_1", "output-8-risk_by_event_1.csv", "risk_by_event"),
    ("classical_risk_case_1", "output-11-loss_curves-mean_2.csv", "loss_curves-stats"),
    ("classical_risk_case_3", "output-5-loss_curves-mean_1.csv", "loss_curves-stats"),
    ("event_based_risk_case_01", "output-12-aggcurves-_3.csv", "aggcurves"),
    ("event_based_risk_case_01", "output-13-aggcurves-stats-_3.csv", "aggcurves-stats"),
    ("event_based_risk_case_01", "output-14-aggrisk-_3.csv", "aggrisk"),
    ("event_based_risk_case_01", "output-15-aggrisk-stats-_3.csv", "aggrisk-stats"),
    ("event_based_risk_case_01", "output-18-event_based_mfd_3.csv", "event_based_mfd"),
    ("event_based_risk_case_01", "output-19-events_3.csv", "events"),
    ("event_based_risk_case_01", "output-22-realizations_3.csv", "realizations"),
    ("event_based_risk_case_01", "output-23-risk_by_event_3.csv", "risk_by_event"),
    ("event_based_risk_case_01", "output-25-src_loss_table-csv.zip", "src_loss_table"),
    ("disagg_case_1", "output-26-disagg-rlzs-csv.zip", "disagg-rlzs"),
    ("disagg_case_1", "output-29-mean_rates_by_src-csv.zip", "mean_rates_by_src"),
]


def export_of(folder: str, download: str, output_type: str | None) -> Export:
    data = (TABLES / folder / download).read_bytes()
    if download.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            files = [ExportFile(name, archive.read(name), label=f"{download}/{name}") for name in archive.namelist()]
    else:
        files = [ExportFile(download, data)]
    return Export(files=files, output_type=output_type, name=download)


def every_file():
    for folder, download, output_type in DOWNLOADS:
        for file in export_of(folder, download, output_type).files:
            yield pytest.param(folder, download, output_type, file.name, id=file.name)


def independent(data: bytes) -> tuple[list[str], list[list[str]], str | None]:
    """Header, data rows as text, and the metadata cell, by the csv module alone."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    meta = rows[0][-1] if rows[0][0] == "#" else None
    if meta is not None:
        rows = rows[1:]
    return rows[0], [row for row in rows[1:] if row], meta


@pytest.mark.parametrize("folder, download, output_type, member", list(every_file()))
def test_every_value_is_the_files(folder, download, output_type, member):
    export = export_of(folder, download, output_type)
    file = export.file(member)
    assert engine_table.claims(file, export)
    # An upload has no output type: the engine's name and metadata row are enough.
    assert engine_table.claims(file, Export(files=[file]))
    table = engine_table.read(file, export)
    header, rows, meta = independent(file.data)
    assert table.artifact_type == "table" and table.geometry is None
    assert [column.name for column in table.columns] == header
    assert table.metadata["output_type"] == output_type
    assert table.data == file.data
    read = list(table.rows())
    assert len(read) == len(rows)
    for (geometry, values), cells in zip(read, rows):
        assert geometry is None
        for column, value, cell in zip(table.columns, values, cells):
            if column.dtype == "int":
                assert type(value) is int and value == int(cell)
            elif column.dtype == "float":
                assert type(value) is float and value == float(cell)
            else:
                assert column.dtype == "text" and value == cell
    if meta and "generated_by" in meta:
        assert table.metadata["engine_version"] == "3.26.2"
    assert list(table.rows()) == read  # rows() can be called again


# What each column is read as, written out by hand from the files.
TYPES = {
    "output-4-events_1.csv": {"event_id": "int", "rup_id": "int", "rlz_id": "int"},
    "output-19-events_3.csv": {"event_id": "int", "rup_id": "int", "rlz_id": "int", "year": "int", "ses_id": "int"},
    "output-23-risk_by_event_3.csv": {"event_id": "int", "loss": "float", "loss_type": "text", "rup_id": "int", "year": "int"},
    "output-22-realizations_3.csv": {"rlz_id": "int", "branch_path": "text", "weight": "float"},
    "output-11-loss_curves-mean_2.csv": {"asset_id": "text", "loss_type": "text", "loss_value": "float", "loss_ratio": "float", "poe": "float"},
    "output-15-aggrisk-stats-_3.csv": {"loss_type": "text", "loss": "float", "stat": "text"},
    "output-18-event_based_mfd_3.csv": {"mag": "float", "freq": "float"},
    "Mag_Dist-0_4.csv": {"imt": "text", "iml": "float", "poe": "float", "mag": "float", "dist": "float", "rlz0": "float"},
    "Lon_Lat-0_4.csv": {"imt": "text", "iml": "float", "poe": "float", "lon": "float", "lat": "float", "rlz0": "float"},
    "mean_rates_by_src-0_4.csv": {"source_id": "text", "imt": "text", "iml": "float", "afoe": "float"},
    "mean_rates_by_src-1_4.csv": {"source_id": "text", "imt": "text", "iml": "text", "afoe": "text"},  # header only
    "src_loss_structural_3.csv": {"source": "text", "value": "float"},
}


@pytest.mark.parametrize("folder, download, output_type, member", [p for p in every_file() if p.values[3] in TYPES])
def test_column_types(folder, download, output_type, member):
    export = export_of(folder, download, output_type)
    table = engine_table.read(export.file(member), export)
    assert {column.name: column.dtype for column in table.columns} == TYPES[member]


def test_the_sigma_epsilon_of_a_gmf_zip_is_a_table():
    # Station-conditioned scenario (Puebla): the zip's sigma_epsilon has a header and no rows here.
    export = export_of("scenario_case_21", "output-4-gmf_data-csv.zip", "gmf_data")
    file = export.file("sigma_epsilon_1.csv")
    assert engine_table.claims(file, export)
    table = engine_table.read(file, export)
    header, rows, _ = independent(file.data)
    assert [c.name for c in table.columns] == header == ["event_id", "rlz_id", "sig_inter_PGA", "sig_inter_SA(0.1)", "eps_inter_PGA", "eps_inter_SA(0.1)"]
    assert rows == [] and list(table.rows()) == []
    assert table.metadata["output_type"] == "gmf_data"
    assert not engine_table.claims(export.file("sitemesh_1.csv"), export)  # the site mesh has lon, lat


def test_risk_by_event_keeps_big_rupture_ids_as_integers():
    export = export_of("event_based_risk_case_01", "output-23-risk_by_event_3.csv", "risk_by_event")
    [first, *_] = engine_table.read(export.files[0], export).rows()
    assert first == (None, (29, 23.3916, "nonstructural", 2147483648, 129))


def test_metadata_of_the_header_row_and_the_name():
    export = export_of("disagg_case_1", "output-26-disagg-rlzs-csv.zip", "disagg-rlzs")
    metadata = engine_table.read(export.file("Mag-0_4.csv"), export).metadata
    assert metadata["mag_bin_edges"] == [5.0, 6.0, 7.0, 8.0]
    assert metadata["tectonic_region_types"] == ["Active Shallow Crust"]
    assert (metadata["lon"], metadata["lat"], metadata["rlz_ids"]) == (10.1, 40.1, [0])
    assert (metadata["site_index"], metadata["calc_id"], metadata["investigation_time"]) == (0, 4, 50.0)

    curves = export_of("classical_risk_case_1", "output-11-loss_curves-mean_2.csv", None)
    metadata = engine_table.read(curves.files[0], curves).metadata
    assert metadata == {"output_type": "loss_curves", "kind": "mean", "risk_investigation_time": 1.0, "calc_id": 2}

    aggrisk = export_of("event_based_risk_case_01", "output-14-aggrisk-_3.csv", None)
    assert engine_table.read(aggrisk.files[0], aggrisk).metadata["output_type"] == "aggrisk"


@pytest.mark.parametrize("name", ["hazard_map-mean_2.csv", "hazard_curve-mean-PGA_2.csv", "hazard_uhs-mean_2.csv"])
def test_files_with_coordinates_are_not_tables(name):
    file = ExportFile(name, (HAZARD / name).read_bytes())
    assert not engine_table.claims(file, Export(files=[file]))


def test_the_exposure_and_ruptures_are_not_tables():
    exposure = export_of("event_based_risk_case_01", "output-20-exposure-zip.zip", "exposure")
    assert not any(engine_table.claims(file, exposure) for file in exposure.files)  # assetcol has lon, lat; the XML is no CSV
    ruptures = ExportFile("ruptures_3.csv", b"#,\"generated_by='OpenQuake engine 3.26.2'\"\nrup_id,centroid_lon,centroid_lat\n1,2.0,3.0\n")
    assert not engine_table.claims(ruptures, Export(files=[ruptures]))


def test_a_csv_that_is_not_an_engine_file_is_not_claimed():
    file = ExportFile("notes.csv", b"a,b\n1,2\n")
    assert not engine_table.claims(file, Export(files=[file]))
    assert engine_table.claims(file, Export(files=[file], output_type="events"))
    assert not engine_table.claims(ExportFile("x_1.csv", b"\x00\x01"), Export(files=[]))


def parse_error(data: bytes, name="events_3.csv") -> ParseError:
    file = ExportFile(name, data, label=f"output-19-events-csv.zip/{name}")
    with pytest.raises(ParseError) as error:
        list(engine_table.read(file, Export(files=[file])).rows())
    return error.value


@pytest.mark.parametrize(
    "data, message",
    [
        (b"event_id,rlz_id\n0,0\n1\n", "output-19-events-csv.zip/events_3.csv: line 3: expected 2 values, found 1"),
        (b"#,\"generated_by='x'\"\nevent_id,rlz_id\n0,0\n1,2,3\n", "events_3.csv: line 4: expected 2 values, found 3"),
        (b"event_id,event_id\n0,0\n", "line 1: duplicate column 'event_id'"),
        (b"event_id,\n0,0\n", "line 1: empty column name in the header row"),
        (b"", "line 1: empty file"),
        (b"event_id\n0\n\x00", "line 3: not a CSV text file (it contains NUL bytes)"),
        (b"event_id\n0\n\xff\n", "line 3: not valid UTF-8 (byte 0xff at column 1)"),
        (b"#,\"a=1, a=2\"\nevent_id\n0\n", "line 1: metadata key 'a' given twice"),
        (b"#,\nx\n", None),  # a metadata row then a header and no rows is fine
        (b"#,\"k=v\"\n", "line 2: no header row after the metadata row"),
        (b"event_id,lon,lat\n0,1,2\n", "line 1: column 'lat': a table with coordinates is not a plain table"),
    ],
)
def test_errors_name_the_file_the_line_and_the_problem(data, message):
    if message is None:
        file = ExportFile("events_3.csv", data)
        assert list(engine_table.read(file, Export(files=[file])).rows()) == []
        return
    assert message in str(parse_error(data))


def test_a_column_with_an_empty_cell_or_nan_is_text():
    file = ExportFile("aggrisk_3.csv", b"loss_type,loss,ratio\nstructural,,nan\nnonstructural,1.5,2\n")
    table = engine_table.read(file, Export(files=[file]))
    assert [column.dtype for column in table.columns] == ["text", "text", "text"]
    assert list(table.rows()) == [(None, ("structural", "", "nan")), (None, ("nonstructural", "1.5", "2"))]


def test_filterable_columns_are_keys_not_values():
    assert {"event_id", "rlz_id", "asset_id", "loss_type"} <= set(engine_table.FILTERABLE)
    assert not {"loss", "weight", "afoe", "poe"} & set(engine_table.FILTERABLE)
