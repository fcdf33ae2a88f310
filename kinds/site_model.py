"""The site model of a calculation: the engine's `site_model` output, `site_model_<calc>.csv`, or a job's `site_model_file`.

    #,,,,,,,,"generated_by='OpenQuake engine 3.26.2', start_date=..., checksum=..."
    sids,lon,lat,depth,vs30,vs30measured,z1pt0,z2pt5,custom_site_id
    0,44.95800,42.09600,0.00000,4.11503E+02,0,3.41365E+02,1.22400E+00,szrzrp36

One point per site, every site parameter a column under its own name. Which parameters there are
and in which order depends on the job (and the order changed between two runs of one job, api.md
5.6), so columns are found by name. A parameter's type is the engine's (hazardlib `site_param_dt`):
text for the string parameters (geology, custom_site_id, ...), integers for the integer and boolean
ones (sids, region, vs30measured as the 0/1 the file has), numbers for the rest; a column the
engine version does not know is a number if all its cells are numbers, else text.
"""

from __future__ import annotations

from kinds.base import FLOAT, INT, TEXT, Column, Export, ExportFile, Table
from kinds.engine_csv import reader
from kinds.named_csv import claims_by_name, file_metadata, inferred_dtypes, name_matcher, read_header, require_rows, typed_rows

NAME = "site_model"
TITLE = "Site model"
OUTPUT_TYPES = ("site_model",)
GEOMETRY = "point"
FILTERABLE: tuple = ()

_NAME = name_matcher("site_model")
INPUT_ROLE = "site_model"
# hazardlib.site.site_param_dt (engine 3.26.2): its byte-string and integer/boolean parameters.
TEXT_PARAMETERS = frozenset({"custom_site_id", "siteclass", "geohash", "ampcode", "ec8", "ec8_p18", "geology",
                             "unit", "liq_susc_cat", "lithology"})
INT_PARAMETERS = frozenset({"sids", "ilabel", "backarc", "soiltype", "region", "vs30measured", "bas", "in_cshm"})
KNOWN_FLOATS = frozenset({"depth", "vs30", "kappa0", "z1pt0", "z2pt5", "z_sed", "z1pt4", "xvf", "h800",
                          "amplfactor", "slope", "f0", "THV", "PHV", "dw", "gwd", "cti", "precip", "relief"})


def claims(file: ExportFile, export: Export) -> bool:
    # A job's own site model (its site_model_file, a CSV of the same columns) is read the same way.
    if export.roles.get(file.name) == INPUT_ROLE:
        return file.name.lower().endswith(".csv")
    return claims_by_name(OUTPUT_TYPES, _NAME, file, export)


def read(file: ExportFile, export: Export) -> Table:
    header = read_header(file)
    lon, lat = header.index("lon"), header.index("lat")
    require_rows(header)
    known = TEXT_PARAMETERS | INT_PARAMETERS | KNOWN_FLOATS
    if export.roles.get(file.name) == INPUT_ROLE:
        # A modeller's own file writes what the engine's export does not: vs30measured as
        # 'True'/'False' (scenario/case_21), a region as '0.0': each column typed by its cells,
        # integers kept as such.
        known = TEXT_PARAMETERS
    unknown = [position for position, cell in enumerate(header.cells) if position not in (lon, lat) and cell not in known]
    guessed = inferred_dtypes(header, unknown)
    if known is TEXT_PARAMETERS:
        guessed.update(_integers(header, [p for p, dtype in guessed.items() if dtype == FLOAT and header.cells[p] in INT_PARAMETERS]))
    dtypes, columns = [], []
    for position, cell in enumerate(header.cells):
        if position in (lon, lat):
            dtypes.append(FLOAT)
            continue
        dtype = TEXT if cell in TEXT_PARAMETERS else guessed.get(position) or (INT if cell in INT_PARAMETERS else FLOAT)
        dtypes.append(dtype)
        columns.append(Column(cell, "site_id" if cell in ("sids", "custom_site_id") else cell, dtype=dtype))
    required = tuple(position for position, cell in enumerate(header.cells) if cell == "custom_site_id")
    rows = typed_rows(header, dtypes, lon=lon, lat=lat, required=required)
    return Table(file.name, NAME, file_metadata(header), columns, GEOMETRY, data=file.data, _rows=rows)


def _integers(header, positions: list) -> dict:
    """{position: INT} of the columns whose every cell is written as an integer ('0', not '0.0')."""
    whole = set(positions)
    lines, _ = reader(header.file.data, header.body_offset)
    for row in lines:
        for position in list(whole):
            if position < len(row) and not row[position].strip().lstrip("+-").isdigit():
                whole.discard(position)
        if not whole:
            break
    return {position: INT for position in whole}
