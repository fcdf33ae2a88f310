"""geo.params for /site: numbers as people write coordinates, bounded, ASCII only."""

import pytest

from core.exceptions import InvalidParameter
from geo.params import parse_bool, parse_number, parse_point


@pytest.mark.parametrize("text, value", [("-123.5", -123.5), ("180", 180.0), ("+1e1", 10.0), (".5", 0.5), ("5.", 5.0), ("-0", 0.0)])
def test_a_decimal_number_is_read_as_written(text, value):
    assert parse_number(text, name="lon", minimum=-180, maximum=180) == value


@pytest.mark.parametrize("text", ["nan", "inf", "-Infinity", "1_0", "\u0663", "0x1f", " 1", "1 ", "1,5", "1" * 41, "1e999"])
def test_what_float_would_take_but_a_coordinate_is_not_is_refused(text):
    with pytest.raises(InvalidParameter, match="^lon must be"):
        parse_number(text, name="lon", minimum=-180, maximum=180)


def test_the_bounds_are_inclusive_unless_the_minimum_is_exclusive():
    assert parse_number("-90", name="lat", minimum=-90, maximum=90) == -90
    with pytest.raises(InvalidParameter, match="more than 0"):
        parse_number("0", name="d", minimum=0, maximum=10, exclusive_minimum=True)


def test_a_point_needs_both_lon_and_lat():
    assert parse_point({"lon": "1", "lat": "2"}) == (1.0, 2.0)
    with pytest.raises(InvalidParameter, match="lat is required"):
        parse_point({"lon": "1"})


@pytest.mark.parametrize("text", ["True", "1", "yes", ""])
def test_a_boolean_is_true_or_false_only(text):
    assert parse_bool(None, name="interpolate") is False and parse_bool("true", name="interpolate") is True
    with pytest.raises(InvalidParameter, match="interpolate must be true or false"):
        parse_bool(text, name="interpolate")
