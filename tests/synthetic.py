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
    newline: str = "\n",
) -> bytes:
    """A `hazard_map-mean_N.csv` on a regular grid; value = f(site, column) so every cell differs.

    newline="\r\n" is what the engine writes (fixtures/README.md)."""
    columns = [f"{imt}-{poe}" for imt in imts for poe in poes]
    # The engine's metadata row has exactly as many cells as the header row.
    lines = [",".join(["#"] + [""] * len(columns)) + f',"{HEADER_META}"']
    lines.append(",".join(["lon", "lat", *columns]))
    for n, (lon, lat) in enumerate(grid_points(nlon, nlat, lon0=lon0, lat0=lat0, step=step)):
        values = [f"{(n % 997 + 1) * 1e-4 * (k + 1):.6E}" for k in range(len(columns))]
        lines.append(",".join([f"{lon:.5f}", f"{lat:.5f}", *values]))
    return (newline.join(lines) + newline).encode()


GEOHASH = "0123456789bcdefghjkmnpqrstuvwxyz"
GMF_META = "generated_by='OpenQuake engine 3.26.2', start_date='2026-12-01T12:09:48', checksum=760729377"


def site_ids(count: int) -> list[str]:
    """Distinct 8-character ids in the alphabet of the engine's geohash custom_site_id."""
    ids = []
    for n in range(count):
        code = n * 2654435761 % 32**8  # odd multiplier: a permutation of the 40-bit codes, scattered
        ids.append("".join(GEOHASH[code >> shift & 31] for shift in range(35, -1, -5)))
    return ids


def gmf_data_zip(nlon: int, nlat: int, events: int, *, lon0: float = 5.0, lat0: float = 40.0, step: float = 0.05,
                 imts: tuple[str, ...] = ("PGA", "SA(0.3)", "SA(1.0)"), calc_id: int = 6) -> bytes:
    """The engine's `gmf_data` export as a zip: `gmf-data_<calc>.csv` (event_id, gmv_<IMT>...,
    custom_site_id: one row per event and site, events in order) and `sitemesh_<calc>.csv`, CRLF."""
    import io
    import zipfile

    points = list(grid_points(nlon, nlat, lon0=lon0, lat0=lat0, step=step))
    ids = site_ids(len(points))
    mesh = [f'#,,"{GMF_META}"', "custom_site_id,lon,lat"] + [f"{i},{lon:.5f},{lat:.5f}" for i, (lon, lat) in zip(ids, points)]
    rows = [",".join(["#"] + [""] * len(imts)) + f',"{GMF_META}"', ",".join(["event_id", *(f"gmv_{imt}" for imt in imts), "custom_site_id"])]
    for event in range(events):
        for n, site in enumerate(ids):
            values = ",".join(f"{((event * 31 + n) % 9973 + 1) * 1e-4 * (k + 1):.5E}" for k in range(len(imts)))
            rows.append(f"{event},{values},{site}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"gmf-data_{calc_id}.csv", "\r\n".join(rows) + "\r\n")
        archive.writestr(f"sitemesh_{calc_id}.csv", "\r\n".join(mesh) + "\r\n")
    return buffer.getvalue()
