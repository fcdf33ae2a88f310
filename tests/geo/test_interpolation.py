"""geo.interpolation: inverse-distance weights and log-space interpolation, pure maths."""

import math

import pytest

from geo.interpolation import idw_weights, interpolate_linear, interpolate_log, interpolate_properties


def test_weights_are_inverse_squared_distances_summing_to_one():
    assert idw_weights([1.0, 2.0]) == pytest.approx([0.8, 0.2])
    assert math.fsum(idw_weights([0.3, 1.7, 2.9, 4.4])) == pytest.approx(1.0)


def test_a_point_on_a_site_takes_that_sites_values_exactly():
    assert idw_weights([2.0, 0.0, 1.0]) == [0.0, 1.0, 0.0]
    assert interpolate_log([1e-3, 5e-5, 1e-9], [0.0, 1.0, 0.0]) == 5e-5


@pytest.mark.parametrize("distances", [[], [-1.0], [float("nan")], [float("inf"), 1.0]])
def test_weights_refuse_what_is_not_a_distance(distances):
    with pytest.raises(ValueError):
        idw_weights(distances)


def test_poes_are_interpolated_as_a_weighted_geometric_mean():
    # Halfway between 1e-2 and 1e-4 in log space is 1e-3, not the arithmetic 5.05e-3.
    assert interpolate_log([1e-2, 1e-4], [0.5, 0.5]) == pytest.approx(1e-3)
    assert interpolate_linear([1e-2, 1e-4], [0.5, 0.5]) == pytest.approx(5.05e-3)


def test_a_zero_poe_falls_back_to_linear_interpolation():
    assert interpolate_log([0.0, 1e-4], [0.25, 0.75]) == pytest.approx(0.75e-4)
    # A zero with no weight does not count.
    assert interpolate_log([0.0, 1e-4], [0.0, 1.0]) == pytest.approx(1e-4)


def test_properties_interpolate_poes_in_log_space_levels_linearly_and_leave_out_the_site_id():
    columns = [
        {"name": "custom_site_id", "quantity": "site_id", "is_text": True},
        {"name": "depth", "quantity": "depth"},
        {"name": "poe-0.1", "quantity": "poe", "imt": "PGA", "iml": 0.1},
    ]
    sites = [{"custom_site_id": "a", "depth": 0.0, "poe-0.1": 1e-2}, {"custom_site_id": "b", "depth": 2.0, "poe-0.1": 1e-4}]
    assert interpolate_properties(columns, sites, [0.5, 0.5]) == {"depth": 1.0, "poe-0.1": pytest.approx(1e-3)}
