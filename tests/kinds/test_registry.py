"""kinds/__init__.py: the registry, what is derived from it, and read_export for uploads and engine exports."""

from __future__ import annotations

import io
import zipfile

import pytest

import kinds
from kinds import engine_table, engine_csv, hazard_curve, hazard_map, raw_file, uhs
from kinds.base import Export, ExportFile, ParseError
from tests.conftest import fixture_bytes

LIMIT = 10_000_000


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_every_kind_module_provides_the_contract():
    for kind in kinds.KINDS:
        assert isinstance(kind.NAME, str) and kind.NAME.replace("_", "").isalpha() and kind.NAME.islower()
        assert isinstance(kind.TITLE, str) and kind.TITLE
        assert isinstance(kind.OUTPUT_TYPES, tuple) and all(isinstance(o, str) for o in kind.OUTPUT_TYPES)
        assert kind.GEOMETRY in ("point", "line", "polygon", "mixed", None)
        assert isinstance(kind.FILTERABLE, tuple)
        assert callable(kind.claims) and callable(kind.read)


def test_artifact_types_and_parsed_outputs_are_derived_from_the_registry():
    hazard = ("hazard_curve", "hazard_map", "uhs")
    assert tuple(name for name in kinds.ARTIFACT_TYPES if name in hazard) == hazard
    assert kinds.ARTIFACT_TYPES[-1] == "file"
    hazard_outputs = ("hcurves", "hmaps", "hmaps-stats", "uhs")
    assert tuple(name for name in kinds.parsed_output_types() if name in hazard_outputs) == hazard_outputs
    assert kinds.title("uhs") == "Uniform hazard spectra"
    assert kinds.kind_named("file") is raw_file
    assert dict(kinds.artifact_type_choices())["hazard_curve"] == "Hazard curves"


def test_the_raw_kind_is_last_so_that_every_other_kind_is_asked_first():
    assert kinds.KINDS[-1] is raw_file


@pytest.mark.parametrize("name, output_type, kind", [
    ("hazard_curve-mean-PGA_2.csv", "hcurves", hazard_curve),
    ("hazard_map-mean_2.csv", "hmaps", hazard_map),
    ("hazard_map-mean-475y_2.csv", "hmaps-stats", hazard_map),
    ("hazard_uhs-mean_2.csv", "uhs", uhs),
    ("calc2_output-12-realizations_2.csv", "realizations", engine_table),
])
def test_an_engine_file_goes_to_the_kind_of_its_output_type(name, output_type, kind):
    file = ExportFile(name=name, data=fixture_bytes(name))

    assert kinds.kind_for(file, Export(files=[file], output_type=output_type)) is kind


@pytest.mark.parametrize("name, kind", [
    ("hazard_curve-mean-PGA_2.csv", hazard_curve),
    ("hazard_map-mean_2.csv", hazard_map),
    ("hazard_uhs-mean_2.csv", uhs),
    ("calc2_output-12-realizations_2.csv", engine_table),  # its engine metadata row says it is an engine table
])
def test_an_uploaded_file_goes_to_the_kind_its_header_says_whatever_its_name(name, kind):
    file = ExportFile(name="upload.csv", data=fixture_bytes(name))

    assert kinds.kind_for(file, Export(files=[file])) is kind


def test_claims_never_raise_on_garbage():
    for data in (b"", b"\x00\x01", b"\xff\xfe", b'"unterminated', b"#", b"PK\x03\x04"):
        file = ExportFile(name="x.csv", data=data)
        for kind in kinds.KINDS:
            kind.claims(file, Export(files=[file]))
            kind.claims(file, Export(files=[file], output_type="hcurves"))


def test_an_engine_output_no_kind_reads_is_kept_raw_byte_for_byte():
    data = b"id,value\r\na1,1\r\n"  # one of a job's own input files

    (table,) = kinds.read_export("assets.csv", data, output_type="input", max_uncompressed=LIMIT)

    assert (table.artifact_type, table.file_name, table.data, table.content_type) == (
        "file", "assets.csv", data, "text/csv")
    assert table.columns == [] and table.geometry is None and list(table.rows()) == []


@pytest.mark.parametrize("name, content_type", [
    ("report_2.rst", "text/x-rst"),
    ("output-3-input-zip.zip", "application/zip"),
    ("calc_2.hdf5", "application/x-hdf5"),
    ("hcurves_2.npz", "application/octet-stream"),
    ("ruptures_2.xml", "application/xml"),
    ("no_extension", "application/octet-stream"),
])
def test_a_raw_file_has_the_content_type_of_its_export_type(name, content_type):
    (table,) = kinds.read_export(name, b"\x89HDF\r\n" if "hdf5" in name else b"some bytes", output_type="x", max_uncompressed=LIMIT)

    assert table.content_type == content_type and table.artifact_type == "file"


def test_an_npz_is_one_file_though_it_is_a_zip_inside():
    data = make_zip({"array.npy": b"\x93NUMPY"})

    (table,) = kinds.read_export("hcurves_2.npz", data, output_type="hcurves", max_uncompressed=LIMIT)

    assert (table.file_name, table.data, table.artifact_type) == ("hcurves_2.npz", data, "file")


def test_an_engine_zip_keeps_every_member_parsed_or_raw():
    data = make_zip({
        "hazard_map-mean_2.csv": fixture_bytes("hazard_map-mean_2.csv"),
        "README.txt": b"not a table",
        "__MACOSX/._hazard_map-mean_2.csv": b"\x00\x05\x16\x07",
    })

    tables = kinds.read_export("output-10-hmaps-csv.zip", data, output_type="hmaps", max_uncompressed=LIMIT)

    assert [(t.file_name, t.artifact_type) for t in tables] == [("hazard_map-mean_2.csv", "hazard_map"), ("README.txt", "file")]
    assert tables[1].data == b"not a table" and tables[1].content_type == "text/plain"


def test_an_engine_zip_with_one_name_in_two_folders_keeps_both_under_their_paths():
    data = make_zip({"a/job.ini": b"[a]", "b/job.ini": b"[b]", "c/../d/./site.csv": b"x"})

    tables = kinds.read_export("output-1-input-zip.zip", data, output_type="input", max_uncompressed=LIMIT)

    assert [(t.file_name, t.data) for t in tables] == [("a/job.ini", b"[a]"), ("b/job.ini", b"[b]"), ("d/site.csv", b"x")]


def test_an_uploaded_zip_with_one_name_in_two_folders_is_refused():
    data = make_zip({"a/hazard_map-mean_2.csv": fixture_bytes("hazard_map-mean_2.csv"),
                     "b/hazard_map-mean_2.csv": fixture_bytes("hazard_map-mean_2.csv")})

    with pytest.raises(ParseError, match="two members are named 'hazard_map-mean_2.csv'"):
        kinds.read_export("upload.zip", data, max_uncompressed=LIMIT)


def test_an_engine_zip_is_held_to_the_same_bounds_as_an_upload():
    data = make_zip({"report.rst": b"x" * 5000})

    with pytest.raises(ParseError, match="the zip expands to 5000 bytes, over the limit of 4999"):
        kinds.read_export("output-1-x.zip", data, output_type="x", max_uncompressed=4999)
    with pytest.raises(ParseError, match="more than 1 entries"):
        kinds.read_export("output-1-x.zip", make_zip({"a": b"", "b": b""}), output_type="x", max_uncompressed=LIMIT, max_members=1)


def test_a_broken_file_of_a_parsed_output_type_fails_rather_than_being_kept_raw():
    data = fixture_bytes("hazard_map-mean_2.csv").replace(b"3.023842E-03", b"abc")
    tables = kinds.read_export("hazard_map-mean_2.csv", data, output_type="hmaps", max_uncompressed=LIMIT)

    with pytest.raises(ParseError, match="line 3: column 'PGA-0.002105': 'abc' is not a number"):
        list(tables[0].rows())


def test_a_raw_file_of_an_engine_export_is_not_held_to_the_parsed_file_bound():
    # A datastore is bounded by its own setting, downloaded already; parsing bounds are for parsing.
    (table,) = kinds.read_export("calc_2.hdf5", b"x" * 100, output_type="datastore", max_uncompressed=10)

    assert table.artifact_type == "file" and len(table.data) == 100


@pytest.mark.parametrize("data, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00", "upload.png: line 3: not a CSV text file (it contains NUL bytes)"),
    (b"", "upload.png: line 1: empty file"),
    (b"a,b\r\n1,2\r\n", "upload.png: not a file Icebox can read: uploads take the engine's CSV exports of ground-motion "
                        "fields, site mesh of ground-motion fields, average ground motion per site, site model, ruptures, "
                        "exposure assets, average losses per asset, average damages per asset, loss maps per asset, "
                        "hazard curves, hazard maps, uniform hazard spectra, engine tables (or a zip of them)"),
])
def test_an_upload_no_kind_reads_is_refused_saying_why(data, message):
    with pytest.raises(ParseError) as caught:
        kinds.read_export("upload.png", data, max_uncompressed=LIMIT)

    assert str(caught.value) == message


def test_peek_header_reads_the_header_row_after_the_metadata_row():
    assert engine_csv.peek_header(fixture_bytes("hazard_map-mean_2.csv"))[:3] == ["lon", "lat", "PGA-0.002105"]
    assert engine_csv.peek_header(b"\xef\xbb\xbfa,b\r\n1,2") == ["a", "b"]
    assert engine_csv.peek_header(b"\x00") is None


def test_a_file_on_disk_is_read_only_as_far_as_a_kind_needs(tmp_path):
    # A big engine file no kind parses is kept raw from its path: its bytes are never read whole.
    path = tmp_path / "calc_2.hdf5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100_000)
    (table,) = kinds.read_export("calc_2.hdf5", path, output_type="datastore", max_uncompressed=10, sha256="ab" * 32)
    assert table.artifact_type == "file" and table.size == 100_008 and table.sha256 == "ab" * 32
    assert table.source._data is None  # not read
    with table.open() as stream:
        assert stream.read() == path.read_bytes()


def test_a_zip_on_disk_is_read_like_its_bytes(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hazard_map-mean_2.csv", fixture_bytes("hazard_map-mean_2.csv"))
        archive.writestr("hazard_uhs-mean_2.csv", fixture_bytes("hazard_uhs-mean_2.csv"))
    data = buffer.getvalue()
    path = tmp_path / "upload.zip"
    path.write_bytes(data)
    from_bytes = kinds.read_export("upload.zip", data, max_uncompressed=1 << 30)
    from_path = kinds.read_export("upload.zip", path, max_uncompressed=1 << 30)
    assert [(t.file_name, t.artifact_type, t.data) for t in from_path] == [(t.file_name, t.artifact_type, t.data) for t in from_bytes]
