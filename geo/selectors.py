"""Reads of an artifact's features.

The ORM builds the filtered query; PostGIS renders each feature as GeoJSON text, and the rows
are streamed to the client from a server-side cursor, so that neither Python nor the server
process ever holds a whole map.
"""

from __future__ import annotations

import operator
from functools import reduce
from typing import Iterator

from django.contrib.gis.db.models.functions import AsGeoJSON
from django.contrib.gis.geos import GEOSGeometry, Polygon
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet

from geo.models import Feature

FETCH_ROWS = 2000


def artifact_features(
    *,
    artifact_id: int,
    envelopes: list[Polygon] | None = None,
    region: GEOSGeometry | None = None,
) -> QuerySet:
    """The artifact's features, intersecting any of `envelopes` and within `region` when given."""
    qs = Feature.objects.filter(artifact_id=artifact_id)
    if envelopes:
        qs = qs.filter(reduce(operator.or_, (Q(geom__intersects=env) for env in envelopes)))
    if region is not None:
        qs = qs.filter(geom__within=region)
    return qs


def feature_collection_chunks(features: QuerySet) -> Iterator[bytes]:
    """A GeoJSON FeatureCollection of `features`, in file order, as a stream of byte chunks."""
    rows = (
        features.annotate(fid=F("idx"), geometry=AsGeoJSON("geom", precision=9), props=F("properties"))
        .values("fid", "geometry", "props")
        .order_by("idx")
    )
    inner, params = rows.query.sql_with_params()
    sql = (
        "SELECT '{\"type\":\"Feature\",\"id\":' || t.fid || ',\"geometry\":' || t.geometry"
        " || ',\"properties\":' || t.props::text || '}' FROM (" + inner + ") AS t"
    )
    yield b'{"type":"FeatureCollection","features":['
    separator = ""
    with transaction.atomic():
        with connection.cursor() as cursor:
            # JIT compilation costs more than it saves on these short statements (PERF-NOTES.md).
            cursor.execute("SET LOCAL jit = off")
        with connection.chunked_cursor() as cursor:
            cursor.execute(sql, params)
            while batch := cursor.fetchmany(FETCH_ROWS):
                yield (separator + ",".join(row[0] for row in batch)).encode()
                separator = ","
    yield b"]}"
