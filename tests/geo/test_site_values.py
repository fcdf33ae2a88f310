"""geo.site_values: an artifact's values at a site shaped by its metadata columns (pure, on real files)."""

from types import SimpleNamespace

import pytest

from geo.site_values import hazard_curve, hazard_map, imt_period, site_model, uhs
from kinds import read_export
from tests.conftest import fixture_bytes


def artifact_of(file_name: str):
    (table,) = read_export(file_name, fixture_bytes(file_name), max_uncompressed=10_000_000)
    metadata = {**table.metadata, "columns": [c.as_dict() for c in table.columns]}
    _point, values = next(table.rows())
    properties = {c.name: v for c, v in zip(table.columns, values)}
    return SimpleNamespace(pk=7, file_name=file_name, metadata=metadata), properties


@pytest.mark.parametrize("imt, period", [("PGA", 0.0), ("SA(0.2)", 0.2), ("SA(1.0)", 1.0), ("SA(1e-05)", 1e-05), ("PGV", None), ("SA(x)", None)])
def test_a_spectral_period_is_zero_for_pga_and_t_for_sa(imt, period):
    assert imt_period(imt) == period


def test_a_hazard_curve_pairs_each_iml_with_its_poe():
    artifact, properties = artifact_of("hazard_curve-mean-PGA_2.csv")
    curve = hazard_curve(artifact, properties)
    assert (curve["artifact"], curve["kind"], curve["imt"], curve["investigation_time"]) == (7, "mean", "PGA", 1.0)
    assert curve["imls"][:2] == [0.0010197, 0.0101972] and curve["poes"][:2] == [1.265105e-02, 2.832968e-04]
    assert len(curve["imls"]) == len(curve["poes"]) == 12


def test_a_uhs_gives_periods_with_pga_at_zero():
    artifact, properties = artifact_of("hazard_uhs-mean_2.csv")
    [spectrum] = uhs(artifact, properties)
    assert spectrum["poe"] == 0.002105 and spectrum["imts"] == ["PGA", "SA(0.2)", "SA(1.0)"]
    assert spectrum["periods"] == [0.0, 0.2, 1.0] and spectrum["values"] == [3.023842e-03, 1.227869e-02, 1.304541e-02]


def test_a_hazard_map_gives_each_iml_with_its_imt_and_poe_or_return_period():
    artifact, properties = artifact_of("hazard_map-mean_2.csv")
    assert hazard_map(artifact, properties)["values"][0] == {"imt": "PGA", "poe": 0.002105, "iml": 3.023842e-03}
    artifact, properties = artifact_of("hazard_map-mean-475y_2.csv")
    stats = hazard_map(artifact, properties)
    assert stats["return_period"] == 475 and stats["values"][1] == {"imt": "SA(0.2)", "poe": None, "iml": 1.227869e-02}


def test_the_site_model_is_the_jobs_reference_site_conditions_or_none():
    assert site_model(None) is None and site_model({"poes": [0.002]}) is None
    assert site_model({"reference_vs30_value": 760.0, "reference_vs30_type": "inferred"}) == {
        "source": "job parameters (reference site conditions)", "vs30": 760.0, "vs30_type": "inferred",
    }
