"""Thinning of dense vector tiles: at most one feature per cell of a tile's grid.

A low-zoom tile of a dense map would otherwise carry every site (a z4 tile of a 1M-site grid:
648k points, ~2 s and ~300 MB), though a screen can show one point per pixel at most. Points
that fall in the same cell are drawn on top of each other; only one is kept, chosen so that the
same tile is always the same bytes and a hazard peak is never hidden behind a lower value.
"""

from __future__ import annotations

# Cell side in MVT units (the tile's extent is 4096): 4096 / 16 = 256 cells a side, one per pixel
# of a 256-pixel tile, two pixels of the 512-pixel tiles MapLibre draws, which is less than the
# radius of any point symbol, so the thinning cannot be seen. With the 64-unit buffer a tile has
# at most (4096 + 2 * 64) / 16 = 264 cells a side: 69,696 features, whatever the map's size.
# Cells of 8 units (one MapLibre pixel) would allow four times as many for no visible gain.
THINNING_CELL = 16


def thinning_column(columns: list[dict], properties: list[str] | None) -> str | None:
    """The column whose largest value a cell keeps: the first float column the tile carries (None: lowest idx).

    Integer columns are ids (event_id, rup_id, sids), not values: a GMF's 100 events at one site
    would otherwise keep the last event rather than the strongest motion. Columns stored before
    kinds had dtypes have only is_text.
    """
    wanted = set(properties) if properties is not None else None
    for column in columns:
        numeric = column.get("dtype", "text" if column.get("is_text") else "float") == "float"
        if numeric and (wanted is None or column["name"] in wanted):
            return column["name"]
    return None


def thinning_rule(column: str | None) -> str:
    """The rule in words, for TileJSON and the docs."""
    keep = (
        f"the feature with the largest {column!r} (ties and missing values: the lowest feature id)"
        if column is not None
        else "the feature with the lowest feature id"
    )
    return f"at most one feature per {THINNING_CELL}x{THINNING_CELL}-unit cell of the 4096-unit tile: {keep}"
