"""The low zooms of a big map, thinned once after import: what a tile of zoom <= Artifact.tile_overview_zoom reads.

A low-zoom tile of a dense map covers most of it: a z4 tile of a 1M-site map holds 680,000
sites, and thinning them per request (geo.thinning: one per cell, the largest value) read and
sorted every one of them, 1.5 s a tile. The cells of a zoom are a grid over the world, and a
cell of zoom z is exactly four cells of zoom z + 1, so the winners of zoom z are the winners
among the winners of zoom z + 1: the import thins the finest overview zoom from the rows once
per column a tile may be thinned by, then each coarser zoom from the one below. A row here is
one cell of one zoom with its winner for each thinning column; a tile reads the winners of its
cells by this table's primary key, and the features by theirs.

Built by the worker, not by the upload: the import queues `geo.tasks.build_tile_overview` in its
own transaction, and the worker builds the overview once the import has committed. Building it
inside the upload cost a 1M-site map about 4 s of its 13.6 s (README, Performance), for tiles
that are the same bytes without it (thinned per request meanwhile).

The same pass finds the map's sparse zoom: the coarsest from which on no two sites share a cell
(Artifact.tile_sparse_zoom). Finer tiles would keep every site they cover, so they skip the
thinning (its cells and sort: most of a z8 tile's database time on a map whose sites are a
kilometre or two apart).

The same rule, the same order and the same float values as the live statement of
geo.selectors: a tile read through the overview is byte for byte the tile thinned live
(tests/geo/test_overview.py). Filtered tiles (one event of a GMF) and columns past the first
MAX_COLUMNS are thinned live.
"""

from __future__ import annotations

import logging
import math
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Q

import kinds
from geo.models import SHARED_PART, Feature, TileOverview
from geo.thinning import CELL_LEVELS_PER_TILE, cell_sql, thin_columns
from geo.tiles import MAX_ZOOM as MAX_TILE_ZOOM
from icebox.models import Artifact

# Zooms are kept while their cells hold at least this many sites on average. Finer, thinning
# drops too few of them for a tile to be worth reading here, and a tile covers few enough sites
# to be thinned per request: for 1M sites 0.02 degrees apart the overview stops at z5 (110,000
# cells); down to z6 (2 sites a cell) it would store 440,000 and double the import's extra time,
# for z6 tiles of 57,000 sites that take ~180 ms thinned per request.
MIN_SITES_PER_CELL = 4
# The finest zoom either is looked for at: the overview's, and the sparse zoom's (a map whose
# sites share a cell even at z16, 2 m apart, is thinned at every zoom: NEVER_SPARSE).
MAX_ZOOM = 16
NEVER_SPARSE = MAX_TILE_ZOOM + 1
# Each thinning column costs the import a pass over the rows' values; a tile thinned by a later
# column (of a hazard curve with many IMLs) is thinned live.
MAX_COLUMNS = 32
# The import's hash tables of a million rows stay in memory rather than in temporary files.
_WORK_MEM = "256MB"

log = logging.getLogger(__name__)

_SITES = "icebox_overview_sites"
_CELLS = "icebox_overview_cells"


def overview_zoom(bbox: list[float] | None, count: int) -> int | None:
    """The finest zoom to thin once: the last at which the sites fill the cells of their
    extent at least MIN_SITES_PER_CELL deep, as if spread evenly (None: not even zoom 0)."""
    if not bbox or count < MIN_SITES_PER_CELL:
        return None
    minlon, minlat, maxlon, maxlat = bbox
    x0, x1 = _mercator_x(minlon), _mercator_x(maxlon)
    y0, y1 = _mercator_y(maxlat), _mercator_y(minlat)
    for z in range(MAX_ZOOM, -1, -1):
        n = 2 ** (z + CELL_LEVELS_PER_TILE)
        cells = (math.floor(x1 * n) - math.floor(x0 * n) + 1) * (math.floor(y1 * n) - math.floor(y0 * n) + 1)
        if count >= MIN_SITES_PER_CELL * cells:
            return z
    return None


def _mercator_x(lon: float) -> float:
    return (lon + 180.0) / 360.0


def _mercator_y(lat: float) -> float:
    lat = max(-85.0511, min(85.0511, lat))
    return (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0


def overview_position(columns: list[dict], thin_by: str | None) -> int | None:
    """Where in TileOverview.winners (from 1) the cell's feature kept when thinning by `thin_by` is (None: not there)."""
    if thin_by is None:
        return 1
    names = thin_columns(columns)[:MAX_COLUMNS]
    return names.index(thin_by) + 2 if thin_by in names else None


class Overview(NamedTuple):
    zoom: int | None  # Artifact.tile_overview_zoom: None, no zoom needs an overview
    sparse_zoom: int | None  # Artifact.tile_sparse_zoom: None when zoom is None (not looked for)


def build_overview(cursor, *, artifact_id: int, part: int, columns: list[dict], bbox: list[float] | None, count: int) -> Overview:
    """Thin the artifact's zooms 0..overview_zoom into TileOverview, and find its sparse zoom.

    Runs in the caller's transaction (build_artifact_overview's), on rows already loaded. A
    cell's winner for a column is found without sorting the rows: one pass takes each cell's
    largest value of every column (a hash aggregate), a second finds, per cell and column, the
    lowest idx holding that value (a hash join to the first). Each coarser zoom
    does the same over the cells of the zoom below, with their winners and maxima. Cost on a
    1M-site map with six columns: 6.6-6.8 s, half of it copying the sites' cells and values into
    a temporary table, a third finding the finest zoom's winners (README, Performance).
    """
    top = overview_zoom(bbox, count)
    if top is None:
        return Overview(None, None)
    qn = connection.ops.quote_name
    names = thin_columns(columns)[:MAX_COLUMNS]
    # Column k (from 1) of the thinning columns: its winner w{k} and maximum m{k}; w0 the lowest idx.
    numbers = range(1, len(names) + 1)
    cx, cy = cell_sql('ST_X(f."geom")', 'ST_Y(f."geom")', "%s")
    # Hash joins and aggregates: a merge join would sort the million rows by cell.
    cursor.execute(f"SET LOCAL work_mem = '{_WORK_MEM}'; SET LOCAL enable_mergejoin = off")
    # The sites, each with its cell at MAX_ZOOM and values, copied once: the finest overview zoom
    # reads them twice (maxima, then winners), the sparse zoom's search a few times more, and
    # computing the cells and values again cost more than the copy. A cell of a coarser zoom is
    # this one shifted right (geo.thinning.cell_sql: the scaling is by powers of two).
    values = "".join(f', (f."properties" ->> %s)::double precision AS m{k}' for k in numbers)
    cursor.execute(f"DROP TABLE IF EXISTS {_SITES}")
    cursor.execute(
        f'CREATE TEMPORARY TABLE {_SITES} ON COMMIT DROP AS SELECT {cx} AS cx, {cy} AS cy, f."idx" AS w0{values}'
        f' FROM {qn(Feature._meta.db_table)} f WHERE f."part" = %s AND f."artifact_id" = %s AND f."geom" IS NOT NULL',
        [MAX_ZOOM, MAX_ZOOM, *names, part, artifact_id],
    )
    sparse = _sparse_zoom(cursor, collides=top)
    zooms = range(top, -1, -1)
    # At the finest zoom each site is a "cell" of its own: every winner the site, every maximum its value.
    sites = f"SELECT cx, cy, w0{''.join(f', w0 AS w{k}, m{k}' for k in numbers)} FROM {_SITES}"
    _thin(cursor, source=sites, shift=MAX_ZOOM - top, into=_level(top), numbers=numbers)
    for z in zooms[1:]:
        _thin(cursor, source=f"SELECT * FROM {_level(z + 1)}", shift=1, into=_level(z), numbers=numbers)
    # Whatever an earlier build left (the command rebuilds an artifact whose zoom was cleared).
    cursor.execute(f'DELETE FROM {qn(TileOverview._meta.db_table)} WHERE "artifact_id" = %s', [artifact_id])
    winners = ", ".join(f"w{k}" for k in range(len(names) + 1))
    every = " UNION ALL ".join(f"SELECT {z}::smallint AS z, cx, cy, ARRAY[{winners}] AS winners FROM {_level(z)}" for z in zooms)
    # In the primary key's order: the index grows at its end instead of splitting pages all over.
    cursor.execute(
        f"INSERT INTO {qn(TileOverview._meta.db_table)} (artifact_id, z, cx, cy, winners) SELECT %s, z, cx, cy, winners FROM ({every}) AS l"
        " ORDER BY z, cx, cy",
        [artifact_id],
    )
    cursor.execute(f"DROP TABLE {_SITES}, {_CELLS}, {', '.join(_level(z) for z in zooms)}")
    cursor.execute("SET LOCAL work_mem TO DEFAULT; SET LOCAL enable_mergejoin TO DEFAULT")
    return Overview(top, sparse)


def _sparse_zoom(cursor, *, collides: int) -> int:
    """The coarsest zoom at which no two of the sites (_SITES, cells of MAX_ZOOM) share a cell;
    NEVER_SPARSE if they do even at MAX_ZOOM. Sharing is monotone (two sites in one cell of zoom
    z share its parent cell), so a binary search above `collides`, a zoom at which two do: a few
    sorts of the cells (0.2 s each on 1M sites)."""
    shared, alone = collides, MAX_ZOOM + 1
    while alone - shared > 1:
        z = (shared + alone) // 2
        shift = MAX_ZOOM - z
        # One bigint a cell: a column times 2**26 plus the row, which lies within (-2**23, 2**24)
        # (latitudes clamped at 89.9 degrees): distinct cells, distinct numbers.
        cursor.execute(f"SELECT count(*) > count(DISTINCT ((cx >> {shift}) * 67108864 + (cy >> {shift}))) FROM {_SITES}")
        if cursor.fetchone()[0]:
            shared = z
        else:
            alone = z
    return alone if alone <= MAX_ZOOM else NEVER_SPARSE


def _level(z: int) -> str:
    return f"icebox_overview_z{int(z)}"


def _thin(cursor, *, source: str, shift: int, into: str, numbers: range) -> None:
    """Create `into`, a zoom's cells: those of `source` (cx, cy, w0, w1.., m1..: the cells of the
    zoom below, or the sites at MAX_ZOOM) grouped by their cell `shift` zooms coarser, each one's
    winners by the rule: per column the largest maximum, the lowest of its children's winners
    holding it; no value anywhere, the lowest idx (w0)."""
    shift = int(shift)
    cursor.execute(f"DROP TABLE IF EXISTS {_CELLS}, {into}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {_CELLS} ON COMMIT DROP AS SELECT s.cx >> {shift} AS cx, s.cy >> {shift} AS cy, min(s.w0) AS w0"
        f"{''.join(f', max(s.m{k}) AS m{k}' for k in numbers)} FROM ({source}) AS s GROUP BY 1, 2"
    )
    found = "".join(f", min(s.w{k}) FILTER (WHERE s.m{k} = p.m{k}) AS w{k}" for k in numbers)
    cursor.execute(
        f"CREATE TEMPORARY TABLE {into} ON COMMIT DROP AS SELECT p.cx, p.cy, p.w0"
        f"{''.join(f', coalesce(g.w{k}, p.w0) AS w{k}, p.m{k}' for k in numbers)} FROM {_CELLS} p"
        f" JOIN (SELECT p.cx, p.cy{found} FROM ({source}) AS s JOIN {_CELLS} p ON p.cx = s.cx >> {shift} AND p.cy = s.cy >> {shift}"
        " GROUP BY p.cx, p.cy) AS g ON g.cx = p.cx AND g.cy = p.cy"
    )


def build_missing_overviews() -> int:
    """Thin the low zooms of every big map of points that has no overview yet (stored before
    overviews existed, or whose queued build was lost or failed); how many got one."""
    return sum(build_artifact_overview(pk) for pk in _pending().order_by("pk").values_list("pk", flat=True))


def build_lost_overviews() -> int:
    """Housekeeping's step (icebox.housekeeping): build_missing_overviews without waiting, one
    failure not stopping the rest, and at most one map built a round; how many got one (0 or 1).

    A build queued by an import is lost when its worker is killed (its task stays RUNNING) and
    not retried when it failed; the map is right meanwhile but slow at low zooms. No clock and no
    task status decides what was lost: a build running in a live worker holds its artifact's row
    (build_artifact_overview) and is skipped; a build still queued is done here or by its task,
    whichever comes first, and the other finds it built. A failing build is logged and tried
    again at the next round. One map a round (a 1M-site map takes seconds): a backlog (maps
    stored before overviews existed) must not hold up a worker's start nor the round's other
    steps; `manage.py icebox_tile_overviews` builds a backlog at once.
    """
    for pk in _pending().order_by("pk").values_list("pk", flat=True):
        try:
            if build_artifact_overview(pk, wait=False):
                return 1
        except Exception:  # noqa: BLE001 - one map's failure must not keep the others slow
            log.exception("building the tile overview of artifact %s failed", pk)
    return 0


def build_artifact_overview(artifact_id: int, *, wait: bool = True) -> bool:
    """Thin the low zooms of one artifact and find its sparse zoom, if it has neither yet and is a
    big map of points (False otherwise: deleted, built already, small, or no zoom worth thinning).

    In a short transaction of its own, the artifact's row locked, so that a delete meanwhile is
    waited for or waits, and never leaves rows behind; two builds of one artifact at once (the
    queued task and the command) do it once. `wait=False`: a row locked already (a build or a
    delete in progress) is left alone, False. Until it commits, tiles are thinned per request:
    the same bytes (tests/geo/test_overview.py), slower at low zooms.
    """
    with transaction.atomic():
        artifact = _pending().select_for_update(skip_locked=not wait).filter(pk=artifact_id).first()
        if artifact is None:
            return False
        with connection.cursor() as cursor:
            overview = build_overview(cursor, artifact_id=artifact.pk, part=artifact.feature_part, columns=artifact.metadata.get("columns", []),
                                      bbox=artifact.bbox, count=artifact.feature_count)
        if overview.zoom is None:
            return False
        Artifact.objects.filter(pk=artifact.pk).update(tile_overview_zoom=overview.zoom, tile_sparse_zoom=overview.sparse_zoom)
    return True


def wants_overview(artifact: Artifact) -> bool:
    """Whether a build is worth queueing for an artifact just loaded: the rule that picks what
    to build (_pending), on the row in hand. Only kinds of points are thinned (geo.thinning, by
    the kind as tiles are), and only a big map, which has a partition of its own, has low zooms
    worth thinning once (a small one is thinned per tile in milliseconds)."""
    return artifact.artifact_type in _point_kinds() and artifact.feature_part not in (None, SHARED_PART)


def _point_kinds() -> list[str]:
    # By the kind, not by the loaded table's geometry: a job's sites with a depth on some rows
    # only are read as "mixed" (the loader writes the missing depths as nulls), all points.
    return [kind.NAME for kind in kinds.KINDS if getattr(kind, "GEOMETRY", None) == "point"]


def _pending():
    # Also those with an overview but no sparse zoom (stored before it was looked for).
    missing = Q(tile_overview_zoom__isnull=True) | Q(tile_sparse_zoom__isnull=True)
    return Artifact.objects.filter(missing, artifact_type__in=_point_kinds(), feature_part__isnull=False).exclude(feature_part=SHARED_PART)
