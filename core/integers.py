"""Integers typed by users (query parameters, path segments, JSON fields): ASCII digits, bounded.

`str.isdigit()` and `int()` accept '²' (isdigit only) and '٣' (both, as 3), and an unbounded
value reaches PostgreSQL as `bigint out of range` after a streamed response has started. So
every integer from a user goes through `parse_int`, with the bounds of where it is going, before
any query runs. Only core.exceptions is imported: geo, ogc and engine all use this module.
"""

from __future__ import annotations

import re

from core.exceptions import InvalidParameter

# PostgreSQL `integer` (feature indexes, engine calc ids, counts) and `bigint` (primary keys).
INTEGER_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1

_ASCII_DIGITS = re.compile(r"[0-9]+")


def parse_int(value, *, name: str, minimum: int = 0, maximum: int) -> int:
    """`value` (a str of ASCII digits, or a JSON integer) as an int within minimum..maximum.

    JSON floats (`1e30`, `2.0`) and booleans are refused: a JSON number is an int only if the
    client wrote it as one.
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidParameter(f"{name} must be an integer from {minimum} to {maximum}, got {value!r}")
    if isinstance(value, str):
        if not _ASCII_DIGITS.fullmatch(value):
            raise InvalidParameter(f"{name} must be an integer from {minimum} to {maximum} in ASCII digits, got {value!r}")
        digits = value.lstrip("0") or "0"
        # Longer than the maximum: out of range, without int() of a string of any length.
        if len(digits) > len(str(maximum)):
            raise InvalidParameter(f"{name} must be <= {maximum}, got {_shown(value)}")
        value = int(digits)
    if value < minimum:
        raise InvalidParameter(f"{name} must be >= {minimum}, got {value}")
    if value > maximum:
        raise InvalidParameter(f"{name} must be <= {maximum}, got {_shown(str(value))}")
    return value


def _shown(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:20]}... ({len(text)} digits)"
