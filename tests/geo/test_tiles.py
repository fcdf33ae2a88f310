import math

import pytest

from geo.tiles import tile_bounds


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The XYZ tile holding a point, by the forward Mercator formula (independent of tile_bounds)."""
    n = 2**z
    x = (lon + 180.0) / 360.0 * n
    y = (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n
    return int(x), int(y)


def test_world_tile_spans_the_mercator_world():
    minlon, minlat, maxlon, maxlat = tile_bounds(0, 0, 0)
    assert (minlon, maxlon) == (-180.0, 180.0)
    assert maxlat == pytest.approx(85.0511287798, abs=1e-9)
    assert minlat == pytest.approx(-85.0511287798, abs=1e-9)


@pytest.mark.parametrize("z,x,y", [(1, 0, 0), (4, 8, 5), (8, 134, 90), (12, 2170, 1440), (20, 555555, 333333)])
def test_tile_bounds_contain_exactly_the_points_mapped_to_that_tile(z, x, y):
    minlon, minlat, maxlon, maxlat = tile_bounds(z, x, y)
    inside = ((minlon + maxlon) / 2, (minlat + maxlat) / 2)
    assert _tile_of(*inside, z) == (x, y)
    eps = 1e-9
    if x > 0:
        assert _tile_of(minlon - eps, inside[1], z) == (x - 1, y)
    if y > 0:
        assert _tile_of(inside[0], maxlat + eps, z) == (x, y - 1)
    assert _tile_of(maxlon - eps, minlat + eps, z) == (x, y)


@pytest.mark.parametrize("z,x,y", [(-1, 0, 0), (25, 0, 0), (2, 4, 0), (2, 0, 4), (0, 1, 0)])
def test_tiles_that_do_not_exist_are_refused(z, x, y):
    with pytest.raises(ValueError):
        tile_bounds(z, x, y)
