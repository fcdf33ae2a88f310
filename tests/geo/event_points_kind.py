"""A kind made for the filter tests only: points per (event, site), like a GMF, registered by a fixture.

    event_id,site,lon,lat,gmv

It stands in for a real spatial kind with a filterable column, so that the filters are tested
on GeoJSON, tiles, TileJSON and OGC items independently of any one engine format.
"""

from __future__ import annotations

import csv
import io

from kinds.base import FLOAT, INT, TEXT, Column, Export, ExportFile, Table

NAME = "test_event_points"
TITLE = "Event points (tests)"
OUTPUT_TYPES = ()
GEOMETRY = "point"
FILTERABLE = ("event_id", "site")


def claims(file: ExportFile, export: Export) -> bool:
    return file.name.startswith("event-points")


def read(file: ExportFile, export: Export) -> Table:
    columns = [Column("event_id", "event_id", dtype=INT), Column("site", "site_id", dtype=TEXT), Column("gmv", "gmv", dtype=FLOAT)]

    def rows():
        reader = csv.reader(io.StringIO(file.data.decode()))
        next(reader)
        for event_id, site, lon, lat, gmv in reader:
            yield (float(lon), float(lat)), (int(event_id), site, float(gmv))

    return Table(file.name, NAME, {}, columns, GEOMETRY, data=file.data, _rows=rows)


def make_csv(events: int, nlon: int, nlat: int, *, lon0=10.0, lat0=40.0, step=0.01) -> bytes:
    """`events` events over an nlon x nlat grid; gmv = event + site / 10^6, so every value is distinct."""
    out = io.StringIO()
    out.write("event_id,site,lon,lat,gmv\n")
    for event in range(events):
        for i in range(nlon):
            for j in range(nlat):
                site = i * nlat + j
                out.write(f"{event},s{site},{lon0 + i * step:.5f},{lat0 + j * step:.5f},{event + site / 1e6!r}\n")
    return out.getvalue().encode()
