"""The layout the engine's per-asset risk CSVs share (avg_losses, damages, loss_maps).

    asset_id,<tag>...,lon,lat,<value>...
    a0,A,RM,81.29850,29.10980,4.25160E+01,2.31354E+02

The engine builds them as (asset id, the exposure's tags in name order, lon, lat) followed by the
output's values (`commonlib.util.get_assets` + `compose_arrays`), so the tag columns are the
cells between asset_id and lon (they vary with the exposure: taxonomy, NAME_1, policy...) and
are text, as the engine's tags are; the cells after lat are the values, numbers but for the
damages' modal damage state. The kind modules say what each value column is (`value_column`:
its quantity and dtype) and which file names are theirs.
"""

from __future__ import annotations

from typing import Callable

from kinds.base import FLOAT, TEXT, Column, ExportFile, Table
from kinds.named_csv import file_metadata, read_header, require_rows, typed_rows

__all__ = ["read_asset_values"]


def read_asset_values(file: ExportFile, artifact_type: str, name_match, value_column: Callable[[str], Column | None]) -> Table:
    """A per-asset CSV as points; `name_match` is the kind's file-name match (its `kind` group names the
    statistic or realization), `value_column(name)` the Column of each value column (None: not one of
    the kind's)."""
    header = read_header(file)
    cells = header.cells
    asset, lon, lat = header.index("asset_id"), header.index("lon"), header.index("lat")
    if asset != 0 or lat != lon + 1:
        raise header.error("a per-asset file reads asset_id, its tags, lon, lat, then its values; "
                           f"this one has {', '.join(cells)}")
    if lat == len(cells) - 1:
        raise header.error("no value columns after lon, lat")
    require_rows(header)
    columns = [Column("asset_id", "asset_id", dtype=TEXT)]
    columns += [Column(cell, "tag", dtype=TEXT) for cell in cells[1:lon]]
    for cell in cells[lat + 1:]:
        column = value_column(cell)
        if column is None:
            raise header.error(f"unknown column {cell!r} for {artifact_type}")
        columns.append(column)
    dtypes = [TEXT] * lon + [FLOAT, FLOAT] + [column.dtype for column in columns[lon:]]
    rows = typed_rows(header, dtypes, lon=lon, lat=lat, required=(asset,))
    metadata = file_metadata(header)
    kind = name_match.group("kind") if name_match else None
    if kind and "kind" not in metadata:
        metadata["kind"] = kind
    elif kind and metadata["kind"] != kind:
        raise header.error(f"the metadata row says kind={metadata['kind']!r} but the file name says {kind!r}", 1)
    return Table(file.name, artifact_type, metadata, columns, "point", data=file.data, _rows=rows)
