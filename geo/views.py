"""Vector tiles of an artifact and the TileJSON document that lets MapLibre add them from one URL."""

from __future__ import annotations

import math
import re

from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

import kinds
from core.exceptions import NotFound
from geo import sites
from geo.filters import artifact_filterable, parse_filters
from geo.params import column_names, parse_properties, parse_site_query
from geo.selectors import MVT_EXTENT, vector_tile
from geo.site_schema import SITE_PARAMETERS, ArtifactSiteSerializer
from geo.table_views import FILTER_PARAMETER
from geo.thinning import THINNING_CELL, thinning_column, thinning_rule
from geo.tiles import MAX_ZOOM, tile_bounds
from icebox.http_cache import artifact_read
from icebox.links import with_query

MVT = "application/vnd.mapbox-vector-tile"

_PROPERTIES = OpenApiParameter("properties", str, description="comma-separated data columns to include (default: all)")


class AnyAccept(BaseContentNegotiation):
    """Tiles are one format: answer whatever the client's Accept says (MapLibre, GDAL, curl differ)."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def layer_name(artifact) -> str:
    """The MVT layer (MapLibre's `source-layer`): the artifact's name reduced to [A-Za-z0-9_]."""
    name = re.sub(r"[^A-Za-z0-9_]+", "_", artifact.name).strip("_")
    return name or f"artifact_{artifact.pk}"


def _equality_filters(request, artifact) -> dict:
    # Tiles and TileJSON take `properties` and the artifact's column filters; TileJSON hands the
    # filters on in its tile URL, so a map of one event is one TileJSON URL.
    return parse_filters(request.query_params, filterable=artifact_filterable(artifact), accepted=("properties",))


def _properties(request, artifact) -> list[str] | None:
    if "properties" not in request.query_params:
        return None
    return parse_properties(request.query_params["properties"], columns=column_names(artifact.metadata))


class ArtifactTileView(APIView):
    content_negotiation_class = AnyAccept

    @extend_schema(parameters=[_PROPERTIES, FILTER_PARAMETER], responses={(200, MVT): OpenApiTypes.BINARY, 204: OpenApiResponse(description="no feature in this tile")})
    def get(self, request, artifact_id: int, z: int, x: int, y: int):
        try:
            tile_bounds(z, x, y)
        except ValueError as exc:
            raise NotFound(str(exc)) from None

        def answer(readable):
            artifact = readable.artifact
            properties = _properties(request, artifact)
            filters = _equality_filters(request, artifact)
            data = vector_tile(
                readable, z=z, x=x, y=y, layer=layer_name(artifact), properties=properties,
                thin_by=thinning_column(artifact.metadata.get("columns", []), properties), filters=filters,
            )
            return HttpResponse(data, content_type=MVT) if data else HttpResponse(status=204)

        return artifact_read(request, artifact_id, answer)


class ArtifactTileJSONView(APIView):
    @extend_schema(parameters=[_PROPERTIES, FILTER_PARAMETER], responses={200: OpenApiTypes.OBJECT})
    def get(self, request, artifact_id: int):
        return artifact_read(request, artifact_id, lambda readable: Response(_tilejson_of(request, readable.artifact)))


def _tilejson_of(request, artifact) -> dict:
    filters = _equality_filters(request, artifact)
    document = tilejson(request, artifact, _properties(request, artifact))
    # Not TileJSON members: what the tiles may be filtered by, and what these tiles are filtered by
    # (the tile URL carries the same filters, so one event is one map source).
    document["vector_layers"][0]["filterable"] = artifact_filterable(artifact)
    document["vector_layers"][0]["filters"] = filters
    return document


_FIELD_TYPES = {True: "String", False: "Number"}


def tilejson(request, artifact, properties: list[str] | None) -> dict:
    """A TileJSON 3.0.0 document: absolute tile URL, bounds, zooms and the layer's fields."""
    minzoom, maxzoom = settings.ICEBOX_TILE_MINZOOM, settings.ICEBOX_TILE_MAXZOOM
    base = request.build_absolute_uri(reverse("artifact-tilejson", kwargs={"artifact_id": artifact.pk}))
    query = with_query(request).partition("?")[2]
    tiles = base.removesuffix("tiles.json") + "tiles/{z}/{x}/{y}.mvt" + ("?" + query if query else "")
    columns = artifact.metadata.get("columns", [])
    wanted = set(properties) if properties is not None else None
    fields = {c["name"]: _FIELD_TYPES[bool(c.get("is_text"))] for c in columns if wanted is None or c["name"] in wanted}
    bounds = list(artifact.bbox) if artifact.bbox else [-180.0, -85.0511, 180.0, 85.0511]
    return {
        "tilejson": "3.0.0",
        "name": artifact.name,
        "description": f"{artifact.get_artifact_type_display()} {artifact.file_name}: {artifact.feature_count} sites",
        "scheme": "xyz",
        "tiles": [tiles],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, _fit_zoom(bounds, minzoom, maxzoom)],
        "vector_layers": [
            {
                "id": layer_name(artifact),
                "description": artifact.name,
                "minzoom": minzoom,
                "maxzoom": maxzoom,
                "fields": fields,
                # Not a TileJSON member (clients ignore unknown ones): how dense tiles are thinned;
                # null for lines and polygons, which are never thinned (geo.selectors.vector_tile).
                "thinning": {
                    "cell": THINNING_CELL,
                    "extent": MVT_EXTENT,
                    "keep_max_of": thinning_column(columns, properties),
                    "rule": thinning_rule(thinning_column(columns, properties)),
                } if kinds.kind_named(artifact.artifact_type).GEOMETRY == "point" else None,
            }
        ],
    }


def _fit_zoom(bounds: list[float], minzoom: int, maxzoom: int) -> int:
    """About the zoom at which the bounds fill a 512-pixel view."""
    span = max(bounds[2] - bounds[0], bounds[3] - bounds[1], 1e-6)
    return max(minzoom, min(maxzoom, MAX_ZOOM, int(math.log2(360.0 / span))))


class ArtifactSiteView(APIView):
    @extend_schema(parameters=SITE_PARAMETERS, responses={200: ArtifactSiteSerializer})
    def get(self, request, artifact_id: int):
        query = parse_site_query(request.query_params)
        return artifact_read(request, artifact_id, lambda readable: Response(sites.artifact_site(readable, **query)))
