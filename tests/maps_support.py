"""Helpers shared by the tests of the map endpoints (tiles, OGC API, real clients)."""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass

from geo.thinning import CELLS_PER_TILE, tile_cells
from tests.support import read_engine_csv
from tests.synthetic import hazard_map_csv

MERCATOR_HALF = 20037508.342789244


@dataclass
class Site:
    idx: int
    lon: float
    lat: float
    values: dict  # column name -> float, read from the CSV text


def grid_sites(data: bytes) -> list[Site]:
    header, rows = read_engine_csv(data)
    return [
        Site(i, float(r["lon"]), float(r["lat"]), {k: float(v) for k, v in r.items() if k not in ("lon", "lat", "custom_site_id")})
        for i, r in enumerate(rows)
    ]


def upload_grid(client, nlon=40, nlat=30, *, lon0=5.0, lat0=40.0, step=0.1, name="hazard_map-mean_77.csv"):
    """Upload a regular grid through the API; returns (artifact JSON, sites)."""
    data = hazard_map_csv(nlon, nlat, lon0=lon0, lat0=lat0, step=step)
    f = io.BytesIO(data)
    f.name = name
    response = client.post("/artifacts", {"file": f}, format="multipart")
    assert response.status_code == 201, response.content
    [artifact] = response.json()["artifacts"]
    return artifact, grid_sites(data)


def body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def json_body(response):
    return json.loads(body(response))


def tile_pixel(lon: float, lat: float, z: int, x: int, y: int, extent: int = 4096) -> tuple[float, float]:
    """Where a point falls in tile z/x/y, in tile units with y down (forward Mercator, independent of the server)."""
    mx = lon / 180.0 * MERCATOR_HALF
    my = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / math.pi * MERCATOR_HALF
    size = 2 * MERCATOR_HALF / 2**z
    left = -MERCATOR_HALF + x * size
    top = MERCATOR_HALF - y * size
    return (mx - left) / size * extent, (top - my) / size * extent


def tiles_of(sites, z: int) -> set[tuple[int, int]]:
    n = 2**z
    out = set()
    for s in sites:
        tx = int((s.lon + 180.0) / 360.0 * n)
        ty = int((1.0 - math.asinh(math.tan(math.radians(s.lat))) / math.pi) / 2.0 * n)
        out.add((tx, ty))
    return out


def cells_of(lon, lat, z):
    """The cell of the world's grid at zoom z that holds the point, computed here (not by the
    server): a set of one, or of the two to four cells it lies on the edge of (the server's
    float maths could put it on either side)."""
    n = 2**z * CELLS_PER_TILE
    gx = (lon + 180.0) / 360.0 * n
    gy = (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n
    return {(math.floor(gx + dx), math.floor(gy + dy)) for dx in (-1e-6, 1e-6) for dy in (-1e-6, 1e-6)}


def points_by_cell(points, z, x, y) -> dict:
    """The indexes of `points` ((lon, lat) pairs) per cell of tile z/x/y and its buffer,
    computed here; cells a point lies on the edge of are left out (the server may put it in either)."""
    x0, x1, y0, y1 = tile_cells(x, y)
    cells, uncertain = {}, set()
    for n, (lon, lat) in enumerate(points):
        possible = cells_of(lon, lat, z)
        if len(possible) > 1:
            uncertain |= possible
            continue
        [cell] = possible
        if x0 <= cell[0] <= x1 and y0 <= cell[1] <= y1:
            cells.setdefault(cell, []).append(n)
    return {cell: group for cell, group in cells.items() if cell not in uncertain}


def expected_per_cell(sites, z, x, y, *, column):
    """Per cell of tile z/x/y and its buffer, the site the rule keeps (largest `column`, ties:
    lowest idx; no column: lowest idx), computed here from the sites (points_by_cell)."""
    rank = (lambda s: (s.values[column], -s.idx)) if column is not None else (lambda s: -s.idx)
    cells = points_by_cell([(s.lon, s.lat) for s in sites], z, x, y)
    return {cell: max((sites[n] for n in group), key=rank) for cell, group in cells.items()}
