"""The one parser of integers typed by users: ASCII digits within bounds, nothing else."""

import pytest

from core.exceptions import InvalidParameter
from core.integers import BIGINT_MAX, INTEGER_MAX, parse_int


@pytest.mark.parametrize("text, value", [("0", 0), ("7", 7), ("007", 7), (str(INTEGER_MAX), INTEGER_MAX)])
def test_ascii_digits_within_bounds_are_that_integer(text, value):
    assert parse_int(text, name="n", maximum=INTEGER_MAX) == value


def test_a_json_integer_is_taken_as_it_is():
    assert parse_int(42, name="n", minimum=1, maximum=100) == 42


@pytest.mark.parametrize(
    "value",
    ["²", "٣", "３", "1²", "", " 1", "1 ", "+1", "-1", "1.0", "1e3", "0x10", "1_000", "\x00", 1.0, 1e30, True, None, [1], {"n": 1}],
)
def test_anything_but_ascii_digits_or_a_json_integer_is_refused(value):
    with pytest.raises(InvalidParameter) as err:
        parse_int(value, name="n", maximum=BIGINT_MAX)
    assert err.value.message.startswith("n must be")


@pytest.mark.parametrize("value", [str(INTEGER_MAX + 1), "9" * 20, pytest.param("9" * 5000, id="5000-digits"), "0" * 30 + "9" * 11, INTEGER_MAX + 1, 10**30])
def test_values_over_the_maximum_are_refused_whatever_their_length(value):
    with pytest.raises(InvalidParameter) as err:
        parse_int(value, name="limit", maximum=INTEGER_MAX)
    assert f"limit must be <= {INTEGER_MAX}" in err.value.message
    assert len(err.value.message) < 120


def test_values_under_the_minimum_are_refused():
    with pytest.raises(InvalidParameter) as err:
        parse_int("0", name="limit", minimum=1, maximum=10)
    assert "limit must be >= 1" in err.value.message
    with pytest.raises(InvalidParameter):
        parse_int(-3, name="limit", minimum=0, maximum=10)
