"""kinds/input_archive.py and kinds/job_ini.py on real job input sets (fixtures/inputs) and on archives built to be refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

import kinds
from kinds import input_archive, job_ini
from kinds.base import ParseError

INPUTS = Path(__file__).resolve().parents[2] / "fixtures" / "inputs"
LIMIT = 10_000_000


def job_files(name: str) -> dict[str, bytes]:
    root = INPUTS / name
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def make_zip(members: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def refusal(data: bytes, **kwargs) -> ParseError:
    with pytest.raises(ParseError) as caught:
        input_archive.read_archive("model.zip", data, **kwargs)
    return caught.value


ROLES = {
    "classical_case_18": {"job.ini": "job_ini", "source_model_logic_tree.xml": "source_model_logic_tree",
                          "point_source.xml": "source_model", "nbc_asc_logic_tree.xml": "gsim_logic_tree",
                          "Wcrust_low_rhypo.hdf5": "gsim_table", "Wcrust_med_rhypo.hdf5": "gsim_table",
                          "Wcrust_high_rhypo.hdf5": "gsim_table", "vancouver_school_sites.csv": "sites",
                          "job_icebox.ini": "unreferenced"},
    "event_based_case_28": {"job.ini": "job_ini", "ssmLt.xml": "source_model_logic_tree", "ssm00.xml": "source_model",
                            "gmmLt.xml": "gsim_logic_tree"},
    "scenario_damage_case_13": {"job.ini": "job_ini", "Exposure.xml": "exposure", "OQ_exposure_model.csv": "exposure_assets",
                                "earthquake_rupture.xml": "rupture_model", "Site_model_one_location.csv": "site_model",
                                "gmpe_logic_tree.xml": "gsim_logic_tree", "taxonomy_mapping.csv": "taxonomy_mapping",
                                "fragility_structural.xml": "structural_fragility",
                                "consequence_recovery_time.csv": "consequence"},
    "scenario_case_1": {"job.ini": "job_ini", "rupture_model.xml": "rupture_model"},
    "scenario_risk_case_3": {"job.ini": "job_ini", "exposure_model.xml": "exposure", "fault_rupture.xml": "rupture_model",
                             "vulnerability_model.xml": "structural_vulnerability"},
}


@pytest.mark.parametrize("name", sorted(ROLES))
def test_every_file_of_a_real_job_gets_the_role_the_engine_reads_it_as(name):
    archive = input_archive.read_archive(f"{name}.zip", make_zip(job_files(name)))

    assert archive.roles == ROLES[name]
    assert archive.job_ini == "job.ini"
    assert {file.path: file.size for file in archive.files} == {path: len(data) for path, data in job_files(name).items()}


def test_the_archive_says_who_names_each_file_and_where():
    archive = input_archive.read_archive("m.zip", make_zip(job_files("scenario_damage_case_13")))
    by_path = {file.path: file for file in archive.files}

    assert by_path["OQ_exposure_model.csv"].referenced_by == (("Exposure.xml", 17, "assets"),)
    assert by_path["consequence_recovery_time.csv"].referenced_by == (("job.ini", 29, "consequence_file"),)
    assert by_path["consequence_recovery_time.csv"].names == ("taxonomy",)
    assert archive.calculation_mode == "scenario_damage"
    assert archive.inputs()["exposure"] == "Exposure.xml"
    as_json = archive.as_dict()
    assert as_json["params"]["rupture_model_file"] == "earthquake_rupture.xml"
    assert as_json["tree"]["OQ_exposure_model.csv"] == "exposure_assets"


def test_files_in_folders_are_named_relative_to_the_file_that_names_them():
    files = job_files("scenario_damage_case_13")
    nested = {("job.ini" if path == "job.ini" else f"in/{path}"): data for path, data in files.items()}
    ini = files["job.ini"].decode()
    for name in ("Exposure.xml", "earthquake_rupture.xml", "Site_model_one_location.csv", "gmpe_logic_tree.xml",
                 "taxonomy_mapping.csv", "fragility_structural.xml", "consequence_recovery_time.csv"):
        ini = ini.replace(f"= {name}", f"= in/{name}").replace(f"'{name}'", f"'in/{name}'")
    nested["job.ini"] = ini.encode()

    archive = input_archive.read_archive("m.zip", make_zip(nested))

    assert archive.roles["in/OQ_exposure_model.csv"] == "exposure_assets"  # named 'OQ_exposure_model.csv' in in/Exposure.xml
    assert archive.tree()["in"]["Exposure.xml"] == "exposure"


def test_the_files_of_a_job_may_come_one_by_one():
    archive = input_archive.read_files(job_files("event_based_case_28"))

    assert archive.roles["ssm00.xml"] == "source_model"


def test_a_gsim_table_the_archive_lacks_is_the_engines_to_find_not_a_refusal():
    # NGAEast's tables ship with hazardlib: classical/case_81 names one and has none
    (external,) = input_archive.read_files(job_files("classical_case_81")).external
    assert (external["path"], external["referenced_by"]) == ("nga_east_usgs_8.hdf5", "gmpe_logic_tree.xml")
    files = job_files("classical_case_18")
    del files["Wcrust_med_rhypo.hdf5"]

    archive = input_archive.read_files(files)

    assert "Wcrust_med_rhypo.hdf5" not in archive.roles and archive.roles["Wcrust_low_rhypo.hdf5"] == "gsim_table"
    assert archive.external == ({"path": "Wcrust_med_rhypo.hdf5", "role": "gsim_table",
                                 "referenced_by": "nbc_asc_logic_tree.xml", "line": 18},)
    assert archive.as_dict()["external"] == [dict(archive.external[0])]


def test_the_engine_takes_the_first_ini_in_path_order_unless_one_is_named():
    files = job_files("classical_case_18")

    assert input_archive.read_files(files).job_ini == "job.ini"
    chosen = input_archive.read_files(files, job_ini_name="job_icebox.ini")
    assert chosen.job_ini == "job_icebox.ini" and chosen.params["quantiles"] == "0.15 0.85"


# --- job.ini conventions --------------------------------------------------------------------------


def test_job_ini_reads_as_the_engines_configparser_does():
    text = (b"\xef\xbb\xbf[general]\n"
            b"Description: colon delimiter, BOM skipped, key lower-cased\n"
            b"calculation_mode = classical\n"
            b"  # an indented comment\n"
            b"; another comment\n"
            b"intensity_measure_types_and_levels = {\n"
            b"  # a comment inside a continuation is dropped\n"
            b"  \"PGA\": [0.1, 0.2]}\n"
            b"[calculation]\n"
            b"truncation_level = 3 # not a comment: the engine has no inline comments\n"
            b"poes = 10% in 50 years\n"
            b"empty =\n")
    job = job_ini.parse(text)

    assert job.params == {"description": "colon delimiter, BOM skipped, key lower-cased", "calculation_mode": "classical",
                          "intensity_measure_types_and_levels": '{\n"PGA": [0.1, 0.2]}',
                          "truncation_level": "3 # not a comment: the engine has no inline comments",
                          "poes": "10% in 50 years", "empty": ""}
    assert job.lines == {"description": 2, "calculation_mode": 3, "intensity_measure_types_and_levels": 6,
                         "truncation_level": 10, "poes": 11, "empty": 12}


@pytest.mark.parametrize("text, message", [
    (b"calculation_mode = classical\n", "job.ini: line 1: not an INI file: 'calculation_mode = classical' comes before any [section] header"),
    (b"[general]\ncalculation_mode = classical\nthis is not ini\n", "job.ini: line 3: not an INI line: 'this is not ini' is neither 'key = value', a [section] nor a comment"),
    (b"[a]\nx = 1\n[a]\n", "job.ini: line 3: section [a] is given twice"),
    (b"[a]\ncalculation_mode = classical\nCalculation_Mode = scenario\n", "job.ini: line 3: 'calculation_mode' is given twice in section [a]"),
    (b"[a]\ncalculation_mode = classical\n[b]\n\ncalculation_mode = scenario\n", "job.ini: line 5: 'calculation_mode' is given in both [a] and [b]"),
    (b"[a]\ndescription = x\n", "job.ini: no calculation_mode: the engine needs one (classical, event_based, scenario, ...)"),
    (b"[a]\nx = \xff\n", "job.ini: line 2: not UTF-8 text (byte 0xff)"),
    (b"PK\x03\x04\x00\x00", "job.ini: line 1: not an INI text file (it contains NUL bytes)"),
])
def test_a_job_ini_that_is_not_ini_is_refused_naming_the_line(text, message):
    with pytest.raises(ParseError) as caught:
        job_ini.parse(text)

    assert str(caught.value) == message


# --- refusals --------------------------------------------------------------------------------------


def test_a_missing_referenced_file_is_refused_naming_the_job_ini_and_its_line():
    files = job_files("scenario_damage_case_13")
    del files["fragility_structural.xml"]

    error = refusal(make_zip(files))

    assert str(error) == ("job.ini: line 26: structural_fragility_file names 'fragility_structural.xml', "
                          "which is not in the archive")
    assert (error.file_name, error.line) == ("job.ini", 26)


@pytest.mark.parametrize("job, missing, message", [
    ("event_based_case_28", "ssm00.xml", "ssmLt.xml: line 9: <uncertaintyModel> names 'ssm00.xml', which is not in the archive"),
    ("scenario_damage_case_13", "OQ_exposure_model.csv", "Exposure.xml: line 17: <assets> names 'OQ_exposure_model.csv', which is not in the archive"),
])
def test_a_file_named_inside_a_logic_tree_or_an_exposure_must_be_there_too(job, missing, message):
    files = job_files(job)
    del files[missing]

    assert str(refusal(make_zip(files))) == message


@pytest.mark.parametrize("value, problem", [
    ("../outside.xml", "'../outside.xml' is outside the archive"),
    ("/etc/passwd", "'/etc/passwd' is an absolute path (the engine refuses them too): name files relative to the job.ini"),
    ("C:\\models\\ssm.xml", "'C:\\\\models\\\\ssm.xml' is an absolute path (the engine refuses them too): name files relative to the job.ini"),
    ("ssmLt.zip", "'ssmLt.zip' is a zip inside the archive: unzip it into the archive and name its .xml"),
])
def test_a_job_ini_naming_a_path_out_of_the_archive_is_refused(value, problem):
    files = job_files("event_based_case_28")
    files["job.ini"] = files["job.ini"].replace(b"= ssmLt.xml", f"= {value}".encode())

    assert str(refusal(make_zip(files))) == f"job.ini: line 32: source_model_logic_tree_file: {problem}"


@pytest.mark.parametrize("member, problem", [
    ("../evil.xml", "a path with '..': every member must stay inside the archive"),
    ("in/../../evil.xml", "a path with '..': every member must stay inside the archive"),
    ("/abs/evil.xml", "an absolute path: every member must be inside the archive"),
    ("C:/evil.xml", "an absolute path: every member must be inside the archive"),
])
def test_a_member_escaping_the_archive_is_refused(member, problem):
    files = job_files("event_based_case_28")
    files[member] = b"x"

    assert str(refusal(make_zip(files))) == f"model.zip/{member}: {problem}"


def test_a_symbolic_link_in_the_zip_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in job_files("event_based_case_28").items():
            archive.writestr(path, data)
        link = zipfile.ZipInfo("ssm01.xml")
        link.create_system = 3
        link.external_attr = (0o120777 << 16)  # S_IFLNK | rwxrwxrwx, as zip -y stores one
        archive.writestr(link, "/etc/passwd")

    assert str(refusal(buffer.getvalue())) == "model.zip/ssm01.xml: a symbolic link: an archive holds files only"


@pytest.mark.parametrize("create_system", [0, 3])
def test_a_symbolic_link_is_refused_whatever_system_the_entry_names(create_system):
    files = make_zip(job_files("event_based_case_28"))
    buffer = io.BytesIO(files)
    with zipfile.ZipFile(buffer, "a") as archive:
        link = zipfile.ZipInfo("in/link.csv")
        link.external_attr = (0o120777 << 16)
        archive.writestr(link, "../../etc/passwd")
        archive.infolist()[-1].create_system = create_system

    assert str(refusal(buffer.getvalue())) == "model.zip/in/link.csv: a symbolic link: an archive holds files only"


@pytest.mark.parametrize("path, problem", [
    ("../job.ini", "a path with '..': every member must stay inside the archive"),
    ("/tmp/job.ini", "an absolute path: every member must be inside the archive"),
])
def test_files_sent_one_by_one_are_held_to_the_same_names(path, problem):
    with pytest.raises(ParseError) as caught:
        input_archive.read_files({path: b"[a]\ncalculation_mode = classical\n"})

    assert str(caught.value) == f"upload/{path}: {problem}"


def test_a_name_given_twice_is_refused_even_in_another_case():
    files = job_files("event_based_case_28")
    files["SSM00.xml"] = files["ssm00.xml"]

    assert str(refusal(make_zip(files))) == ("model.zip/SSM00.xml: a name given twice ('ssm00.xml' and 'SSM00.xml' "
                                             "differ only in case)")


def test_a_zip_bomb_is_refused_by_its_ratio_and_by_its_size():
    files = job_files("event_based_case_28")
    files["padding.csv"] = b"0" * 3_000_000  # deflates about 1000 times

    assert "model.zip/padding.csv: expands" in str(refusal(make_zip(files)))
    assert "a zip bomb" in str(refusal(make_zip(files)))
    stored = make_zip(files, compression=zipfile.ZIP_STORED)
    assert str(refusal(stored, limits=input_archive.Limits(max_total=1_000_000))) == (
        f"model.zip: the zip expands to {sum(map(len, files.values()))} bytes, over the limit of 1000000")
    assert str(refusal(make_zip(files), limits=input_archive.Limits(max_members=3))) == "model.zip: more than 3 entries in the zip"


def test_malformed_xml_is_refused_naming_the_file_and_the_line():
    files = job_files("event_based_case_28")
    files["ssmLt.xml"] = files["ssmLt.xml"].replace(b"</logicTreeBranch>", b"</logicTreeBranc>")

    assert str(refusal(make_zip(files))) == "ssmLt.xml: line 11: malformed XML: mismatched tag (column 19)"


def test_an_xml_with_a_dtd_is_refused_before_any_entity_is_expanded():
    files = job_files("event_based_case_28")
    bomb = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>\n'
            b'<nrml xmlns="http://openquake.org/xmlns/nrml/0.4"><logicTree>&lol2;</logicTree></nrml>')
    files["ssmLt.xml"] = bomb

    assert str(refusal(make_zip(files))) == "ssmLt.xml: line 2: a DOCTYPE (DTD) is not allowed in NRML: entities are refused"


def test_an_archive_without_a_job_ini_or_not_a_zip_is_refused():
    assert str(refusal(make_zip({"ssm.xml": b"<nrml/>"}))) == "model.zip: no job.ini: the archive has no .ini file"
    assert str(refusal(b"PK\x03\x04 garbage")).startswith("model.zip: corrupt zip")


def test_the_engines_input_output_gets_its_roles_and_its_files_their_kinds():
    data = make_zip(job_files("scenario_damage_case_13"))

    tables = kinds.read_export("output-3-input-zip.zip", data, output_type="input", max_uncompressed=LIMIT)

    assert {table.file_name: table.artifact_type for table in tables} == {
        "Exposure.xml": "exposure_model", "OQ_exposure_model.csv": "file", "Site_model_one_location.csv": "site_model",
        "consequence_recovery_time.csv": "file", "earthquake_rupture.xml": "rupture_model", "fragility_structural.xml": "file",
        "gmpe_logic_tree.xml": "logic_tree", "job.ini": "file", "taxonomy_mapping.csv": "file"}


def test_an_engine_input_output_that_is_not_a_job_is_still_kept_file_by_file():
    data = make_zip({"a/job.ini": b"[a]", "b/x.xml": b"<broken"})

    tables = kinds.read_export("output-1-input-zip.zip", data, output_type="input", max_uncompressed=LIMIT)

    assert [(table.file_name, table.artifact_type) for table in tables] == [("a/job.ini", "file"), ("b/x.xml", "file")]
