"""Ground-motion fields: `gmf-data_<calc>.csv` of the engine's `gmf_data` zip, placed by its site mesh.

    gmf-data_6.csv   event_id,gmv_PGA,gmv_SA(0.1),custom_site_id      (or site_id instead of custom_site_id)
                     0,4.74690E-02,1.52437E-01,t_1
    sitemesh_6.csv   custom_site_id,lon,lat                           (kinds/site_mesh.py)
                     t_1,-97.54375,21.33603

One feature per row, i.e. per (event, site): its point is the mesh's point for the row's site id,
its properties every column of the row under its header name (event_id and site_id as integers,
custom_site_id as text, gmv_<IMT> and any secondary-peril column as numbers). The mesh must be in
the same export (the zip) and hold every site the rows name; `sigma_epsilon_<calc>.csv` is a table
of its own kind. Filterable by event_id, so that one event is one map.
"""

from __future__ import annotations

from kinds.base import FLOAT, INT, TEXT, Column, Export, ExportFile, ParseError, Table
from kinds.named_csv import claims_by_name, file_metadata, name_matcher, read_header, require_rows, typed_rows
from kinds import site_mesh

NAME = "gmf"
TITLE = "Ground-motion fields"
OUTPUT_TYPES = ("gmf_data",)
GEOMETRY = "point"
FILTERABLE = ("event_id",)

_NAME = name_matcher("gmf-data")


def claims(file: ExportFile, export: Export) -> bool:
    return claims_by_name(OUTPUT_TYPES, _NAME, file, export)


def read(file: ExportFile, export: Export) -> Table:
    header = read_header(file)
    site_columns = [name for name in site_mesh.SITE_ID_COLUMNS if name in header.cells]
    if len(site_columns) != 1:
        raise header.error("a GMF file has one site column, custom_site_id or site_id"
                           + ("; this one has both" if site_columns else ""))
    (site_name,) = site_columns
    header.index("event_id")  # required
    columns = []
    for cell in header.cells:
        if cell == "event_id":
            columns.append(Column(cell, "event_id", dtype=INT))
        elif cell == site_name:
            columns.append(Column(cell, "site_id", dtype=site_mesh.SITE_ID_COLUMNS[cell]))
        elif cell.startswith("gmv_") and len(cell) > 4:
            columns.append(Column(cell, "gmv", imt=cell[4:]))
        else:
            columns.append(Column(cell, cell))  # a secondary peril's value (LiqProb, ...), named as the engine names it
    if not any(column.quantity == "gmv" for column in columns):
        raise header.error(f"no gmv_<IMT> column (the columns are {', '.join(header.cells)})")
    require_rows(header)

    mesh = _mesh_file(file, export)
    mesh_id = site_mesh.read(mesh, export).columns[0].name
    if mesh_id != site_name:
        raise header.error(f"the rows name sites by {site_name} but {mesh.name} by {mesh_id}")

    site = header.index(site_name)
    dtypes = [column.dtype for column in columns]

    def missing(value, line: int) -> ParseError:
        return header.error(f"{site_name} {value!r} is not in the site mesh {mesh.name}", line)

    rows = typed_rows(header, dtypes, site=site, points=lambda: site_mesh.site_points(mesh)[1], missing=missing)
    metadata = file_metadata(header)
    metadata["site_mesh"] = mesh.name
    return Table(file.name, NAME, metadata, columns, GEOMETRY, data=file.data, _rows=rows)


def _mesh_file(file: ExportFile, export: Export) -> ExportFile:
    name = f"sitemesh_{_NAME(file.name)['calc_id']}.csv"
    mesh = export.file(name)
    if mesh is None:
        raise ParseError(f"no site mesh: the GMF rows are placed by {name}, which must come in the same "
                         f"gmf_data zip", file_name=file.error_name)
    return mesh
