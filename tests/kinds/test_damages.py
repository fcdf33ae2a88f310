"""kinds.damages on a real scenario_damage calc's damages-rlzs zip and damages-stats file."""

from __future__ import annotations

import pytest

from kinds import damages
from kinds.base import Export

from tests.kinds.engine_exports import assert_points, member

DAMAGE_STATES = ["no_damage", "slight", "moderate", "extensive", "complete"]
TYPES = {"asset_id": str, "NAME_1": str, "taxonomy": str,
         **{f"structural-{state}": float for state in DAMAGE_STATES}, "structural-losses": float}


@pytest.mark.parametrize("fixture,output_type,name,kind", [
    ("damage13_calc2_output-7-damages-rlzs-csv.zip", "damages-rlzs", "avg_damages-rlz-000_2.csv", "rlz-000"),
    ("damage13_calc2_output-7-damages-rlzs-csv.zip", "damages-rlzs", "avg_damages-rlz-002_2.csv", "rlz-002"),
    ("damage13_calc2_output-8-avg_damages-mean_2.csv", "damages-stats", "output-8-avg_damages-mean_2.csv", "mean"),
])
def test_every_asset_with_its_damage_states_and_consequences(fixture, output_type, name, kind):
    file, export = member(fixture, name, output_type)
    assert damages.claims(file, export) and not damages.claims(file, Export([file], "avg_losses-rlzs"))
    table = damages.read(file, export)
    assert_points(table, file.data, lon="lon", lat="lat", dtypes=TYPES)
    quantities = {column.name: column.quantity for column in table.columns}
    assert [quantities[f"structural-{state}"] for state in DAMAGE_STATES] == ["damage"] * 5
    assert quantities["structural-losses"] == "consequence"
    assert table.metadata["kind"] == kind and table.metadata["calc_id"] == 2


def test_the_modal_damage_state_is_text():
    """scenario_damage/case_1 sets modal_damage_state: a damage state's name per loss type, not numbers
    (it was refused as "column 'modal-ds-structural': 'LS1' is not a number")."""
    file, export = member("damage1_calc7_output-47-avg_damages-rlz-000_7.csv", "output-47-avg_damages-rlz-000_7.csv",
                          "damages-rlzs")
    table = damages.read(file, export)
    raw = assert_points(table, file.data, lon="lon", lat="lat",
                        dtypes={"asset_id": str, "CRESTA": str, "region": str, "taxonomy": str, "modal-ds-structural": str})
    assert [row["modal-ds-structural"] for row in raw] == ["LS1", "LS2", "no_damage"]
    assert table.columns[-1].quantity == "damage_state"
    assert "Alhué" in [row["region"] for row in raw]  # tags are UTF-8 text
