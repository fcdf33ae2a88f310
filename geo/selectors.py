"""Reads of an artifact's features.

The ORM builds the filtered query; PostGIS renders each feature as GeoJSON text (or a whole
vector tile), and the rows are streamed to the client from a server-side cursor, so that neither
Python nor the server process ever holds a whole map. Python only joins ready-made text.
"""

from __future__ import annotations

import itertools
import json
import operator
from functools import cache, reduce
from typing import Callable, Iterator

import psycopg2.extensions
from django.contrib.gis.geos import GEOSGeometry, Polygon
from django.db import connection, transaction
from django.db.models import BooleanField, Expression, F, Field, Func, Q, QuerySet
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import JSONObject

import kinds
from core.exceptions import NotFound
from geo.filters import filter_features
from geo.models import READ_PLANNER, Feature, TileOverview, features_of, planner_for
from geo.overview import overview_position
from geo.thinning import MVT_BUFFER, MVT_EXTENT, cell_sql, tile_cells, tile_search_box
from icebox.selectors import ReadableArtifact, readable_row

# Rows per FETCH from the server-side cursor: one chunk of the response (~260 bytes a feature).
# Small enough that the web worker sends one chunk while PostgreSQL makes the next (with 5,000 a
# 10,000-feature bbox was two FETCHes, nearly all its time in the first: 40 ms against 35).
FETCH_ROWS = 1000

# A cursor that will be read to the end must be planned for all its rows, not for the first 10%
# (`cursor_tuple_fraction`).
_CURSOR_PLANNER = READ_PLANNER + "SET LOCAL cursor_tuple_fraction = 1; "
# A tile thinned per request sorts its rows with their properties (at most ~70,000 past the
# overview's zooms): in memory, not in a temporary file.
_TILE_PLANNER = READ_PLANNER + "SET LOCAL work_mem = '64MB'; "

# Per-row feature text, assembled by PostgreSQL from `t` (idx, g, props). A row without geometry
# (a table's, a logic tree's branch, a source drawn nowhere) is GeoJSON's `"geometry": null`:
# ST_AsGeoJSON(NULL) would make the whole text NULL.
_FEATURE_TEXT = (
    "'{\"type\":\"Feature\",\"id\":' || t.idx || ',\"geometry\":' || COALESCE(ST_AsGeoJSON(t.g, 9), 'null')"
    " || ',\"properties\":' || t.props::text || '}'"
)


def _readable_id(readable: ReadableArtifact) -> int:
    return readable_row(readable).pk


def _features(
    readable: ReadableArtifact,
    *,
    envelopes: list[Polygon] | None = None,
    region: GEOSGeometry | None = None,
    filters: dict | None = None,
) -> QuerySet:
    """The artifact's features, intersecting any of `envelopes`, within `region` and equal to
    `filters` (geo.filters: `{"event_id": 3}`) when given."""
    qs = filter_features(features_of(readable_row(readable)), filters)
    if envelopes:
        qs = qs.filter(reduce(operator.or_, (Q(_InBox(env)) for env in envelopes)))
    if region is not None:
        qs = qs.filter(geom__within=region)
    return qs


class _InBox(Expression):
    """The feature intersects the envelope (an axis-aligned lon/lat box, edges included).

    ST_Intersects tests every candidate exactly, which on a 10,000-feature bbox cost more than
    the rest of the statement: for a point, the box test is two comparisons of its coordinates.
    `&&` alone is not enough: the GiST index and `&&` compare single-precision boxes, which reach
    slightly past the envelope's edges. Other geometries keep ST_Intersects.
    """

    conditional = True
    output_field = BooleanField()

    def __init__(self, envelope: Polygon):
        super().__init__()
        self.extent = envelope.extent  # (minlon, minlat, maxlon, maxlat)

    def as_sql(self, compiler, connection):
        geom = compiler.quote_name_unless_alias(compiler.query.get_initial_alias()) + '."geom"'
        box = "ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
        sql = (
            f"({geom} && {box} AND CASE WHEN ST_GeometryType({geom}) = 'ST_Point'"
            f" THEN ST_X({geom}) BETWEEN %s AND %s AND ST_Y({geom}) BETWEEN %s AND %s ELSE ST_Intersects({geom}, {box}) END)"
        )
        minlon, minlat, maxlon, maxlat = self.extent
        return sql, [*self.extent, minlon, maxlon, minlat, maxlat, *self.extent]


def _with_properties(features: QuerySet, properties: list[str] | None) -> QuerySet:
    """idx, g (the geometry) and `props`: all the properties, or a jsonb of only the named ones (bound parameters)."""
    if properties is None:
        props = F("properties")
    else:
        # JSONB_BUILD_OBJECT(%s::text, properties -> %s, ...): names travel as bound parameters.
        props = JSONObject(**{name: KeyTransform(name, "properties") for name in properties})
    # A plain Field keeps the geometry a geometry: GeometryField would select it cast to bytea.
    geom = Func(F("geom"), template="%(expressions)s", output_field=Field())
    return features.annotate(g=geom, props=props).values("idx", "g", "props")


def feature_collection_chunks(
    readable: ReadableArtifact,
    *,
    envelopes: list[Polygon] | None = None,
    region: GEOSGeometry | None = None,
    properties: list[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
    trailer: Callable[[int, bool], dict] | None = None,
    filters: dict | None = None,
) -> Iterator[bytes]:
    """A GeoJSON FeatureCollection of the artifact's features (those intersecting any of
    `envelopes` and within `region`, when given), in file order, as a stream of byte chunks.

    `limit`/`offset` page through the features in file order. With a spatial filter the page is
    cut from the filtered rows fenced in a MATERIALIZED CTE, because `ORDER BY idx LIMIT n` over
    a bbox makes the planner walk the primary key instead of the GiST index (PERF-NOTES.md).
    `trailer(returned, more)` adds members after "features" (numberReturned, links, ...): written
    last, they may depend on what was streamed.

    Should the artifact be deleted after the caller looked it up and before the rows are read,
    its partition may be gone, and the stream breaks (raises NotFound) instead of ending as a
    complete, empty collection.
    """
    artifact = readable_row(readable)
    features = _features(readable, envelopes=envelopes, region=region, filters=filters)
    rows = _with_properties(features, properties)
    if limit is None and offset == 0:
        # The rows sorted in a fenced subquery (OFFSET 0), each text made above it: PostgreSQL then
        # makes a feature's text as its row is fetched, not every text before the sort, so the
        # web worker sends one chunk while PostgreSQL makes the next (a 10,000-feature bbox:
        # 40 -> 35 ms with FETCH_ROWS below, measured through HTTP).
        sorted_rows, params = rows.order_by("idx").query.sql_with_params()
        sql = f"SELECT {_FEATURE_TEXT} FROM ({sorted_rows} OFFSET 0) AS t ORDER BY t.idx"
        params = list(params)
    else:
        base, params = rows.query.sql_with_params()
        params = list(params)
        # One row past the page tells whether there is a next page, without counting.
        page = " LIMIT %s OFFSET %s" if limit is not None else " OFFSET %s"
        page_params = [limit + 1, offset] if limit is not None else [offset]
        # An equality filter too: one event's rows come from its index, not from a walk of the primary key.
        if envelopes or region is not None or filters:
            sql = f"WITH t AS MATERIALIZED ({base}) SELECT {_FEATURE_TEXT} FROM t ORDER BY t.idx{page}"
        else:
            sql = f"SELECT {_FEATURE_TEXT} FROM ({base}) AS t ORDER BY t.idx{page}"
        params += page_params
    return stream_collection(sql, params, artifacts=(artifact,), limit=limit, trailer=trailer)


def stream_collection(sql: str, params: list, *, artifacts: tuple, limit: int | None, trailer) -> Iterator[bytes]:
    """A FeatureCollection of the feature texts `sql` yields (one column), streamed from a server-side
    cursor, cut at `limit` (the statement asks one row more), `trailer(returned, more)` last.
    Every artifact the rows come from (`artifacts`, icebox Artifacts) is checked to be still there
    once the statement holds it."""
    yield b'{"type":"FeatureCollection","features":['
    returned = 0
    more = False
    with transaction.atomic():
        for batch in text_batches(sql, params, artifacts=artifacts):
            if limit is not None and returned + len(batch) > limit:
                batch = batch[: limit - returned]
                more = True
            if batch:
                yield comma_joined(batch, first=not returned)
                returned += len(batch)
            if more:
                break
    end = "]"
    if trailer is not None:
        for key, value in trailer(returned, more).items():
            end += "," + json.dumps(key) + ":" + json.dumps(value, separators=(",", ":"))
    yield (end + "}").encode()


def comma_joined(batch: list[bytes], *, first: bool) -> bytes:
    """A batch of a JSON array's members as one chunk: joined by commas, with the comma that
    follows the previous batch in front unless it is the `first`. Joined once: a comma added in
    front of the joined batch copied it again (2.6 MB per 10,000-feature bbox)."""
    return b",".join(batch if first else [b"", *batch])


_cursor_numbers = itertools.count()


def text_batches(sql: str, params: list, *, artifacts: tuple, checked: bool = True) -> Iterator[list[bytes]]:
    """The first column (text) of `sql`'s rows, FETCH_ROWS at a time, as the UTF-8 bytes PostgreSQL
    sent, from a cursor declared in the caller's transaction (which must be open: transaction.atomic()).
    `artifacts` (icebox Artifacts) are those whose rows `sql` reads.

    One round trip sends the planner settings (a cursor read to its end, and planner_for the
    artifacts), declares the cursor and, when `checked`, checks that every one of `artifacts` is
    still there (check_still_there's reasoning: the check runs once the declared statement holds
    their rows); then one FETCH a batch, none after a short batch, and the transaction's end
    closes the cursor. (With Django's server-side cursor
    the settings, the DECLARE, the check and CLOSE were a round trip each, and the stream ended
    on an empty FETCH.)

    Rows are never decoded into str to be encoded back for the response: for a 10,000-feature
    subset (2.6 MB) that was half of the web worker's CPU for the rows (8.8 ms -> 4.7 ms, measured).
    """
    name = f"icebox_stream_{next(_cursor_numbers)}"
    with connection.cursor() as cursor:
        psycopg2.extensions.register_type(psycopg2.extensions.BYTES, cursor.cursor)
        declare = f"{_CURSOR_PLANNER}{planner_for(*artifacts)}DECLARE {name} NO SCROLL CURSOR WITHOUT HOLD FOR {sql}"
        if checked and artifacts:
            ids = [artifact.pk for artifact in artifacts]
            cursor.execute(f"{declare}; {_still_there_sql()}", [*params, ids])
            _refuse_gone(ids, cursor.fetchone()[0])
        else:
            cursor.execute(declare, params)
        fetch = f"FETCH FORWARD {FETCH_ROWS} FROM {name}"
        while True:
            cursor.execute(fetch)
            batch = cursor.fetchall()
            if batch:
                yield [row[0] for row in batch]
            if len(batch) < FETCH_ROWS:
                return


def check_still_there(artifact_id: int) -> None:
    """Run after the feature query is declared, which holds the artifact's partition from then on.

    A delete drops a partition of its own only after its own commit, and deletes rows of the
    shared one in that commit; so if the artifact is still there now, its rows were there in
    the snapshot the query was declared with, and the query reads every one of them.
    """
    with connection.cursor() as cursor:
        cursor.execute(_still_there_sql(), [[artifact_id]])
        _refuse_gone([artifact_id], cursor.fetchone()[0])


def _still_there_sql() -> str:
    """Which of the artifacts (their ids, one bound array) are still there: check_still_there's
    statement, and the one text_batches sends after its DECLARE."""
    return f"SELECT array_agg(id) FROM {_artifact_table()} WHERE id = ANY(%s)"


def _refuse_gone(ids: list[int], present: list[int] | None) -> None:
    """NotFound for the first of `ids` that is not `present` (what _still_there_sql found)."""
    found = set(present or ())
    gone = [artifact_id for artifact_id in ids if artifact_id not in found]
    if gone:
        raise NotFound(f"artifact {gone[0]} was deleted as its features were about to be read")


def feature_text(readable: ReadableArtifact, idx: int, *, properties: list[str] | None = None) -> str | None:
    """The GeoJSON text of the artifact's feature `idx` (one Feature), or None."""
    base, params = _with_properties(_features(readable).filter(idx=idx), properties).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_FEATURE_TEXT} FROM ({base}) AS t ORDER BY t.idx LIMIT 1", params)
        row = cursor.fetchone()
    return row[0] if row else None


def vector_tile(
    readable: ReadableArtifact, *, z: int, x: int, y: int, layer: str, properties: list[str] | None = None, thin_by: str | None = None,
    filters: dict | None = None,
) -> bytes:
    """One Mapbox vector tile of the artifact's features in tile z/x/y: one ST_AsMVT statement.

    Fixed SQL text (`_tile_sql`) with integer SRIDs. Every property
    becomes an attribute (ST_AsMVT expands a jsonb column) and the feature id is the row index;
    features in idx order, so that the same tile is the same bytes whichever way it was thinned.
    Thinned (geo.thinning): of the features in one cell, only the one with the largest `thin_by`
    value is kept (ties and no value: the lowest idx; no `thin_by`: the lowest idx), so a
    tile's size is bounded by its cells, not by the map. Up to the artifact's overview zoom the
    winners were chosen after the import (geo.overview); finer, or filtered, they are chosen here; from
    the artifact's sparse zoom on no two of its sites share a cell, and the tile is not thinned.
    Empty bytes: no feature in the tile. NotFound: the artifact was deleted after the caller
    looked it up (its partition may be gone already, which would look like an empty tile); the
    statement checks that itself, from a snapshot taken once it holds the partition.
    `filters` (geo.filters, `{"event_id": 3}`) pick the features before the cells are thinned.
    """
    artifact = readable_row(readable)
    artifact_id, part = artifact.pk, artifact.feature_part
    names = properties or []
    equal = list((filters or {}).items())
    # Lines and polygons (a source model's faults and areas) are not thinned: a cell is a point's.
    points = kinds.kind_named(readable.artifact.artifact_type).GEOMETRY == "point"
    overview = artifact.tile_overview_zoom
    position = (
        overview_position(artifact.metadata.get("columns", []), thin_by) if points and not equal and overview is not None and z <= overview else None
    )
    sparse = artifact.tile_sparse_zoom
    props = [value for name in names for value in (name, name)]
    # Only the per-request thinning ranks by the column (the overview's winners are chosen already).
    thinned = False
    if position is not None:
        source = "overview"
        rows = [*props, position, artifact_id, z, *tile_cells(x, y), part, artifact_id]
    else:
        source = ("sparse" if sparse is not None and z >= sparse else "points") if points else "shapes"
        thinned = source == "points" and thin_by is not None
        minlon, minlat, maxlon, maxlat = tile_search_box(z, x, y)
        rows = [
            *props, *([z, z] if points else []), *([thin_by] if thinned else []), part, artifact_id,
            minlon, minlat, maxlon, maxlat, *[value for name, wanted in equal for value in (name, json.dumps(wanted))],
            *(tile_cells(x, y) if points else []),
        ]
    params = [layer, MVT_EXTENT, artifact_id, z, x, y, MVT_EXTENT, MVT_BUFFER, *rows]
    sql = _tile_sql(source=source, thinned=thinned, properties=len(properties) if properties is not None else None, filters=len(equal))
    # No transaction.atomic(): in autocommit, PostgreSQL runs the statements of one query string
    # as one implicit transaction, so SET LOCAL holds for the SELECT and no more, without the two
    # round trips of BEGIN and COMMIT (a z12 tile takes well under a millisecond in SQL).
    with connection.cursor() as cursor:
        cursor.execute(planner_for(artifact) + sql, params)
        data, still_there = cursor.fetchone()
    if not still_there:
        raise NotFound(f"artifact {artifact_id} not found")
    return bytes(data) if data is not None else b""


@cache
def _tile_sql(*, source: str, thinned: bool, properties: int | None, filters: int = 0) -> str:
    """The tile statement's text, written once per shape (where the kept features come from,
    thinned by a column or not; every property, or so many named ones): compiling querysets for
    it on every request cost more than a small tile's SQL. The artifact, tile, names and values
    are bound parameters, in the order vector_tile lists them."""
    quote = connection.ops.quote_name
    features = quote(Feature._meta.db_table)
    if properties is None:
        props = 'f."properties"'
    else:
        # Names travel as bound parameters: JSONB_BUILD_OBJECT(%s::text, properties -> %s, ...).
        props = "jsonb_build_object(" + ", ".join(['%s::text, f."properties" -> %s'] * properties) + ")"
    columns = f'f."idx" AS idx, f."geom" AS g, {props} AS props'
    in_box = (
        # The partition key first, a literal by the time PostgreSQL plans (geo.models.features_of);
        # the tile and its buffer in lon/lat, so that the GiST index answers `&&`.
        ' WHERE f."part" = %s AND f."artifact_id" = %s AND f."geom" && ST_MakeEnvelope(%s, %s, %s, %s, 4326)'
        # The expression each filterable column is indexed by (geo.filters.index_statements).
        + ' AND (f."properties" -> %s) = %s::jsonb' * filters
    )
    if source == "overview":
        # The cells' winners, chosen after the import, then each one's row by primary key.
        rows = (
            f'SELECT {columns} FROM (SELECT o."winners"[%s] AS idx FROM {quote(TileOverview._meta.db_table)} o'
            ' WHERE o."artifact_id" = %s AND o."z" = %s AND o."cx" BETWEEN %s AND %s AND o."cy" BETWEEN %s AND %s) AS s'
            f' JOIN {features} f ON f."part" = %s AND f."artifact_id" = %s AND f."idx" = s.idx'
        )
    elif source in ("points", "sparse"):
        # The sites whose cell is in the tile's range. OFFSET 0 keeps the cell range test above
        # the scan, where the cells are computed once, not again in the scan's filter.
        cx, cy = cell_sql('ST_X(f."geom")', 'ST_Y(f."geom")', "%s")
        thin_key = ", (f.\"properties\" ->> %s)::double precision AS thin_key" if thinned else ""
        in_cells = (
            f"(SELECT {columns}, {cx} AS cx, {cy} AS cy{thin_key} FROM {features} f{in_box} OFFSET 0) AS c"
            " WHERE c.cx BETWEEN %s AND %s AND c.cy BETWEEN %s AND %s"
        )
        if source == "points":
            # Past the overview's zooms a cell holds a site or two on average: the rows are thinned
            # as they are read, their properties carried along, rather than read again by primary
            # key (a z8 tile of a 1M-site map: 20 ms instead of 75).
            rank = "c.thin_key DESC NULLS LAST, c.idx" if thinned else "c.idx"
            rows = f"SELECT DISTINCT ON (c.cx, c.cy) c.idx, c.g, c.props FROM {in_cells} ORDER BY c.cx, c.cy, {rank}"
        else:
            # No two sites share a cell at this zoom: thinning would keep every one. The cell range
            # still decides which sites count, as it does for a thinned tile (the same bytes).
            rows = f"SELECT c.idx, c.g, c.props FROM {in_cells}"
    else:
        # Lines and polygons: every one in the box is drawn.
        rows = f"SELECT {columns} FROM {features} f{in_box}"
    # ST_AsMVT skips a row whose geometry ST_AsMVTGeom clipped away (NULL), keys and all; a
    # `WHERE q.geom IS NOT NULL` here made PostgreSQL compute ST_AsMVTGeom twice a row (in the
    # filter, then in the output): a quarter of a z8 tile's time on a 100k-site map.
    return (
        _TILE_PLANNER + f"SELECT ST_AsMVT(q, %s, %s, 'geom', 'idx' ORDER BY q.idx), EXISTS (SELECT 1 FROM {_artifact_table()} WHERE id = %s) FROM ("
        "SELECT t.idx, ST_AsMVTGeom(ST_Transform(t.g, 3857), ST_TileEnvelope(%s, %s, %s), %s, %s, true) AS geom, t.props"
        f" FROM ({rows}) AS t) AS q"
    )


def _artifact_table() -> str:
    return connection.ops.quote_name(Feature._meta.get_field("artifact").related_model._meta.db_table)
