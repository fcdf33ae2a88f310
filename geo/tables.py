"""Reads of an artifact's rows as a table, and of a table keyed by asset joined to the asset locations.

Rows are the artifact's features without their geometry: every column under its header name, with
the file's value (JSON as stored: ints stay ints). A page is one statement, in file order, filtered
by the equality filters of geo.filters (an index scan on a filterable column).

A table with an `asset_id` column (loss curves, risk by asset...) joins the exposure artifact of
its calculation (kind "exposure": one point per asset, the asset id in column `id`) into GeoJSON
features: the table's row as properties, the asset's point as geometry. Asset ids are compared as
text on both sides (`->>`), so an id the engine wrote as `101` joins whatever type either file's
column was read as; PostgreSQL hashes the exposure's ids once for the whole page.
"""

from __future__ import annotations

from typing import Callable, Iterator, Mapping

from django.db import connection, transaction
from django.db.models import QuerySet

from core.exceptions import InvalidParameter
from geo.filters import filter_features
from geo.models import READ_PLANNER, Feature, features_of, planner_for
from geo.selectors import check_still_there, stream_collection
from icebox.selectors import ReadableArtifact, readable_row

ASSET_ID = "asset_id"  # the column of a table that names an asset
EXPOSURE_ID = "id"  # the exposure's column holding the asset's id
EXPOSURE_KIND = "exposure"
FETCH_ROWS = 5000
# Unjoined asset ids named in the error: enough to recognise what is wrong, not a dump.
_SHOWN_UNJOINED = 5


def table_rows(readable: ReadableArtifact, *, filters: Mapping[str, object] | None, limit: int, offset: int) -> tuple[list[str], bool]:
    """One page of the artifact's rows, in file order: (row JSON texts, whether more rows follow)."""
    artifact = readable_row(readable)
    rows = filter_features(features_of(artifact), filters)
    base, params = rows.values("idx", "properties").query.sql_with_params()
    # One row past the page tells whether there is a next page, without counting.
    sql = f"SELECT t.properties::text FROM ({base}) AS t ORDER BY t.idx LIMIT %s OFFSET %s"
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(READ_PLANNER + planner_for(artifact) + "SELECT 1")
            cursor.execute(sql, [*params, limit + 1, offset])
            texts = [row[0] for row in cursor.fetchall()]
            check_still_there(artifact.pk)
    return texts[:limit], len(texts) > limit


def check_joins_assets(*, table: ReadableArtifact, exposure: ReadableArtifact, filters: Mapping[str, object] | None) -> None:
    """InvalidParameter unless every (filtered) row's asset id is an asset of `exposure`."""
    table, exposure = readable_row(table), readable_row(exposure)
    columns = [column["name"] for column in table.metadata.get("columns", [])]
    if ASSET_ID not in columns:
        raise InvalidParameter(
            f"artifact {table.pk} ({table.file_name}) has no {ASSET_ID} column: only tables keyed by asset join to the assets"
        )
    rows, params = _filtered(table, filters).values("properties").query.sql_with_params()
    sql = (
        READ_PLANNER + f"SELECT DISTINCT t.properties ->> %s FROM ({rows}) AS t WHERE NOT EXISTS ("
        f"SELECT 1 FROM {_feature_table()} a WHERE a.part = %s AND a.artifact_id = %s AND (a.properties ->> %s) = (t.properties ->> %s))"
        " ORDER BY 1 LIMIT %s"
    )
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(planner_for(table, exposure) + sql, [ASSET_ID, *params, exposure.feature_part, exposure.pk, EXPOSURE_ID, ASSET_ID, _SHOWN_UNJOINED + 1])
            unjoined = [row[0] for row in cursor.fetchall()]
    if unjoined:
        shown = ", ".join("null" if value is None else repr(value) for value in unjoined[:_SHOWN_UNJOINED])
        more = " and more" if len(unjoined) > _SHOWN_UNJOINED else ""
        raise InvalidParameter(
            f"artifact {table.pk} ({table.file_name}) does not join the assets of artifact {exposure.pk} ({exposure.file_name}): "
            f"asset_id {shown}{more} not among its asset ids"
        )


def joined_feature_chunks(
    *,
    table: ReadableArtifact,
    exposure: ReadableArtifact,
    filters: Mapping[str, object] | None,
    properties: list[str] | None,
    limit: int | None,
    offset: int,
    trailer: Callable[[int, bool], dict] | None = None,
) -> Iterator[bytes]:
    """GeoJSON of the table's rows, each at its asset's point, in file order (`id` = the table's row index)."""
    table, exposure = readable_row(table), readable_row(exposure)
    rows, params = _filtered(table, filters).values("idx", "properties").query.sql_with_params()
    if properties is None:
        props, props_params = "t.properties", []
    else:
        pairs = ", ".join(["%s::text, t.properties -> %s"] * len(properties))
        props, props_params = f"jsonb_build_object({pairs})", [value for name in properties for value in (name, name)]
    page, page_params = "", []
    if limit is not None:
        page, page_params = " LIMIT %s OFFSET %s", [limit + 1, offset]
    elif offset:
        page, page_params = " OFFSET %s", [offset]
    sql = (
        "SELECT '{\"type\":\"Feature\",\"id\":' || t.idx || ',\"geometry\":' || ST_AsGeoJSON(a.geom, 9)"
        f" || ',\"properties\":' || ({props})::text || '}}'"
        f" FROM ({rows}) AS t JOIN {_feature_table()} a ON a.part = %s AND a.artifact_id = %s AND (a.properties ->> %s) = (t.properties ->> %s)"
        f" ORDER BY t.idx{page}"
    )
    all_params = [*props_params, *params, exposure.feature_part, exposure.pk, EXPOSURE_ID, ASSET_ID, *page_params]
    return stream_collection(sql, all_params, artifacts=(table, exposure), limit=limit, trailer=trailer)


def _filtered(table, filters) -> QuerySet:
    return filter_features(features_of(table), filters)


def _feature_table() -> str:
    return connection.ops.quote_name(Feature._meta.db_table)
