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
    """The column whose largest value a cell keeps: the first numeric column the tile carries (None: lowest idx)."""
    wanted = set(properties) if properties is not None else None
    for column in columns:
        if not column.get("is_text") and (wanted is None or column["name"] in wanted):
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
