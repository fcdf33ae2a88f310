"""An artifact's rows as JSON (`/artifact/<id>/rows`), and a table joined to its calculation's assets.

Thin: parse the query, call geo.tables, answer. The equality filters are geo.filters'.
"""

from __future__ import annotations

import json

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.views import APIView

from core.exceptions import InvalidParameter
from core.integers import INTEGER_MAX, parse_int
from geo.filters import artifact_filterable, parse_filters
from geo.tables import EXPOSURE_KIND, check_joins_assets, joined_feature_chunks, table_rows
from icebox import selectors
from icebox.http_cache import artifact_read
from icebox.links import with_query

DEFAULT_ROWS = 1000
MAX_ROWS = 10000

FILTER_PARAMETER = OpenApiParameter(
    "filters",
    {"type": "object", "additionalProperties": {"type": "string"}},
    style="form",
    explode=True,
    description=(
        "equality filters, one query parameter per column: `?event_id=3&loss_type=structural`. The columns "
        "are those the artifact's kind declares filterable that its file has (`filterable` in /artifact/<id>/rows, "
        "the kinds table in the README); a value is read as the column's type (an integer column takes ASCII "
        "digits). An unknown column or a value of the wrong type is a 400."
    ),
)
JOIN_PARAMETERS = [
    OpenApiParameter(
        "join", str, enum=["assets"],
        description="assets: a table keyed by asset_id as GeoJSON features at its assets' points (the exposure of its calculation)",
    ),
    OpenApiParameter(
        "assets", {"type": "integer", "format": "int64", "minimum": 1},
        description="with join=assets: the exposure artifact to join (default: the only exposure of the artifact's calculation)",
    ),
]
_ROWS_ACCEPTS = ("limit", "offset")

_RowsSerializer = inline_serializer(
    "ArtifactRows",
    {
        "artifact": serializers.IntegerField(),
        "columns": inline_serializer("RowsColumn", {"name": serializers.CharField(), "dtype": serializers.ChoiceField(["int", "float", "text", "bool"])}, many=True),
        "filterable": serializers.ListField(child=serializers.CharField(), help_text="the columns this artifact filters on"),
        "filters": serializers.DictField(help_text="the filters applied, with their typed values"),
        "limit": serializers.IntegerField(),
        "offset": serializers.IntegerField(),
        "count": serializers.IntegerField(allow_null=True, help_text="rows matching in all; null when counting them would be a scan (a filtered page before the last)"),
        "next": serializers.URLField(allow_null=True),
        "rows": serializers.ListField(child=serializers.DictField(), help_text="one object per row, every column under its header name with the file's value"),
    },
)


class ArtifactRowsView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": MAX_ROWS}, description=f"rows per page (default {DEFAULT_ROWS})"),
            OpenApiParameter("offset", {"type": "integer", "minimum": 0, "maximum": INTEGER_MAX}, description="skip this many (matching) rows"),
            FILTER_PARAMETER,
        ],
        responses={200: _RowsSerializer},
    )
    def get(self, request, artifact_id: int):
        params = request.query_params
        limit = parse_int(params.get("limit", str(DEFAULT_ROWS)), name="limit", minimum=1, maximum=MAX_ROWS)
        offset = parse_int(params.get("offset", "0"), name="offset", maximum=INTEGER_MAX)

        def answer(readable):
            artifact = readable.artifact
            filterable = artifact_filterable(artifact)
            filters = parse_filters(params, filterable=filterable, accepted=_ROWS_ACCEPTS)
            rows, more = table_rows(readable, filters=filters, limit=limit, offset=offset)
            if not filters:
                count = artifact.feature_count
            elif not more and (rows or not offset):
                count = offset + len(rows)  # the last page: everything before it and what it holds
            else:
                count = None
            head = {
                "artifact": artifact.pk,
                "columns": [{"name": c["name"], "dtype": c.get("dtype") or ("text" if c.get("is_text") else "float")} for c in artifact.metadata.get("columns", [])],
                "filterable": list(filterable),
                "filters": filters,
                "limit": limit,
                "offset": offset,
                "count": count,
                "next": with_query(request, offset=offset + limit) if more else None,
            }
            # The rows' JSON is PostgreSQL's text of the stored values: joined, never re-parsed.
            body = json.dumps(head, separators=(",", ":"))[:-1] + ',"rows":[' + ",".join(rows) + "]}"
            return HttpResponse(body, content_type="application/json")

        return artifact_read(request, artifact_id, answer)


def joined_assets_chunks(request, readable, *, spatial: dict, filters: dict, properties, limit, offset, trailer):
    """GeoJSON chunks of the rows of `readable` at their assets' points; every check done before the first chunk."""
    params = request.query_params
    if params.get("join", "assets") != "assets":
        raise InvalidParameter(f"join must be assets, got {params['join']!r}")
    if "assets" in params and "join" not in params:
        raise InvalidParameter("assets=<id> names the exposure of join=assets: give join=assets too")
    if spatial:
        raise InvalidParameter("bbox, tile and region do not combine with join=assets: filter the rows by their columns")
    exposure = selectors.exposure_for(user=request.user, table=readable, exposure_id=params.get("assets"), kind=EXPOSURE_KIND)
    check_joins_assets(table=readable, exposure=exposure, filters=filters)
    return joined_feature_chunks(
        table=readable, exposure=exposure, filters=filters, properties=properties, limit=limit, offset=offset, trailer=trailer
    )
