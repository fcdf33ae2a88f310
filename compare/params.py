"""Parsing of the compare parameters: the two artifacts, the tolerance, the columns."""

from __future__ import annotations

import math

from core.exceptions import InvalidParameter

# The engine writes coordinates with 5 decimals (about 1 m): the same site of two calculations is
# within a few metres; 100 m leaves room for a re-projected site model without merging grid nodes.
DEFAULT_TOLERANCE_KM = 0.1
MAX_TOLERANCE_KM = 10.0


def parse_tolerance_km(text: str | None) -> float:
    """Kilometres on the sphere within which two sites may match by coordinates; bounded, since a
    wide tolerance makes every lookup read many sites and matches sites that are not the same."""
    limit = MAX_TOLERANCE_KM
    if text is None:
        return DEFAULT_TOLERANCE_KM
    try:
        value = float(text)
    except ValueError:
        raise InvalidParameter(f"tolerance_km must be a number of kilometres, got {text!r}") from None
    if not math.isfinite(value) or not 0 <= value <= limit:
        raise InvalidParameter(f"tolerance_km must be between 0 and {limit}, got {text!r}")
    return value


def required(params, name: str) -> str:
    if name not in params:
        raise InvalidParameter(f"{name} is required: the id of an artifact (GET /artifacts)")
    return params[name]
