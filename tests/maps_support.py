"""Helpers shared by the tests of the map endpoints (tiles, OGC API, real clients)."""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass

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
        Site(i, float(r["lon"]), float(r["lat"]), {k: float(v) for k, v in r.items() if k not in ("lon", "lat")})
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
