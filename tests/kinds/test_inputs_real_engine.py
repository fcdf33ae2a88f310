"""The input kinds and the input archive against the REAL engine's own reading of the same files.

OpenQuake Engine 3.26.2 runs in its own virtualenv (tests/engine_harness.py): `oq nrml_to csv`
converts every source model of fixtures/inputs into its CSVs (one per geometry type, with the
engine's WKT, rounded to 5 decimals, and its attributes), and tests/kinds/engine_reading.py
prints what its readinput reads of each job.ini (parameters, input files, the vertices of every
simple fault surface, the exposure's assets). Icebox's pure readers must say the same.
"""

from __future__ import annotations

import ast
import csv
import json
import math
import re
import subprocess
from pathlib import Path

import pytest

import kinds
from kinds import input_archive, job_ini
from kinds.base import ParseError
from tests import engine_harness
from tests.kinds.test_input_archive import INPUTS, job_files, make_zip
from tests.kinds.test_input_kinds import rows_of, tables_of

pytestmark = pytest.mark.engine

JOBS = sorted(path.name for path in INPUTS.iterdir() if (path / "job.ini").is_file())
SOURCE_MODELS = [(job, file.path) for job in JOBS for file in input_archive.read_files(job_files(job)).files
                 if file.role == "source_model"]
TIMEOUT = 600


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    datadir = engine_harness.prepare_datadir(tmp_path_factory.mktemp("oq-inputs"))
    return engine_harness.engine_venv(), engine_harness.engine_env(datadir), datadir


def _run(command: list[str], env: dict, cwd: Path) -> str:
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-3000:]
    return result.stdout.decode()


@pytest.fixture(scope="module")
def nrml_to_csv(engine, tmp_path_factory):
    """{source model path: [engine row dicts]} from one `oq nrml_to csv` of every source model."""
    venv, env, datadir = engine
    # nrml_to names its CSVs by the file's stem: files of one stem go to separate runs.
    batches: list[dict] = []
    for job, name in SOURCE_MODELS:
        path = INPUTS / job / name
        batch = next((b for b in batches if path.stem not in {p.stem for p in b.values()}), None)
        if batch is None:
            batches.append(batch := {})
        batch[(job, name)] = path
    out = {}
    for batch in batches:
        outdir = tmp_path_factory.mktemp("nrml_to")
        _run([str(venv / "bin" / "oq"), "nrml_to", "csv", *map(str, batch.values()), "--outdir", str(outdir)], env, datadir)
        for key, path in batch.items():
            rows = []
            for found in sorted(outdir.glob(f"{path.stem}_[A-Z][0-9].csv")):
                with open(found, newline="") as handle:
                    rows.extend(csv.DictReader(handle))
            out[key] = rows
    return out


@pytest.fixture(scope="module")
def engine_reading(engine):
    venv, env, datadir = engine
    script = Path(__file__).with_name("engine_reading.py")
    output = _run([str(venv / "bin" / "python"), str(script), *(str(INPUTS / job / "job.ini") for job in JOBS)], env, datadir)
    return {Path(path).parent.name: entry for path, entry in json.loads(output).items()}


def wkt_points(wkt: str) -> list[list[float]]:
    """The points of a WKT, each [lon, lat(, depth)], in order, however nested."""
    body = wkt[wkt.index("("):]
    return [[float(x) for x in point.split()] for point in re.findall(r"[-0-9.eE+]+(?: [-0-9.eE+]+)+", body)]


def our_points(geometry, depths: str | None) -> list[list[float]]:
    if isinstance(geometry, tuple) and not hasattr(geometry, "type"):
        return [list(geometry)]
    flat: list = []

    def walk(value):
        if value and isinstance(value[0], (int, float)):
            flat.append(list(value))
        else:
            for item in value:
                walk(item)

    walk(geometry.coordinates)
    if depths is not None:  # the engine's 3D geometries: our depths are beside the 2D shape
        flat_depths: list = []

        def walk_depths(value):
            if isinstance(value, list):
                for item in value:
                    walk_depths(item)
            else:
                flat_depths.append(value)

        walk_depths(json.loads(depths))
        assert len(flat_depths) == len(flat)
        flat = [point + [depth] for point, depth in zip(flat, flat_depths)]
    return flat


def as_list(value):
    return value if isinstance(value, list) else [value]


def _engine_number(text: str) -> float | None:
    return None if text in ("", "NAN", "nan") else float(text)


@pytest.mark.parametrize("job, name", SOURCE_MODELS, ids=[f"{job}/{name}" for job, name in SOURCE_MODELS])
def test_a_source_model_reads_as_the_engines_nrml_to_csv(job, name, nrml_to_csv):
    engine_rows = {row["id"]: row for row in nrml_to_csv[(job, name)]}
    ours = rows_of(tables_of(job)[name])
    drawn = {row["id"]: (geometry, row) for geometry, row in ours if row["part"] != "surface_projection"}

    assert set(drawn) == set(engine_rows) and len(drawn) == len(nrml_to_csv[(job, name)])
    for source_id, (geometry, row) in drawn.items():
        theirs = engine_rows[source_id]
        assert (row["name"], row["code"], row["sourceGroup"], row["tectonicRegion"]) == (
            theirs["name"], theirs["code"], theirs["groupname"], theirs["tectonicregion"])
        # Coordinates: the engine writes them rounded to 5 decimals (lat of 2D shapes to 6).
        three_d = " Z" in theirs["wkt"]
        points = our_points(geometry, row["edges_depths"] if three_d else None)
        expected = wkt_points(theirs["wkt"])
        if theirs["wkt"].startswith("POLYGON") and points[0] == points[-1] and expected[0] != expected[-1]:
            points = points[:-1]
        assert len(points) == len(expected), source_id
        for mine, engine in zip(points, expected):
            assert all(math.isclose(a, b, abs_tol=6e-6) for a, b in zip(mine, engine)), (source_id, mine, engine)
        # Attributes
        if row["code"] in "PMAS":
            assert row["magScaleRel"] == theirs["magscalerel"]
            assert (row["upperSeismoDepth"], row["lowerSeismoDepth"]) == (
                _engine_number(theirs["upperseismodepth"]), _engine_number(theirs["lowerseismodepth"]))
        if row["ruptAspectRatio"] is not None:
            assert row["ruptAspectRatio"] == float(theirs["ruptaspectratio"])
        assert row["rake"] == _engine_number(theirs["rake"])
        if row["code"] in "PMA":
            assert json.loads(row["nodalPlaneDist"]) == [dict(plane) for plane in ast.literal_eval(theirs["nodalplanedist"])]
            assert json.loads(row["hypoDepthDist"]) == ast.literal_eval(theirs["hypodepthdist"])
        ((mfd, params),) = ast.literal_eval(theirs["mfd"]).items()
        assert row["mfd"] == mfd
        mine = json.loads(row["mfd_params"])
        for key, value in params.items():
            key = key.lstrip("_")
            if isinstance(value, str):
                assert mine[key] == value
            else:
                assert [float(x) for x in as_list(mine[key])] == pytest.approx([float(x) for x in as_list(value)], rel=1e-12)


def test_an_archive_icebox_accepts_is_read_the_same_by_the_engine(engine, tmp_path):
    # The zips as Icebox checked them: the engine unpacks each, takes the same job.ini (case_18
    # has two: job.ini before job_icebox.ini) and reads the same parameters and files.
    venv, env, datadir = engine
    archives = {}
    for job in ("classical_case_18", "scenario_damage_case_13", "scenario_risk_case_3"):
        archive = input_archive.read_files(job_files(job))
        path = tmp_path / f"{job}.zip"
        path.write_bytes(make_zip(dict(archive.data)))
        archives[str(path)] = archive
    script = Path(__file__).with_name("engine_reading.py")
    # TMPDIR: the engine unpacks each zip into a temporary folder it leaves behind; let it be this test's.
    output = json.loads(_run([str(venv / "bin" / "python"), str(script), *archives], {**env, "TMPDIR": str(tmp_path)}, datadir))

    for path, archive in archives.items():
        theirs = output[path]
        assert Path(theirs["inputs"]["job_ini"]).name == archive.job_ini
        assert theirs["params"]["calculation_mode"] == archive.calculation_mode
        assert theirs["inputs"]["input_zip"] == path  # the engine counts the zip itself among its files
        # get_oqparam unpacks the zip again, elsewhere: its files are relative to its own job.ini
        files = [Path(f) for f in theirs["files"] if f != path]
        (unpacked,) = {f.parent for f in files if f.name == archive.job_ini}
        assert {f.relative_to(unpacked).as_posix() for f in files} == {
            file.path for file in archive.files if file.role != "unreferenced"}


@pytest.mark.parametrize("job", JOBS)
def test_a_job_ini_reads_as_the_engines_get_params(job, engine_reading):
    theirs = engine_reading[job]
    archive = input_archive.read_files(job_files(job))
    parsed = job_ini.parse(job_files(job)["job.ini"])
    file_keys = {ref.key for ref in job_ini.references(parsed, "job.ini")}
    dict_names = {key.rsplit("_", 1)[0] for key in file_keys if parsed.params[key].strip().startswith("{")}

    assert {k: v for k, v in parsed.params.items() if k not in file_keys} == {
        k: v for k, v in theirs["params"].items() if k != "mosaic_model" and k not in dict_names}
    # Every file the engine takes for the job, and no other, is one the archive found a role for.
    root = INPUTS / job
    engine_files = {Path(path).relative_to(root).as_posix() for path in theirs["files"]}
    assert engine_files == {file.path for file in archive.files if file.role != "unreferenced"}


# The jobs with simple faults: sources (case_36, dip 30; case_81), three scenario ruptures (dip 90, 45, 30).
@pytest.mark.parametrize("job", ["classical_case_36", "classical_case_81", "scenario_case_1", "scenario_damage_case_13",
                                 "scenario_risk_case_3"])
def test_a_simple_faults_surface_projection_has_hazardlibs_vertices(job, engine_reading):
    faults = [fault for name, found in engine_reading[job]["faults"].items() for fault in found]
    tables = tables_of(job)
    ours = [geometry for table in tables.values() if table.artifact_type in ("source_model", "rupture_model")
            for geometry, row in rows_of(table) if row["part"] == "surface_projection"]

    assert len(ours) == len(faults) == 1
    for shape, fault in zip(ours, faults):
        (ring,) = shape.coordinates
        n = len(ring) // 2
        top, bottom = ring[:n], ring[n:2 * n][::-1]
        expected = fault["vertices"]
        assert len(expected) == 2 * n
        for i in range(n):
            assert top[i] == pytest.approx(tuple(expected[2 * i]), abs=1e-9)
            assert bottom[i] == pytest.approx(tuple(expected[2 * i + 1]), abs=1e-9)


@pytest.mark.parametrize("job, xml, cost", [
    ("scenario_damage_case_13", "Exposure.xml", "total_repl_value"),  # CSV assets, exposureFields: total_repl_value is structural
    ("scenario_risk_case_3", "exposure_model.xml", "structural"),  # inline assets, one without its cost
])
def test_an_exposures_assets_are_the_engines(job, xml, cost, engine_reading):
    theirs = {asset["id"]: asset for asset in engine_reading[job]["assets"]}
    table = tables_of(job)[xml]
    names = [column.name for column in table.columns]
    ours = {values[0]: (dict(zip(names, values)), point) for point, values in table.rows()}
    (cost_type,) = table.metadata["cost_types"]

    assert set(ours) == set(theirs)  # the engine orders them by place
    for asset_id, (row, (lon, lat)) in ours.items():
        asset = theirs[asset_id]
        # the engine keeps coordinates as float32, rounded to 5 decimals
        assert (lon, lat) == pytest.approx((asset["lon"], asset["lat"]), abs=1e-5)
        # a per_asset cost is per building: the engine's value is it times the number; a missing one is 0
        value = row[cost] or 0.0
        expected = value * row["number"] if cost_type["type"] == "per_asset" else value
        assert asset["value-structural"] == pytest.approx(expected, rel=1e-6)


# The engine's own test jobs Icebox cannot take as an archive, and why: each names a file out of
# its folder (a zip of that folder cannot hold it), a zip inside the archive, or is not a job.
REFUSED_QA_JOBS = {
    "classical/case_01/job_wrong.ini": "<nrml> has no <logicTree>",  # the engine's own wrong job
    "event_based/case_29/scenario.ini": "which is not in the archive",  # its rupture is in expected/, left out here
    "mosaic/aelo_changelog.ini": "is given in both",  # not a job: a changelog
}
OUT_OF_FOLDER = ("is outside the archive", "is a zip inside the archive")


def test_every_job_of_the_engines_qa_tests_reads_whole_or_is_refused_for_a_reason():
    """All the engine package's test jobs (about 490 .ini files): each is an archive Icebox takes,
    whose every file a kind claims parses to the end, or one refused for a known reason."""
    root = engine_harness.qa_tests_data(".")
    accepted, refused = 0, {}
    for ini in sorted(root.rglob("*.ini")):
        folder = ini.parent
        files = {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*")
                 if path.is_file() and "__pycache__" not in path.parts and "expected" not in path.parts
                 and path.name != "__init__.py"}
        try:
            archive = input_archive.read_files(files, job_ini_name=ini.name)
        except ParseError as exc:
            refused[ini.relative_to(root).as_posix()] = str(exc)
            continue
        accepted += 1
        export = archive.export()
        for file in export.files:
            kind = kinds.kind_for(file, export)
            if kind is not kinds.RAW:
                for _row in kinds.read_file(file, export, max_uncompressed=1 << 30).rows():
                    pass

    assert accepted > 400
    unexplained = {job: message for job, message in refused.items()
                   if not any(reason in message for reason in OUT_OF_FOLDER)
                   and REFUSED_QA_JOBS.get(job, "\0") not in message}
    assert unexplained == {}
