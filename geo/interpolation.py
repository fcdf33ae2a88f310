"""Hazard values at a point from the sites around it: inverse-distance weighting. Pure maths, no Django.

PoEs are interpolated in log space (a weighted geometric mean), as hazard modellers expect of
curves spanning orders of magnitude; intensity levels (hazard maps, spectra) and depths linearly.
"""

from __future__ import annotations

import math

POWER = 2.0
METHOD = (
    "inverse distance weighting (power 2, great-circle distances) of the nearest sites;"
    " poEs in log space (linear where a site's poE is 0), intensity levels and depths linearly"
)


def idw_weights(distances_km: list[float], *, power: float = POWER) -> list[float]:
    """Normalised weights 1/d^power; a point on a site (d = 0) takes that site's values exactly."""
    if not distances_km:
        raise ValueError("no site to interpolate from")
    if any(d < 0 or not math.isfinite(d) for d in distances_km):
        raise ValueError(f"distances must be finite and non-negative, got {distances_km}")
    for i, d in enumerate(distances_km):
        if d == 0:
            return [1.0 if j == i else 0.0 for j in range(len(distances_km))]
    raw = [d**-power for d in distances_km]
    total = math.fsum(raw)
    return [w / total for w in raw]


def interpolate_linear(values: list[float], weights: list[float]) -> float:
    return math.fsum(w * v for w, v in zip(weights, values, strict=True))


def interpolate_log(values: list[float], weights: list[float]) -> float:
    """exp(sum w log v); a zero (a level no site reaches) has no logarithm: then linearly."""
    weighed = [v for v, w in zip(values, weights, strict=True) if w > 0]
    if len(weighed) == 1:
        return weighed[0]  # a point on a site: exp(log(v)) is not always v to the last bit
    if all(v > 0 for v, w in zip(values, weights, strict=True) if w > 0):
        return math.exp(math.fsum(w * math.log(v) for w, v in zip(weights, values) if w > 0))
    return interpolate_linear(values, weights)


def interpolate_properties(columns: list[dict], properties: list[dict], weights: list[float]) -> dict:
    """One artifact's properties at the point, column by column, from the sites' properties.

    `columns` are the artifact's metadata columns; the text column (custom_site_id) belongs to a
    site, not to a point, and is left out.
    """
    result = {}
    for column in columns:
        if column.get("is_text"):
            continue
        name = column["name"]
        values = [float(p[name]) for p in properties]
        interpolate = interpolate_log if column["quantity"] == "poe" else interpolate_linear
        result[name] = interpolate(values, weights)
    return result
