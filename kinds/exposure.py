"""The exposure's assets: `assetcol_<calc>.csv` of the engine's `exposure` zip (beside `exposure_<calc>.xml`,
which stays a raw file).

    id,lon,lat,value-number,value-structural,occupants_night,occupants_avg,ideductible,NAME_1,taxonomy
    s1,4.49629E+01,4.21066E+01,1.00000E+02,1.00000E+00,2.30000E+01,2.30000E+01,0.00000E+00,GE,MUR-CLBRS-LWAL-HBET-1;2/GOV2

No metadata row. One point per asset; `id` is the asset id the per-asset risk files call
asset_id. The engine writes the asset collection's numeric fields (`value-<cost type>`,
`occupants_<period>`, `ideductible`, `retrofitted`) as numbers, then the exposure's tags (taxonomy
and whatever tags the exposure declares, in name order) as text: those columns vary with the
exposure, and every one is kept under its name.
"""

from __future__ import annotations

from kinds.base import FLOAT, TEXT, Column, Export, ExportFile, Table
from kinds.named_csv import claims_by_name, file_metadata, name_matcher, read_header, require_rows, typed_rows

NAME = "exposure"
TITLE = "Exposure assets"
OUTPUT_TYPES = ("exposure",)
GEOMETRY = "point"
FILTERABLE: tuple = ()

_NAME = name_matcher("assetcol")
# risklib/asset.py (engine 3.26.2): the asset array's float fields besides lon and lat.
_NUMERIC_PREFIXES = ("value-", "occupants_")
_NUMERIC = frozenset({"ideductible", "retrofitted", "residents"})


def claims(file: ExportFile, export: Export) -> bool:
    return claims_by_name(OUTPUT_TYPES, _NAME, file, export)


def read(file: ExportFile, export: Export) -> Table:
    header = read_header(file)
    asset, lon, lat = header.index("id"), header.index("lon"), header.index("lat")
    require_rows(header)
    dtypes, columns = [], []
    for position, cell in enumerate(header.cells):
        if position in (lon, lat):
            dtypes.append(FLOAT)
        elif position == asset:
            dtypes.append(TEXT)
            columns.append(Column(cell, "asset_id", dtype=TEXT))
        elif cell.startswith(_NUMERIC_PREFIXES) or cell in _NUMERIC:
            dtypes.append(FLOAT)
            columns.append(Column(cell, cell.partition("-")[0] if cell.startswith("value-") else cell))
        else:
            dtypes.append(TEXT)
            columns.append(Column(cell, "tag", dtype=TEXT))
    rows = typed_rows(header, dtypes, lon=lon, lat=lat, required=(asset,))
    return Table(file.name, NAME, file_metadata(header), columns, GEOMETRY, data=file.data, _rows=rows)
