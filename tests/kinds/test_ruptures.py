"""kinds.ruptures on a real event-based risk calc's ruptures."""

from __future__ import annotations

from kinds import ruptures
from kinds.base import Export

from tests.kinds.engine_exports import assert_points, export_of, metadata_pairs, parse_error, replaced

EBRISK01 = "ebrisk01_calc3_output-28-ruptures_3.csv"
TYPES = {"rup_id": int, "source_id": str, "multiplicity": int, "mag": float, "centroid_depth": float, "trt": str,
         "strike": float, "dip": float, "rake": float}


def test_every_rupture_at_its_centroid():
    export = export_of(EBRISK01, "ruptures")
    (file,) = export.files
    assert ruptures.claims(file, export) and not ruptures.claims(file, Export([file], "events"))
    table = ruptures.read(file, export)
    raw = assert_points(table, file.data, lon="centroid_lon", lat="centroid_lat", dtypes=TYPES)
    assert len(raw) == 12
    quantities = {column.name: column.quantity for column in table.columns}
    assert (quantities["mag"], quantities["trt"], quantities["centroid_depth"]) == ("magnitude", "tectonic_region_type", "depth")
    pairs = metadata_pairs(file.data)
    assert table.metadata["investigation_time"] == float(pairs["investigation_time"]) == 50.0
    assert table.metadata["ses_per_logic_tree_path"] == int(pairs["ses_per_logic_tree_path"]) == 20


def test_a_rupture_without_magnitude_column():
    (file,) = export_of(EBRISK01).files
    broken = replaced(file, b",mag,", b",magnitude,")
    error = parse_error(ruptures, broken, Export([broken]))
    assert (error.file_name, error.line) == ("output-28-ruptures_3.csv", 2)
    assert error.message.startswith("no 'mag' column (the columns are rup_id, source_id, multiplicity, magnitude,")


def test_a_bad_rup_id():
    (file,) = export_of(EBRISK01).files
    broken = replaced(file, b"\n1,1,2,", b"\n1e0,1,2,")
    error = parse_error(ruptures, broken, Export([broken]))
    assert (error.line, error.message) == (4, "column 'rup_id': '1e0' is not an integer")
