"""Thinning of dense vector tiles: at most one feature per cell of a tile's grid.

A low-zoom tile of a dense map would otherwise carry every site (a z4 tile of a 1M-site grid:
648k points, ~2 s and ~300 MB), though a screen can show one point per pixel at most. Points
that fall in the same cell are drawn on top of each other; only one is kept, chosen so that the
same tile is always the same bytes and a hazard peak is never hidden behind a lower value.
"""

from __future__ import annotations

from geo.tiles import tile_envelope_with_margin

# Cell side in MVT units (the tile's extent is 4096): 4096 / 32 = 128 cells a side, 4 pixels of
# the 512-pixel tiles MapLibre draws (2 of a 256-pixel tile), less than the diameter of the
# explorer's smallest point symbol (6 pixels at z4), so a dense map still reads as a surface.
# With the 64-unit buffer a tile has at most (4096 + 2 * 64) / 32 = 132 cells a side: 17,424
# features, whatever the map's size. Cells of 16 units allowed 69,696: a z4 tile of a 1M-site
# map carried 53,856 features, 1.9 MB with six values each and 1.1 MB with one, and took 140 ms
# in ST_AsMVT alone (README, Performance), for a difference no symbol shows.
THINNING_CELL = 32
# The tile's extent and buffer in MVT units (geo.selectors builds its tiles with them).
MVT_EXTENT = 4096
MVT_BUFFER = 64
# Cells a side of one tile: at zoom z the world is 2**z * CELLS_PER_TILE cells a side.
CELLS_PER_TILE = MVT_EXTENT // THINNING_CELL
CELL_LEVELS_PER_TILE = CELLS_PER_TILE.bit_length() - 1  # 2**7 = 128
BUFFER_CELLS = MVT_BUFFER // THINNING_CELL


def cell_sql(lon: str, lat: str, zoom: str) -> tuple[str, str]:
    """SQL for the cell (column, row) of a point at zoom `zoom` (SQL expressions of the lon, lat, zoom).

    Cells are a grid over the whole Mercator world, not per tile: the cell of a point at zoom z
    is its Mercator position times 2**(z + 7), floored, so a cell of zoom z is exactly four of
    zoom z + 1 (scaling by a power of two is exact in floating point). That is what lets
    geo.overview thin each zoom from the one below once, and a tile ask for the cells in
    its range. Latitudes are clamped short of the poles, where the logarithm has no value (such
    a site is outside every Mercator tile anyway).
    """
    scale = f"power(2.0, ({zoom}) + {CELL_LEVELS_PER_TILE})"
    lat_rad = f"radians(greatest(-89.9, least(89.9, {lat})))"
    cx = f"floor(({lon} + 180.0) / 360.0 * {scale})::bigint"
    cy = f"floor((1.0 - ln(tan(pi() / 4 + {lat_rad} / 2)) / pi()) / 2 * {scale})::bigint"
    return cx, cy


def tile_cells(x: int, y: int) -> tuple[int, int, int, int]:
    """(first column, last column, first row, last row) of the cells of tile x/y and its buffer."""
    return (
        x * CELLS_PER_TILE - BUFFER_CELLS, (x + 1) * CELLS_PER_TILE + BUFFER_CELLS - 1,
        y * CELLS_PER_TILE - BUFFER_CELLS, (y + 1) * CELLS_PER_TILE + BUFFER_CELLS - 1,
    )


def tile_search_box(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The lon/lat box that finds, by the GiST index, every site of the cells of tile z/x/y and its
    buffer: one unit more than the buffer, so that none is lost to rounding at its edge; the cell
    range (tile_cells) then decides which sites count."""
    return tile_envelope_with_margin(z, x, y, (MVT_BUFFER + 1) / MVT_EXTENT)


def thin_columns(columns: list[dict]) -> list[str]:
    """Every column a tile may be thinned by (the float ones), in the artifact's order.

    Integer columns are ids (event_id, rup_id, sids), not values: a GMF's 100 events at one site
    would otherwise keep the last event rather than the strongest motion. Columns stored before
    kinds had dtypes have only is_text.
    """
    return [c["name"] for c in columns if c.get("dtype", "text" if c.get("is_text") else "float") == "float"]


def thinning_column(columns: list[dict], properties: list[str] | None) -> str | None:
    """The column whose largest value a cell keeps: the first of thin_columns the tile carries (None: lowest idx)."""
    wanted = set(properties) if properties is not None else None
    return next((name for name in thin_columns(columns) if wanted is None or name in wanted), None)


def thinning_rule(column: str | None) -> str:
    """The rule in words, for TileJSON and the docs."""
    keep = (
        f"the feature with the largest {column!r} (ties and missing values: the lowest feature id)"
        if column is not None
        else "the feature with the lowest feature id"
    )
    return (
        f"at most one feature per {THINNING_CELL}x{THINNING_CELL}-unit cell of the {MVT_EXTENT}-unit tile"
        f" (cells of one grid over the world, {CELLS_PER_TILE} a side per tile): {keep}"
    )
