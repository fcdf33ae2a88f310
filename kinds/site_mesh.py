"""The site mesh of a ground-motion-field export: `sitemesh_<calc>.csv` in the `gmf_data` zip.

    #,,"generated_by='OpenQuake engine 3.26.2', start_date=..., checksum=..."
    custom_site_id,lon,lat                      (or site_id,lon,lat when the sites have no custom id)
    7zzzzzzz,0.00000,0.00000

One point per site; the id column is kept (text for custom_site_id, int for site_id). The GMF rows
of the same zip (kinds/gmf.py) are placed by these ids, so the mesh is also read as a lookup table
by `site_points()`.
"""

from __future__ import annotations

from kinds.base import FLOAT, INT, TEXT, Column, Export, ExportFile, Table
from kinds.named_csv import claims_by_name, file_metadata, HeaderRow, name_matcher, read_header, require_rows, typed_rows

NAME = "site_mesh"
TITLE = "Site mesh of ground-motion fields"
OUTPUT_TYPES = ("gmf_data",)
GEOMETRY = "point"
FILTERABLE: tuple = ()

_NAME = name_matcher("sitemesh")
# The engine writes custom_site_id when the site collection has one, else the site index.
SITE_ID_COLUMNS = {"custom_site_id": TEXT, "site_id": INT}


def claims(file: ExportFile, export: Export) -> bool:
    return claims_by_name(OUTPUT_TYPES, _NAME, file, export)


def read(file: ExportFile, export: Export) -> Table:
    header, id_name, dtypes = _header(file)
    rows = typed_rows(header, dtypes, lon=header.index("lon"), lat=header.index("lat"), required=_required(header, id_name))
    return Table(file.name, NAME, file_metadata(header), [Column(id_name, "site_id", dtype=SITE_ID_COLUMNS[id_name])],
                 GEOMETRY, data=file.data, _rows=rows)


def site_points(file: ExportFile) -> tuple[str, dict]:
    """The mesh as (id column name, {site id: (lon, lat)}); ParseError for a bad mesh or a site given twice."""
    header, id_name, dtypes = _header(file)
    site, lon, lat = header.index(id_name), header.index("lon"), header.index("lat")
    points: dict = {}

    def place(values: tuple, line: int) -> None:
        x, y = values[lon], values[lat]
        if not (-180.0 <= x <= 180.0 and -90.0 <= y <= 90.0):
            raise header.error(f"lon {x:g}, lat {y:g} is not a point on the globe", line)
        if values[site] in points:
            raise header.error(f"site {values[site]!r} is in the mesh twice", line)
        points[values[site]] = (x, y)

    for _ in typed_rows(header, dtypes, required=_required(header, id_name), place=place)():
        pass
    return id_name, points


def _header(file: ExportFile) -> tuple[HeaderRow, str, list]:
    header = read_header(file)
    ids = [name for name in SITE_ID_COLUMNS if name in header.cells]
    if len(ids) != 1 or sorted(header.cells) != sorted([ids[0], "lon", "lat"]):
        raise header.error(f"a site mesh has the columns custom_site_id (or site_id), lon, lat; "
                           f"this one has {', '.join(header.cells)}")
    require_rows(header)
    id_name = ids[0]
    return header, id_name, [SITE_ID_COLUMNS[id_name] if cell == id_name else FLOAT for cell in header.cells]


def _required(header: HeaderRow, id_name: str) -> tuple:
    return (header.index(id_name),) if SITE_ID_COLUMNS[id_name] == TEXT else ()
