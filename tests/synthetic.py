"""Synthetic engine files for tests and benchmarks, written in the engine's exact CSV format."""

from __future__ import annotations

HEADER_META = "generated_by='OpenQuake engine 3.26.2', start_date='2026-11-27T18:18:03', checksum=200182232, kind='mean', investigation_time=1.0"


def grid_points(nlon: int, nlat: int, *, lon0: float, lat0: float, step: float):
    for j in range(nlat):
        for i in range(nlon):
            yield round(lon0 + i * step, 5), round(lat0 + j * step, 5)


def hazard_map_csv(
    nlon: int,
    nlat: int,
    *,
    lon0: float = 5.0,
    lat0: float = 40.0,
    step: float = 0.1,
    imts: tuple[str, ...] = ("PGA", "SA(0.2)"),
    poes: tuple[str, ...] = ("0.002105", "0.000404"),
) -> bytes:
    """A `hazard_map-mean_N.csv` on a regular grid; value = f(site, column) so every cell differs."""
    columns = [f"{imt}-{poe}" for imt in imts for poe in poes]
    # The engine's metadata row has exactly as many cells as the header row.
    lines = [",".join(["#"] + [""] * len(columns)) + f',"{HEADER_META}"']
    lines.append(",".join(["lon", "lat", *columns]))
    for n, (lon, lat) in enumerate(grid_points(nlon, nlat, lon0=lon0, lat0=lat0, step=step)):
        values = [f"{(n % 997 + 1) * 1e-4 * (k + 1):.6E}" for k in range(len(columns))]
        lines.append(",".join([f"{lon:.5f}", f"{lat:.5f}", *values]))
    return ("\n".join(lines) + "\n").encode()
