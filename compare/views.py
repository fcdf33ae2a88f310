"""Compare two artifacts: GeoJSON of every site, a summary, vector tiles."""

from __future__ import annotations

import hashlib

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from compare.params import DEFAULT_TOLERANCE_KM, MAX_TOLERANCE_KM, parse_tolerance_km, required
from compare.selectors import Pair, comparison_chunks, comparison_pair, comparison_summary, comparison_tile, data_columns
from compare.serializers import ComparisonSummarySerializer
from core.exceptions import NotFound
from geo.params import parse_properties
from geo.tiles import tile_bounds
from geo.views import MVT, AnyAccept
from icebox import selectors
from icebox.http_cache import artifact_etag, cached

GEOJSON = "application/geo+json"

_ARTIFACT = {"type": "integer", "format": "int64", "minimum": 1}
_PAIR_PARAMETERS = [
    OpenApiParameter("a", _ARTIFACT, required=True, description="the first artifact (the difference is b − a)"),
    OpenApiParameter("b", _ARTIFACT, required=True, description="the second artifact, of a's kind and data columns"),
    OpenApiParameter(
        "tolerance_km", {"type": "number", "minimum": 0, "maximum": MAX_TOLERANCE_KM},
        description=f"sites without custom_site_id match when each is the other's nearest within this distance (default {DEFAULT_TOLERANCE_KM})",
    ),
    OpenApiParameter("properties", str, description="comma-separated data columns to compare (default: all)"),
]


def _pair(request) -> Pair:
    params = request.query_params
    # Both looked up as the user may read them: another user's artifact is a 404, like a missing one.
    a = selectors.readable_artifact(user=request.user, artifact_id=required(params, "a"))
    b = selectors.readable_artifact(user=request.user, artifact_id=required(params, "b"))
    tolerance_km = parse_tolerance_km(params.get("tolerance_km"))
    columns = parse_properties(params["properties"], columns=data_columns(a.artifact)) if "properties" in params else None
    return comparison_pair(a=a, b=b, tolerance_km=tolerance_km, columns=columns)


# Bump when the bytes served for the same pair and query change.
COMPARE_VERSION = "1"


def _etag(request, pair: Pair) -> str:
    """Both artifacts are immutable: a's ETag for this path and query (which names b), with b's sha256."""
    key = "\n".join([COMPARE_VERSION, artifact_etag(request, pair.a), pair.b.sha256])
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def _cached(request, pair: Pair, answer):
    """A 304 when the client has this answer already (no comparison runs), else `answer()` with the cache headers."""
    return cached(request, _etag(request, pair), answer)


class CompareView(APIView):
    @extend_schema(operation_id="compare_geojson", parameters=_PAIR_PARAMETERS, responses={(200, GEOJSON): OpenApiTypes.OBJECT})
    def get(self, request):
        pair = _pair(request)
        return _cached(request, pair, lambda: StreamingHttpResponse(comparison_chunks(pair), content_type=GEOJSON))


class CompareSummaryView(APIView):
    @extend_schema(operation_id="compare_summary", parameters=_PAIR_PARAMETERS, responses={200: ComparisonSummarySerializer})
    def get(self, request):
        pair = _pair(request)
        return _cached(request, pair, lambda: Response(comparison_summary(pair)))


class CompareTileView(APIView):
    content_negotiation_class = AnyAccept

    @extend_schema(
        operation_id="compare_tile",
        parameters=_PAIR_PARAMETERS,
        responses={(200, MVT): OpenApiTypes.BINARY, 204: OpenApiResponse(description="no site in this tile")},
    )
    def get(self, request, z: int, x: int, y: int):
        pair = _pair(request)
        try:
            tile_bounds(z, x, y)
        except ValueError as exc:
            raise NotFound(str(exc)) from None

        def answer():
            data = comparison_tile(pair, z=z, x=x, y=y, layer="compare")
            return HttpResponse(data, content_type=MVT) if data else HttpResponse(status=204)

        return _cached(request, pair, answer)
