"""OGC API - Features Part 1 (core, GeoJSON, OAS 3.0) over the user's artifacts.

Each view parses, calls a selector and answers. Items reuse the streaming GeoJSON of
/artifact/<id> (features rendered by PostGIS) and add the OGC members after the features.
Landing page, conformance and the API definition are public; everything else is the
authenticated user's own (another user's collection is 404, like a missing one).
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import renderers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import InvalidParameter, NotFound
from core.integers import INTEGER_MAX, parse_int
from geo.filters import artifact_filterable, parse_filters
from geo.params import column_names, parse_bbox, parse_properties
from geo.selectors import feature_collection_chunks, feature_text
from icebox import selectors
from icebox.http_cache import artifact_read
from icebox.links import with_query
from ogc import documents
from ogc.openapi import openapi


class JSONRenderer(renderers.JSONRenderer):
    media_type = documents.JSON


class GeoJSONRenderer(renderers.JSONRenderer):
    media_type = documents.GEOJSON
    format = "geojson"


class OpenAPIRenderer(renderers.JSONRenderer):
    # Without the version parameter: DRF would not match it against `*/*`. The response names it.
    media_type = "application/vnd.oai.openapi+json"
    format = "openapi"


ITEMS_PARAMETERS = {"f", "limit", "offset", "bbox", "bbox-crs", "datetime", "properties"}


def _check_format(request, allowed=("json",)) -> None:
    f = request.query_params.get("f")
    if f is not None and f not in allowed:
        raise InvalidParameter(f"f must be one of {', '.join(allowed)}: Icebox serves OGC API Features as JSON only, got {f!r}")


class OGCView(APIView):
    renderer_classes = [JSONRenderer, GeoJSONRenderer]

    def url(self, name: str, **kwargs) -> str:
        return self.request.build_absolute_uri(reverse(name, kwargs=kwargs or None))

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        _check_format(request)


@extend_schema(exclude=True)
class LandingView(OGCView):
    permission_classes = [AllowAny]

    def get(self, request):
        return Response(documents.landing(self.url))


@extend_schema(exclude=True)
class ConformanceView(OGCView):
    permission_classes = [AllowAny]

    def get(self, request):
        return Response(documents.conformance())


@extend_schema(exclude=True)
class OpenAPIView(OGCView):
    permission_classes = [AllowAny]
    renderer_classes = [OpenAPIRenderer, JSONRenderer]

    def get(self, request):
        doc = openapi(
            server_url=self.url("ogc-landing"),
            default_limit=settings.ICEBOX_OGC_DEFAULT_LIMIT,
            max_limit=settings.ICEBOX_OGC_MAX_LIMIT,
        )
        return Response(doc, content_type=documents.OPENAPI)


# Only what a collection document shows: never the metadata (columns) or the bytes.
_COLLECTION_FIELDS = ("id", "name", "artifact_type", "file_name", "feature_count", "bbox", "sha256")


@extend_schema(exclude=True)
class CollectionsView(OGCView):
    def get(self, request):
        artifacts = selectors.artifact_list(user=request.user).only(*_COLLECTION_FIELDS)
        return Response(documents.collections(self.url, artifacts))


@extend_schema(exclude=True)
class CollectionView(OGCView):
    def get(self, request, collection_id: str):
        return artifact_read(request, collection_id, lambda readable: Response(documents.collection(self.url, readable.artifact)))


@extend_schema(exclude=True)
class ItemsView(OGCView):
    renderer_classes = [GeoJSONRenderer, JSONRenderer]

    def initial(self, request, *args, **kwargs):
        APIView.initial(self, request, *args, **kwargs)
        _check_format(request, allowed=("json", "geojson"))

    def get(self, request, collection_id: str):
        params = request.query_params
        limit = parse_int(params.get("limit", str(settings.ICEBOX_OGC_DEFAULT_LIMIT)), name="limit", minimum=1, maximum=settings.ICEBOX_OGC_MAX_LIMIT)
        offset = parse_int(params.get("offset", "0"), name="offset", maximum=INTEGER_MAX)
        if params.get("bbox-crs", documents.CRS84) != documents.CRS84:
            raise InvalidParameter(f"bbox-crs: only {documents.CRS84} is supported")
        envelopes = parse_bbox(params["bbox"]) if "bbox" in params else None
        self_href = with_query(request)

        def answer(readable):
            artifact = readable.artifact
            equal = _property_filters(params, artifact)
            properties = parse_properties(params["properties"], columns=column_names(artifact.metadata)) if "properties" in params else None
            collection_href = self.url("ogc-collection", collection_id=str(artifact.pk))

            def trailer(returned: int, more: bool) -> dict:
                if envelopes is None and not equal:
                    matched = artifact.feature_count
                elif not more and (returned or not offset):
                    matched = offset + returned  # the last page: everything before it plus what it holds
                else:
                    matched = None  # counting a filter is not free; clients follow `next`
                return documents.items_trailer(
                    self_href=self_href,
                    next_href=with_query(request, offset=offset + limit) if more else None,
                    collection_href=collection_href,
                    returned=returned,
                    matched=matched,
                )

            chunks = feature_collection_chunks(
                readable, envelopes=envelopes, filters=equal, properties=properties, limit=limit, offset=offset, trailer=trailer
            )
            return StreamingHttpResponse(chunks, content_type=documents.GEOJSON)

        return artifact_read(request, collection_id, answer)


def _property_filters(params, artifact) -> dict:
    """OGC API Features' property filters (Part 1, 7.15.5): a parameter per filterable column (geo.filters)."""
    filterable = artifact_filterable(artifact)
    unknown = sorted(set(params) - ITEMS_PARAMETERS - set(filterable))
    if unknown:
        columns = f"; filters on {', '.join(filterable)}" if filterable else ""
        raise InvalidParameter(f"unknown query parameter(s) {', '.join(unknown)}; items accepts {', '.join(sorted(ITEMS_PARAMETERS))}{columns}")
    return parse_filters(params, filterable=filterable, accepted=ITEMS_PARAMETERS)


@extend_schema(exclude=True)
class ItemView(OGCView):
    renderer_classes = [GeoJSONRenderer, JSONRenderer]

    def initial(self, request, *args, **kwargs):
        APIView.initial(self, request, *args, **kwargs)
        _check_format(request, allowed=("json", "geojson"))

    def get(self, request, collection_id: str, feature_id: str):
        try:
            idx = parse_int(feature_id, name="featureId", maximum=INTEGER_MAX)
        except InvalidParameter:
            idx = None  # no site has that id, as for any other id that is not a row index

        def answer(readable):
            text = feature_text(readable, idx) if idx is not None else None
            if text is None:
                raise NotFound(f"feature {feature_id} not found in collection {collection_id}")
            links = [
                documents.link(with_query(request), "self", documents.GEOJSON, "This feature"),
                documents.link(self.url("ogc-collection", collection_id=str(readable.pk)), "collection", documents.JSON, "The collection"),
            ]
            return HttpResponse(_with_links(text, links), content_type=documents.GEOJSON)

        return artifact_read(request, collection_id, answer)


def _with_links(feature: str, links: list[dict]) -> str:
    """Add a "links" member to a Feature rendered by PostGIS (a JSON object text)."""
    return feature[:-1] + ',"links":' + json.dumps(links, separators=(",", ":")) + "}"
