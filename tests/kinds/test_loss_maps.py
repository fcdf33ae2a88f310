"""kinds.loss_maps on a real classical_risk calc's loss_maps-stats (fixtures/engine/jobs/classical_risk_case_3)."""

from __future__ import annotations

import pytest

from kinds import loss_maps
from kinds.base import Export

from tests.kinds.engine_exports import assert_points, export_of, parse_error, replaced

FIXTURE = "crisk3_calc4_output-36-loss_maps-mean_4.csv"


def test_every_asset_with_its_loss_per_poe():
    export = export_of(FIXTURE, "loss_maps-stats")
    (file,) = export.files
    assert loss_maps.claims(file, export) and not loss_maps.claims(file, Export([file], "avg_losses-stats"))
    table = loss_maps.read(file, export)
    poes = ["0.1", "0.05", "0.01"]
    assert_points(table, file.data, lon="lon", lat="lat",
                  dtypes={"asset_id": str, "taxonomy": str, **{f"structural~poe-{poe}": float for poe in poes}})
    assert [(column.quantity, column.poe) for column in table.columns[2:]] == [("loss", float(poe)) for poe in poes]
    assert table.metadata["kind"] == "mean" and table.metadata["risk_investigation_time"] == 50.0


@pytest.mark.parametrize("column", [b"structural~poe-2", b"structural~poe-x", b"structural-0.1"])
def test_a_column_that_is_not_a_loss_at_a_poe(column):
    (file,) = export_of(FIXTURE).files
    broken = replaced(file, b"structural~poe-0.1", column)
    error = parse_error(loss_maps, broken, Export([broken]))
    assert (error.line, error.message) == (2, f"unknown column {column.decode()!r} for loss_maps")
