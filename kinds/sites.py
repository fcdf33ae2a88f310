"""The sites of a job (its `sites_csv`): one point per site.

    -123.237384,49.274792                    (no header: lon, lat[, depth], as the engine reads it; a row
                                             may leave the depth out: null)
    custom_site_id,lon,lat                   (or a header naming lon and lat, and any other column)

Every column but lon and lat under its name: `custom_site_id` and `site_id` as text, a column
whose every cell is a number as a number, any other as text. Without a header the columns are
`lon`, `lat` and, if there is a third, `depth`. Claimed in a job's inputs (role `sites`).
"""

from __future__ import annotations

import csv
import io
import math

from kinds.base import FLOAT, TEXT, Column, Export, ExportFile, ParseError, Table

NAME = "sites"
TITLE = "Sites of a job"
OUTPUT_TYPES: tuple[str, ...] = ()  # a job's inputs only: claimed by role
GEOMETRY = "point"
FILTERABLE: tuple = ()
ROLE = "sites"
_IDS = ("custom_site_id", "site_id")


def claims(file: ExportFile, export: Export) -> bool:
    return export.roles.get(file.name) == ROLE


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read(file: ExportFile, export: Export) -> Table:
    try:
        text = file.data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError("not UTF-8 text", file_name=file.error_name, line=file.data[: exc.start].count(b"\n") + 1) from None
    records = [(number, row) for number, row in enumerate(csv.reader(io.StringIO(text)), 1) if row and any(c.strip() for c in row)]
    if records and records[0][1][0].startswith("#"):
        records = records[1:]  # the engine's metadata row, when the sites are one of its exports
    if not records:
        raise ParseError("no site", file_name=file.error_name, line=1)
    first = [cell.strip() for cell in records[0][1]]
    headerless = all(_number(cell) is not None for cell in first)
    if headerless:
        # lon, lat and, on some rows or all, a depth (logictree/case_13 gives it on its first row only)
        width = max(len(row) for _, row in records)
        if width not in (2, 3):
            raise ParseError(f"{len(first)} numbers and no header: expected lon, lat[, depth]", file_name=file.error_name, line=1)
        header, body = ["lon", "lat", "depth"][:width], records
    else:
        header, body = first, records[1:]
        for name in ("lon", "lat"):
            if name not in header:
                raise ParseError(f"no {name!r} column (the columns are {', '.join(header)})", file_name=file.error_name,
                                 line=records[0][0])
    lon_at, lat_at = header.index("lon"), header.index("lat")
    keep = [i for i in range(len(header)) if i not in (lon_at, lat_at)]
    numeric = {i: header[i] not in _IDS and all(_number(row[i]) is not None for _, row in body if i < len(row)) for i in keep}
    columns = [Column(header[i], "site_id" if header[i] in _IDS else header[i], dtype=FLOAT if numeric[i] else TEXT)
               for i in keep]
    short = headerless and any(len(row) < len(header) for _, row in body)

    def rows():
        for number, row in body:
            if len(row) != len(header) and not (headerless and len(row) == 2):
                raise ParseError(f"expected {len(header)} values, found {len(row)}", file_name=file.error_name, line=number)
            lon, lat = _number(row[lon_at]), _number(row[lat_at])
            if lon is None or lat is None or not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise ParseError(f"({row[lon_at]}, {row[lat_at]}) is not a longitude and latitude", file_name=file.error_name,
                                 line=number)
            yield (lon, lat), tuple((_number(row[i]) if numeric[i] else row[i]) if i < len(row) else None for i in keep)

    # A site without its depth has a null one, which the loader's fast path for points does not write.
    return Table(file.name, NAME, {"header": None if headerless else header}, columns, "mixed" if short else GEOMETRY,
                 data=file.data, _rows=rows)
