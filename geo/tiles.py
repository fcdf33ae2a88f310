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
