"""XYZ web-map tile arithmetic (spherical Mercator, as OSM, MapLibre and ST_TileEnvelope)."""

import math

MAX_ZOOM = 24


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(minlon, minlat, maxlon, maxlat) of tile z/x/y; y counts from the north, as in XYZ URLs."""
    if not 0 <= z <= MAX_ZOOM:
        raise ValueError(f"zoom {z} is outside 0..{MAX_ZOOM}")
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise ValueError(f"tile {z}/{x}/{y} does not exist: x and y must be in 0..{n - 1} at zoom {z}")
    return (_lon(x, n), _lat(y + 1, n), _lon(x + 1, n), _lat(y, n))


def _lon(x: int, n: int) -> float:
    return x / n * 360.0 - 180.0


def _lat(y: int, n: int) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))


# Half the width of the spherical Mercator world, in metres (EPSG:3857).
_MERCATOR_HALF = 20037508.342789244


def tile_envelope_with_margin(z: int, x: int, y: int, margin: float) -> tuple[float, float, float, float]:
    """(minlon, minlat, maxlon, maxlat) of tile z/x/y grown by `margin` (a fraction of the tile's width).

    The margin is added in Mercator metres, as ST_TileEnvelope(..., margin => ...) and the `buffer`
    of ST_AsMVTGeom do, and clamped to the Mercator world, so that a point drawn near the edge of
    a tile is also in its neighbour's buffer and MapLibre does not clip its symbol.
    """
    minlon, minlat, maxlon, maxlat = tile_bounds(z, x, y)
    if margin == 0:
        return minlon, minlat, maxlon, maxlat
    size = 2 * _MERCATOR_HALF / (1 << z)
    grow = size * margin
    left = max(-_MERCATOR_HALF, -_MERCATOR_HALF + x * size - grow)
    right = min(_MERCATOR_HALF, -_MERCATOR_HALF + (x + 1) * size + grow)
    top = min(_MERCATOR_HALF, _MERCATOR_HALF - y * size + grow)
    bottom = max(-_MERCATOR_HALF, _MERCATOR_HALF - (y + 1) * size - grow)
    return _merc_lon(left), _merc_lat(bottom), _merc_lon(right), _merc_lat(top)


def _merc_lon(mx: float) -> float:
    return max(-180.0, min(180.0, mx / _MERCATOR_HALF * 180.0))


def _merc_lat(my: float) -> float:
    return math.degrees(math.atan(math.sinh(my / _MERCATOR_HALF * math.pi)))
