"""Parsing of the spatial query parameters (`bbox`, `tile`, `region`) into geometries.

Each parser fails fast with a message saying what is wrong, in the order the user wrote it:
bbox is always minlon,minlat,maxlon,maxlat.
"""

from __future__ import annotations

import json
import math
import re

from django.contrib.gis.geos import GEOSException, GEOSGeometry, LinearRing, MultiPolygon, Polygon

from core.exceptions import InvalidParameter, InvalidPropertyName
from core.integers import parse_int
from geo import sites as site_limits
from geo.tiles import MAX_ZOOM, tile_bounds

# A region arrives in a query string; beyond this it is an abuse, not a region.
MAX_REGION_CHARS = 200_000
MAX_REGION_VERTICES = 10_000


def parse_bbox(text: str, *, name: str = "bbox") -> list[Polygon]:
    """The envelopes to intersect: one, or two when the box crosses the antimeridian (minlon > maxlon)."""
    parts = text.split(",")
    if len(parts) != 4:
        raise InvalidParameter(f"{name} must be minlon,minlat,maxlon,maxlat (4 numbers), got {len(parts)} value(s)")
    try:
        minlon, minlat, maxlon, maxlat = (float(p) for p in parts)
    except ValueError:
        raise InvalidParameter(f"{name} must be 4 numbers minlon,minlat,maxlon,maxlat, got {text!r}") from None
    for label, raw, value, limit in zip(("minlon", "minlat", "maxlon", "maxlat"), parts, (minlon, minlat, maxlon, maxlat), (180, 90, 180, 90)):
        if not math.isfinite(value) or abs(value) > limit:
            raise InvalidParameter(f"{name}: {label}={raw.strip()} is outside -{limit}..{limit}")
    if minlat > maxlat:
        raise InvalidParameter(f"{name}: minlat {minlat} is greater than maxlat {maxlat}")
    if minlon <= maxlon:
        return [_envelope(minlon, minlat, maxlon, maxlat)]
    return [_envelope(minlon, minlat, 180.0, maxlat), _envelope(-180.0, minlat, maxlon, maxlat)]


def parse_tile(text: str) -> Polygon:
    parts = text.split("/")
    if len(parts) != 3:
        raise InvalidParameter(f"tile must be z/x/y with three non-negative integers, got {text!r}")
    try:
        z, x, y = (parse_int(part, name="tile z/x/y", maximum=2**MAX_ZOOM) for part in parts)
    except InvalidParameter:
        raise InvalidParameter(f"tile must be z/x/y with three non-negative integers in ASCII digits, got {text!r}") from None
    try:
        return _envelope(*tile_bounds(z, x, y))
    except ValueError as exc:
        raise InvalidParameter(f"tile: {exc}") from None


def parse_region(text: str) -> GEOSGeometry:
    """A Polygon or MultiPolygon in lon/lat, as WKT or as GeoJSON (a geometry, or a Feature holding one)."""
    if len(text) > MAX_REGION_CHARS:
        raise InvalidParameter(f"region is {len(text)} characters long; the limit is {MAX_REGION_CHARS}")
    stripped = text.strip()
    if not stripped:
        raise InvalidParameter("region is empty: give a WKT or GeoJSON polygon")
    try:
        if stripped.startswith("{"):
            data = json.loads(stripped)
            if isinstance(data, dict) and data.get("type") == "Feature":
                data = data.get("geometry")
            if not isinstance(data, dict) or data.get("type") not in ("Polygon", "MultiPolygon"):
                kind = data.get("type") if isinstance(data, dict) else type(data).__name__
                raise InvalidParameter(f"region must be a Polygon or MultiPolygon (or a Feature holding one), got {kind!r}")
            geom = _from_geojson(data)
        else:
            geom = GEOSGeometry(stripped)
    except InvalidParameter:
        raise
    except (GEOSException, ValueError, TypeError, IndexError) as exc:
        raise InvalidParameter(f"region is neither valid WKT nor GeoJSON: {exc}") from None
    if not isinstance(geom, (Polygon, MultiPolygon)):
        raise InvalidParameter(f"region must be a Polygon or MultiPolygon, got a {geom.geom_type}")
    if geom.srid not in (None, 4326):
        raise InvalidParameter(f"region must be in lon/lat (EPSG:4326), got SRID {geom.srid}")
    if geom.num_points > MAX_REGION_VERTICES:
        raise InvalidParameter(f"region has {geom.num_points} vertices; the limit is {MAX_REGION_VERTICES}")
    if geom.empty:
        raise InvalidParameter("region is empty")
    minlon, minlat, maxlon, maxlat = geom.extent
    if minlon < -180 or maxlon > 180 or minlat < -90 or maxlat > 90:
        raise InvalidParameter("region has coordinates outside -180..180 / -90..90: is it lon/lat?")
    if not geom.valid:
        raise InvalidParameter(f"region is not a valid polygon: {geom.valid_reason}")
    geom.srid = 4326
    return geom


def _from_geojson(data: dict) -> Polygon | MultiPolygon:
    # Built with GEOS from the coordinates, never handed to GDAL: Debian's GDAL 3.6 cannot be
    # stopped from following file or network references a crafted document may carry.
    def polygon(rings):
        return Polygon(*[LinearRing([tuple(float(c) for c in point) for point in ring]) for ring in rings])

    coordinates = data.get("coordinates")
    if not isinstance(coordinates, list):
        raise ValueError("GeoJSON 'coordinates' must be a list")
    if data["type"] == "Polygon":
        return polygon(coordinates)
    return MultiPolygon(*[polygon(rings) for rings in coordinates])


def _envelope(minlon: float, minlat: float, maxlon: float, maxlat: float) -> Polygon:
    poly = Polygon.from_bbox((minlon, minlat, maxlon, maxlat))
    poly.srid = 4326
    return poly


def column_names(metadata: dict) -> list[str]:
    """The data columns of an artifact, from its metadata, in file order."""
    return [column["name"] for column in metadata.get("columns", [])]


def parse_properties(text: str, *, columns: list[str]) -> list[str]:
    """The data columns to return, in the order given; every name must be one of `columns`."""
    names = [name.strip() for name in text.split(",")]
    if any(name == "" for name in names):
        raise InvalidParameter(f"properties must be a comma-separated list of column names, got {text!r}")
    known = set(columns)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise InvalidPropertyName(
            f"properties: unknown column(s) {', '.join(unknown)}; this artifact has {', '.join(columns)}"
        )
    return list(dict.fromkeys(names))


# A decimal number as people write coordinates: ASCII only. float() alone would take '٣', '1_0',
# 'nan' and 'inf'.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_MAX_NUMBER_CHARS = 40


def parse_number(text: str | None, *, name: str, minimum: float, maximum: float, exclusive_minimum: bool = False) -> float:
    """A finite decimal number within minimum..maximum, or InvalidParameter saying which and why."""
    bounds = f"{'more than' if exclusive_minimum else 'from'} {minimum:g} to {maximum:g}"
    if text is None or text == "":
        raise InvalidParameter(f"{name} is required: a number {bounds}")
    if len(text) > _MAX_NUMBER_CHARS or not _DECIMAL.fullmatch(text):
        shown = text if len(text) <= _MAX_NUMBER_CHARS else text[:_MAX_NUMBER_CHARS] + "..."
        raise InvalidParameter(f"{name} must be a decimal number {bounds} in ASCII digits, got {shown!r}")
    value = float(text)
    if not math.isfinite(value) or value > maximum or value < minimum or (exclusive_minimum and value == minimum):
        raise InvalidParameter(f"{name} must be a number {bounds}, got {text}")
    return value


def parse_point(params) -> tuple[float, float]:
    """`lon` and `lat` of a query, both required."""
    return (
        parse_number(params.get("lon"), name="lon", minimum=-180.0, maximum=180.0),
        parse_number(params.get("lat"), name="lat", minimum=-90.0, maximum=90.0),
    )


def parse_bool(text: str | None, *, name: str, default: bool = False) -> bool:
    if text is None:
        return default
    if text in ("true", "false"):
        return text == "true"
    raise InvalidParameter(f"{name} must be true or false, got {text!r}")


def parse_site_query(params) -> dict:
    """lon, lat, max_distance_km and interpolate of a /site request, checked."""
    lon, lat = parse_point(params)
    max_distance_km = site_limits.DEFAULT_MAX_DISTANCE_KM
    if "max_distance_km" in params:
        max_distance_km = parse_number(params["max_distance_km"], name="max_distance_km", minimum=0.0, maximum=site_limits.MAX_DISTANCE_KM, exclusive_minimum=True)
    return {"lon": lon, "lat": lat, "max_distance_km": max_distance_km, "interpolate": parse_bool(params.get("interpolate"), name="interpolate")}
