"""Two artifacts compared site by site: both values, difference (b − a) and ratio (b / a), per data column.

What the engine's `oq compare hmaps` prints, as a map. PostgreSQL does the matching and the
arithmetic: the ORM builds each side's rows (one artifact's partition of `geo_feature`, with its
GiST index); SQL only joins them where the ORM cannot (a LATERAL nearest-neighbour lookup, the
anti-joins that find the sites in one only). Column names and values are bound parameters; the
only identifiers are fixed aliases.

Sites are matched by `custom_site_id` when both artifacts have one, else by coordinates: a site of
a and a site of b match when each is the other's nearest site within the tolerance (distance on the
sphere). Mutual nearest neighbours make the matching one-to-one and local: whether a site matches
depends only on the sites within twice the tolerance, so a tile computes it from the sites near the
tile and agrees with the whole map.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

from django.contrib.gis.geos import Polygon
from django.db import connection, transaction
from django.db.models import F, Field, Func, QuerySet

import kinds
from core.exceptions import NotComparable
from geo.models import READ_PLANNER, features_of, planner_for
from geo.selectors import comma_joined, text_batches
from geo.thinning import MVT_BUFFER, MVT_EXTENT, cell_sql, tile_cells, tile_search_box
from icebox.models import Artifact
from icebox.selectors import ReadableArtifact, readable_row

# The quantities that are results (compared); custom_site_id and depth describe the site.
_DATA_QUANTITIES = ("poe", "iml")

# Degrees of latitude per metre on PostGIS's sphere (ST_Distance(..., false): radius 6371008.8 m),
# with a margin so that the bounding box never cuts a site the exact distance would keep.
_DEGREES_PER_METRE = 180.0 / (math.pi * 6371008.8) * 1.001


MATCH_BOTH, ONLY_A, ONLY_B = "both", "only_a", "only_b"


@dataclass(frozen=True)
class Pair:
    """Two artifacts checked to be comparable, and how their sites are matched."""

    a: Artifact
    b: Artifact
    columns: list[str]  # the data columns compared, in a's file order
    by_site_id: bool  # matched by custom_site_id (else by coordinates)
    tolerance_m: float


def data_columns(artifact: Artifact) -> list[str]:
    return [c["name"] for c in artifact.metadata.get("columns", []) if c.get("quantity") in _DATA_QUANTITIES]


def _has_site_id(artifact: Artifact) -> bool:
    return any(c["name"] == "custom_site_id" for c in artifact.metadata.get("columns", []))


def comparison_pair(*, a: ReadableArtifact, b: ReadableArtifact, tolerance_km: float, columns: list[str] | None = None) -> Pair:
    """The pair if a and b can be compared; NotComparable saying how they differ otherwise.
    Both are artifacts the user may read (icebox.selectors.readable_artifact): the only way to a Pair."""
    a, b = readable_row(a), readable_row(b)
    if a.artifact_type != b.artifact_type:
        raise NotComparable(f"artifact {a.pk} is a {a.artifact_type} and artifact {b.pk} a {b.artifact_type}: compare two of one kind")
    if kinds.kind_named(a.artifact_type).GEOMETRY != "point":
        # Sites are matched point to point: a source model's lines and polygons are not sites.
        raise NotComparable(f"artifacts {a.pk} and {b.pk} are {kinds.title(a.artifact_type).lower()}s: only maps of sites are compared")
    if a.metadata.get("imt") != b.metadata.get("imt"):
        raise NotComparable(f"artifact {a.pk} is for {a.metadata.get('imt')} and artifact {b.pk} for {b.metadata.get('imt')}")
    a_columns, b_columns = data_columns(a), data_columns(b)
    if set(a_columns) != set(b_columns):
        only_a = [c for c in a_columns if c not in set(b_columns)]
        only_b = [c for c in b_columns if c not in set(a_columns)]
        parts = []
        if only_a:
            parts.append(f"only artifact {a.pk} has {', '.join(only_a)}")
        if only_b:
            parts.append(f"only artifact {b.pk} has {', '.join(only_b)}")
        raise NotComparable(f"the artifacts have different data columns: {'; '.join(parts)}")
    return Pair(
        a=a, b=b, columns=columns if columns is not None else a_columns,
        by_site_id=_has_site_id(a) and _has_site_id(b), tolerance_m=tolerance_km * 1000.0,
    )


def _side(artifact, envelope: Polygon | None) -> tuple[str, list]:
    """One side's rows (idx, g, props) as SQL, built by the ORM: planner-inlined, so lookups into it use its indexes."""
    qs: QuerySet = features_of(artifact)
    if envelope is not None:
        qs = qs.filter(geom__bboverlaps=envelope)
    # A plain Field keeps the geometry a geometry: GeometryField would select it cast to bytea.
    geom = Func(F("geom"), template="%(expressions)s", output_field=Field())
    sql, params = qs.annotate(g=geom, props=F("properties")).values("idx", "g", "props").query.sql_with_params()
    return sql, list(params)


def _nearest(outer: str, side: tuple[str, list], dlat: float, tolerance_m: float) -> tuple[str, list]:
    """LATERAL: the site of `side` nearest to `outer`.g within the tolerance, found through the GiST
    index with a lon/lat box (widened by latitude, a full ring near a pole) and ranked on the sphere."""
    sql, params = side
    box = (
        f"n.g && ST_Expand({outer}.g, CASE WHEN abs(ST_Y({outer}.g)) + %s >= 89.9 THEN 360"
        f" ELSE %s / cos(radians(abs(ST_Y({outer}.g)) + %s)) END, %s)"
    )
    distance = f"ST_Distance({outer}.g::geography, n.g::geography, false)"
    return (
        f"SELECT n.idx, n.g, n.props, {distance} AS d FROM ({sql}) AS n"
        f" WHERE {box} AND {distance} <= %s ORDER BY {distance}, n.idx LIMIT 1",
        [*params, dlat, dlat, dlat, dlat, tolerance_m],
    )


def _rows(pair: Pair, envelope: Polygon | None = None) -> tuple[str, list]:
    """SQL of the compared rows: a_idx, b_idx (either null for a site in one only), g (a's site, else b's),
    a_props, b_props, d (metres between the two sites). With `envelope`, the rows whose site is in it
    (and maybe a few just outside)."""
    if pair.by_site_id:
        return _rows_by_site_id(pair, envelope)
    dlat = pair.tolerance_m * _DEGREES_PER_METRE
    near = None
    if envelope is not None:
        # Matching depends on the sites within twice the tolerance: take those, keep the envelope's.
        near = _widened(envelope, 2 * dlat)
    a_near, b_near = _side(pair.a, near), _side(pair.b, near)
    ab_lookup, ab_params = _nearest("a", b_near, dlat, pair.tolerance_m)
    ba_lookup, ba_params = _nearest("b", a_near, dlat, pair.tolerance_m)
    sql = (
        f"WITH ab AS MATERIALIZED (SELECT a.idx AS a_idx, a.g, a.props AS a_props, n.idx AS b_idx, n.props AS b_props, n.d"
        f" FROM ({a_near[0]}) AS a LEFT JOIN LATERAL ({ab_lookup}) AS n ON true),"
        f" ba AS MATERIALIZED (SELECT b.idx AS b_idx, b.g, b.props AS b_props, n.idx AS a_idx"
        f" FROM ({b_near[0]}) AS b LEFT JOIN LATERAL ({ba_lookup}) AS n ON true)"
        # A site of a: matched when its nearest b has it as nearest a.
        " SELECT ab.a_idx, CASE WHEN m.b_idx IS NOT NULL THEN ab.b_idx END AS b_idx, ab.g, ab.a_props,"
        " CASE WHEN m.b_idx IS NOT NULL THEN ab.b_props END AS b_props, CASE WHEN m.b_idx IS NOT NULL THEN ab.d END AS d"
        " FROM ab LEFT JOIN ba AS m ON m.b_idx = ab.b_idx AND m.a_idx = ab.a_idx"
        " UNION ALL"
        # A site of b that no site of a matched.
        " SELECT NULL, ba.b_idx, ba.g, NULL, ba.b_props, NULL FROM ba"
        " WHERE NOT EXISTS (SELECT 1 FROM ab WHERE ab.a_idx = ba.a_idx AND ab.b_idx = ba.b_idx)"
    )
    return sql, [*a_near[1], *ab_params, *b_near[1], *ba_params]


def _rows_by_site_id(pair: Pair, envelope: Polygon | None) -> tuple[str, list]:
    """The files may repeat a custom_site_id (the parser does not forbid it): the n-th occurrence in
    a matches the n-th in b, so the matching stays one-to-one. The rank needs every row of both
    sides, so a tile reads both partitions whole and keeps its own sites afterwards."""
    a_all, b_all = _side(pair.a, None), _side(pair.b, None)
    ranked = (
        "SELECT s.idx, s.g, s.props, s.props->>'custom_site_id' AS k,"
        " row_number() OVER (PARTITION BY s.props->>'custom_site_id' ORDER BY s.idx) AS r FROM ({}) AS s"
    )
    inside, inside_params = "", []
    if envelope is not None:
        inside = " AND {}.g && ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
        inside_params = list(envelope.extent)
    sql = (
        f"WITH a AS MATERIALIZED ({ranked.format(a_all[0])}), b AS MATERIALIZED ({ranked.format(b_all[0])})"
        " SELECT a.idx AS a_idx, b.idx AS b_idx, a.g, a.props AS a_props, b.props AS b_props,"
        " CASE WHEN b.idx IS NOT NULL THEN ST_Distance(a.g::geography, b.g::geography, false) END AS d"
        " FROM a LEFT JOIN b ON b.k = a.k AND b.r = a.r WHERE true" + inside.format("a") +
        " UNION ALL"
        " SELECT NULL, b.idx, b.g, NULL, b.props, NULL FROM b"
        " WHERE NOT EXISTS (SELECT 1 FROM a WHERE a.k = b.k AND a.r = b.r)" + inside.format("b")
    )
    return sql, [*a_all[1], *b_all[1], *inside_params, *inside_params]


def _widened(envelope: Polygon, dlat: float) -> Polygon:
    minlon, minlat, maxlon, maxlat = envelope.extent
    pole = max(abs(minlat), abs(maxlat)) + dlat
    dlon = 360.0 if pole >= 89.9 else dlat / math.cos(math.radians(pole))
    box = Polygon.from_bbox((max(-180.0, minlon - dlon), max(-90.0, minlat - dlat), min(180.0, maxlon + dlon), min(90.0, maxlat + dlat)))
    box.srid = 4326
    return box


def _values(column_param: str = "%s") -> tuple[str, str, str, str]:
    """SQL of a column's a value, b value, difference and ratio (null where a is 0 or a side is missing)."""
    va, vb = f"(r.a_props->>{column_param})::float8", f"(r.b_props->>{column_param})::float8"
    return (
        f"r.a_props->{column_param}",
        f"r.b_props->{column_param}",
        f"{vb} - {va}",
        f"CASE WHEN {va} = 0 THEN NULL ELSE {vb} / {va} END",
    )


def _properties(pair: Pair) -> tuple[str, list]:
    """The jsonb of one compared site: match, a_idx, b_idx, distance_km, [custom_site_id], then per column
    `<column>:a`, `<column>:b`, `<column>:difference`, `<column>:ratio` (flat, so vector tiles carry them)."""
    head = (
        "jsonb_build_object('match', CASE WHEN r.a_idx IS NULL THEN %s WHEN r.b_idx IS NULL THEN %s ELSE %s END,"
        " 'a_idx', r.a_idx, 'b_idx', r.b_idx, 'distance_km', r.d / 1000.0"
        + (", 'custom_site_id', COALESCE(r.a_props, r.b_props)->'custom_site_id'" if pair.by_site_id else "")
        + ")"
    )
    parts, params = [head], [ONLY_B, ONLY_A, MATCH_BOTH]
    a_value, b_value, difference, ratio = _values()
    for column in pair.columns:
        # Eight arguments a call: jsonb_build_object takes at most 100, a hazard curve has dozens of columns.
        parts.append(
            f"jsonb_build_object(%s, {a_value}, %s, {b_value}, %s, to_jsonb({difference}), %s, to_jsonb({ratio}))"
        )
        # Bound in the order they appear: a key, then the column once per use in its value.
        params += [f"{column}:a", column, f"{column}:b", column, f"{column}:difference", column, column,
                   f"{column}:ratio", column, column, column]
    return " || ".join(parts), params


def comparison_chunks(pair: Pair) -> Iterator[bytes]:
    """The compared sites as a GeoJSON FeatureCollection, streamed from a server-side cursor:
    the matched and a's own sites in a's file order, then b's own in b's order."""
    rows, row_params = _rows(pair)
    props, prop_params = _properties(pair)
    sql = (
        "SELECT '{\"type\":\"Feature\",\"geometry\":' || ST_AsGeoJSON(r.g, 9) || ',\"properties\":' || "
        f"({props})::text || '}}' FROM ({rows}) AS r ORDER BY r.a_idx NULLS LAST, r.b_idx"
    )
    yield b'{"type":"FeatureCollection","features":['
    first = True
    with transaction.atomic():
        for batch in text_batches(sql, [*prop_params, *row_params], artifacts=(pair.a, pair.b), checked=False):
            yield comma_joined(batch, first=first)
            first = False
    yield b"]}"


def comparison_summary(pair: Pair) -> dict:
    """Counts of matched and one-sided sites; per column min, max and mean of difference and ratio over the matched."""
    rows, row_params = _rows(pair)
    _, _, difference, ratio = _values()
    aggregates = ["count(*) FILTER (WHERE r.a_idx IS NOT NULL AND r.b_idx IS NOT NULL)",
                  "count(*) FILTER (WHERE r.b_idx IS NULL)", "count(*) FILTER (WHERE r.a_idx IS NULL)",
                  "max(r.d) / 1000.0"]
    params: list = []
    for column in pair.columns:
        for expression, count in ((difference, 2), (ratio, 3)):
            for function in ("min", "max", "avg"):
                aggregates.append(f"{function}({expression})")
                params += [column] * count
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(READ_PLANNER + planner_for(pair.a, pair.b) + f"SELECT {', '.join(aggregates)} FROM ({rows}) AS r", [*params, *row_params])
        values = list(cursor.fetchone())
    matched, only_a, only_b, max_distance_km = values[:4]
    stats = {}
    for n, column in enumerate(pair.columns):
        d_min, d_max, d_mean, r_min, r_max, r_mean = values[4 + 6 * n: 10 + 6 * n]
        stats[column] = {
            "difference": {"min": d_min, "max": d_max, "mean": d_mean},
            "ratio": {"min": r_min, "max": r_max, "mean": r_mean},
        }
    return {
        "a": pair.a.pk,
        "b": pair.b.pk,
        "match_by": "custom_site_id" if pair.by_site_id else "coordinates",
        "tolerance_km": None if pair.by_site_id else pair.tolerance_m / 1000.0,
        "matched": matched,
        "only_a": only_a,
        "only_b": only_b,
        "max_distance_km": max_distance_km,
        "columns": stats,
    }


def comparison_tile(pair: Pair, *, z: int, x: int, y: int, layer: str) -> bytes:
    """One Mapbox vector tile of the compared sites in tile z/x/y: one ST_AsMVT statement (empty bytes: none).

    Thinned as artifact tiles are (geo.thinning): of the sites in one cell, the one kept has the
    largest absolute difference of the first compared column (a change is never hidden behind
    no change); ties, and sites in one artifact only (no difference): the lowest a_idx, then b_idx.
    """
    envelope = Polygon.from_bbox(tile_search_box(z, x, y))
    envelope.srid = 4326
    rows, row_params = _rows(pair, envelope)
    props, prop_params = _properties(pair)
    # No compared column (nothing but sites): the lowest a_idx, then b_idx.
    difference, thin_params = (_values()[2], [pair.columns[0]] * 2) if pair.columns else ("NULL::float8", [])
    # The cells of geo.thinning's grid over the world, those of this tile and its buffer only.
    cx, cy = cell_sql("ST_X(r.g)", "ST_Y(r.g)", "%s")
    sql = (
        READ_PLANNER + planner_for(pair.a, pair.b) + "SELECT ST_AsMVT(q, %s, %s, 'geom') FROM (SELECT DISTINCT ON (m.cx, m.cy) m.geom, m.props FROM ("
        f"SELECT ST_AsMVTGeom(ST_Transform(r.g, 3857), ST_TileEnvelope(%s, %s, %s), %s, %s, true) AS geom, {cx} AS cx, {cy} AS cy,"
        f" {props} AS props, abs({difference}) AS thin_key, r.a_idx, r.b_idx FROM ({rows}) AS r) AS m"
        " WHERE m.geom IS NOT NULL AND m.cx BETWEEN %s AND %s AND m.cy BETWEEN %s AND %s"
        " ORDER BY m.cx, m.cy, m.thin_key DESC NULLS LAST, m.a_idx NULLS LAST, m.b_idx) AS q"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [layer, MVT_EXTENT, z, x, y, MVT_EXTENT, MVT_BUFFER, z, z, *prop_params, *thin_params, *row_params, *tile_cells(x, y)])
        data = cursor.fetchone()[0]
    return bytes(data) if data is not None else b""
