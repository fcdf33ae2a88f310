"""Ruptures of an event-based calculation: the engine's `ruptures` output, `ruptures_<calc>.csv`.

    #,,,,,,,,,,"generated_by=..., investigation_time=50.0, ses_per_logic_tree_path=20"
    rup_id,source_id,multiplicity,mag,centroid_lon,centroid_lat,centroid_depth,trt,strike,dip,rake
    0,1,6,5.250000E+00,8.129850E+01,2.910980E+01,4.000000E+00,Active Shallow Crust,4.498818E+01,2.999938E+01,0.000000E+00

One point per rupture, at its centroid (centroid_lon, centroid_lat: the geometry, not columns);
the other columns under their names: rup_id and multiplicity integers, source_id and trt
(tectonic region type) text, mag, centroid_depth (km), strike, dip, rake numbers.
"""

from __future__ import annotations

from kinds.base import FLOAT, INT, TEXT, Column, Export, ExportFile, Table
from kinds.named_csv import claims_by_name, file_metadata, inferred_dtypes, name_matcher, read_header, require_rows, typed_rows

NAME = "ruptures"
TITLE = "Ruptures"
OUTPUT_TYPES = ("ruptures",)
GEOMETRY = "point"
FILTERABLE: tuple = ()

_NAME = name_matcher("ruptures")
KNOWN = {"rup_id": INT, "source_id": TEXT, "multiplicity": INT, "mag": FLOAT, "centroid_depth": FLOAT,
         "trt": TEXT, "strike": FLOAT, "dip": FLOAT, "rake": FLOAT}
QUANTITIES = {"rup_id": "rup_id", "mag": "magnitude", "centroid_depth": "depth", "trt": "tectonic_region_type"}
REQUIRED = ("rup_id", "mag", "centroid_depth", "trt", "strike", "dip", "rake")


def claims(file: ExportFile, export: Export) -> bool:
    return claims_by_name(OUTPUT_TYPES, _NAME, file, export)


def read(file: ExportFile, export: Export) -> Table:
    header = read_header(file)
    lon, lat = header.index("centroid_lon"), header.index("centroid_lat")
    for name in REQUIRED:
        header.index(name)
    require_rows(header)
    guessed = inferred_dtypes(header, [position for position, cell in enumerate(header.cells)
                                       if position not in (lon, lat) and cell not in KNOWN])
    dtypes, columns = [], []
    for position, cell in enumerate(header.cells):
        if position in (lon, lat):
            dtypes.append(FLOAT)
            continue
        dtype = KNOWN.get(cell) or guessed[position]
        dtypes.append(dtype)
        columns.append(Column(cell, QUANTITIES.get(cell, cell), dtype=dtype))
    rows = typed_rows(header, dtypes, lon=lon, lat=lat)
    return Table(file.name, NAME, file_metadata(header), columns, GEOMETRY, data=file.data, _rows=rows)
