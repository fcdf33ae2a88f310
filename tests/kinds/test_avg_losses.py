"""kinds.avg_losses on real avg_losses-rlzs / -stats exports (event-based and classical risk)."""

from __future__ import annotations

import pytest

from kinds import avg_losses
from kinds.base import Export

from tests.kinds.engine_exports import assert_points, export_of, member, metadata_pairs, parse_error, replaced

EBRISK_TYPES = {"asset_id": str, "policy": str, "taxonomy": str, "nonstructural": float, "structural": float}
CASES = [
    ("ebrisk01_calc3_output-20-avg_losses-rlzs-csv.zip", "avg_losses-rlzs", "avg_losses-rlz-000_3.csv", "rlz-000", EBRISK_TYPES),
    ("ebrisk01_calc3_output-20-avg_losses-rlzs-csv.zip", "avg_losses-rlzs", "avg_losses-rlz-001_3.csv", "rlz-001", EBRISK_TYPES),
    ("ebrisk01_calc3_output-21-avg_losses-stats-csv.zip", "avg_losses-stats", "avg_losses-mean_3.csv", "mean", EBRISK_TYPES),
    ("ebrisk01_calc3_output-21-avg_losses-stats-csv.zip", "avg_losses-stats", "avg_losses-quantile-0.25_3.csv",
     "quantile-0.25", EBRISK_TYPES),
    ("crisk3_calc4_output-30-avg_losses-mean_4.csv", "avg_losses-stats", "output-30-avg_losses-mean_4.csv", "mean",
     {"asset_id": str, "taxonomy": str, "structural": float}),
]


@pytest.mark.parametrize("fixture,output_type,name,kind,dtypes", CASES)
def test_every_asset_with_its_tags_and_losses(fixture, output_type, name, kind, dtypes):
    file, export = member(fixture, name, output_type)
    assert avg_losses.claims(file, export) and avg_losses.claims(file, Export([file]))
    table = avg_losses.read(file, export)
    assert_points(table, file.data, lon="lon", lat="lat", dtypes=dtypes)
    assert [column.quantity for column in table.columns] == (
        ["asset_id"] + ["tag"] * (len(dtypes) - 1 - sum(t is float for t in dtypes.values())) + ["loss"] * sum(t is float for t in dtypes.values()))
    pairs = metadata_pairs(file.data)
    assert table.metadata["kind"] == kind
    assert table.metadata["risk_investigation_time"] == float(pairs["risk_investigation_time"])


def test_the_layout_asset_tags_lon_lat_values():
    file, export = member(CASES[0][0], CASES[0][2])
    moved = replaced(file, b"asset_id,policy,taxonomy,lon,lat", b"policy,asset_id,taxonomy,lon,lat")
    error = parse_error(avg_losses, moved, export)
    assert (error.line, error.message) == (2, "a per-asset file reads asset_id, its tags, lon, lat, then its values; "
                                              "this one has policy, asset_id, taxonomy, lon, lat, nonstructural, structural")
    only_points = replaced(file, b",nonstructural,structural", b"")
    assert parse_error(avg_losses, only_points, export).message == "no value columns after lon, lat"


def test_a_loss_that_is_not_a_number():
    file, export = member(CASES[0][0], CASES[0][2])
    error = parse_error(avg_losses, replaced(file, b"2.31354E+02", b"NaN"), export)
    assert (error.file_name, error.line, error.message) == (
        "output-20-avg_losses-rlzs-csv.zip/avg_losses-rlz-000_3.csv", 3, "column 'structural': 'NaN' is not a finite number")


def test_a_file_name_that_contradicts_its_kind():
    (file,) = export_of(CASES[4][0]).files
    renamed = type(file)("avg_losses-rlz-000_4.csv", replaced(file, b"investigation_time=50.0, risk",
                                                              b"investigation_time=50.0, kind='mean', risk").data)
    error = parse_error(avg_losses, renamed, Export([renamed]))
    assert (error.line, error.message) == (1, "the metadata row says kind='mean' but the file name says 'rlz-000'")
