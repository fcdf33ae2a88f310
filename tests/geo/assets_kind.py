"""A stand-in for the exposure kind (assetcol_N.csv: one point per asset, its id in `id`) where none is registered.

The join to assets only needs the kind's name, the asset's point and its `id`; branch `spatial`'s
kinds/exposure.py is used instead whenever it is in the registry.
"""

from __future__ import annotations

import csv
import io

from kinds.base import FLOAT, TEXT, Column, Export, ExportFile, Table

NAME = "exposure"
TITLE = "Exposure assets (tests)"
OUTPUT_TYPES = ("exposure",)
GEOMETRY = "point"
FILTERABLE: tuple = ()


def claims(file: ExportFile, export: Export) -> bool:
    return file.name.startswith("assetcol_") and file.name.endswith(".csv")


def read(file: ExportFile, export: Export) -> Table:
    reader = csv.reader(io.StringIO(file.data.decode()))
    header = next(reader)
    lon, lat = header.index("lon"), header.index("lat")
    kept = [i for i in range(len(header)) if i not in (lon, lat)]
    numeric = [header[i].startswith("value-") for i in kept]
    columns = [Column(header[i], header[i], dtype=FLOAT if n else TEXT) for i, n in zip(kept, numeric)]

    def rows():
        for row in csv.reader(io.StringIO(file.data.decode())):
            if row == header:
                continue
            yield (float(row[lon]), float(row[lat])), tuple(float(row[i]) if n else row[i] for i, n in zip(kept, numeric))

    return Table(file.name, NAME, {}, columns, GEOMETRY, data=file.data, _rows=rows)
