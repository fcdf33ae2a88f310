"""Average ground motion per site: the engine's `avg_gmf` output, `avg_gmf_<calc>.csv`.

    #,,,,"generated_by='OpenQuake engine 3.26.2', start_date=..., checksum=..."
    custom_site_id,lon,lat,PGA,SA(0.3)            (site_id instead of custom_site_id when the sites have none)
    szrzrp36,4.49580E+01,4.20960E+01,4.99935E-02,5.06045E-02

The coordinates are written in %.5E here (not %.5f as elsewhere): read as numbers all the same.
One point per site with a non-zero average; every other column is an IMT whose value is the mean
ground motion over the events. The engine writes a header and no row when no site has motion:
that is an empty artifact, not an error.
"""

from __future__ import annotations

from kinds.base import FLOAT, TEXT, Column, Export, ExportFile, Table
from kinds.named_csv import claims_by_name, file_metadata, name_matcher, read_header, typed_rows
from kinds.site_mesh import SITE_ID_COLUMNS

NAME = "avg_gmf"
TITLE = "Average ground motion per site"
OUTPUT_TYPES = ("avg_gmf",)
GEOMETRY = "point"
FILTERABLE: tuple = ()

_NAME = name_matcher("avg_gmf")


def claims(file: ExportFile, export: Export) -> bool:
    return claims_by_name(OUTPUT_TYPES, _NAME, file, export)


def read(file: ExportFile, export: Export) -> Table:
    header = read_header(file)
    lon, lat = header.index("lon"), header.index("lat")
    columns, dtypes, required = [], [], []
    for position, cell in enumerate(header.cells):
        dtype = SITE_ID_COLUMNS.get(cell, FLOAT)
        dtypes.append(dtype)
        if cell in SITE_ID_COLUMNS:
            columns.append(Column(cell, "site_id", dtype=dtype))
            if dtype == TEXT:
                required.append(position)
        elif position not in (lon, lat):
            columns.append(Column(cell, "gmv", imt=cell))
    if not any(column.quantity == "gmv" for column in columns):
        raise header.error(f"no IMT column after lon, lat (the columns are {', '.join(header.cells)})")
    rows = typed_rows(header, dtypes, lon=lon, lat=lat, required=tuple(required))
    return Table(file.name, NAME, file_metadata(header), columns, GEOMETRY, data=file.data, _rows=rows)
