"""HTTP views: parse the request, call one service or selector, answer."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

import kinds
from artifacts import services
from artifacts.serializers import ArtifactSerializer, ArtifactUploadResultSerializer, ArtifactUploadSerializer
from core.exceptions import InvalidFile, InvalidParameter
from core.integers import INTEGER_MAX, parse_int
from geo.filters import artifact_filterable, parse_filters
from geo.params import column_names, parse_bbox, parse_properties, parse_region, parse_tile
from geo.selectors import feature_collection_chunks
from geo.table_views import FILTER_PARAMETER, JOIN_PARAMETERS, joined_assets_chunks
from icebox import selectors
from icebox.byte_ranges import UNSATISFIABLE, requested_range
from icebox.http_cache import artifact_etag, artifact_read
from icebox.links import with_query
from icebox.upload_names import FileNames
from sharing.serializers import SHARED_PARAMETER
from sharing.views import ShareDetailView, SharesView

GEOJSON = "application/geo+json"


class ArtifactListView(generics.GenericAPIView):
    serializer_class = ArtifactSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        params = self.request.query_params
        return selectors.artifact_list(
            user=self.request.user, artifact_type=params.get("artifact_type"), calculation=params.get("calculation"), shared=params.get("shared")
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("artifact_type", str, enum=list(kinds.ARTIFACT_TYPES)),
            OpenApiParameter("calculation", {"type": "integer", "format": "int64", "minimum": 1}, description="only the artifacts imported from this calculation (GET /calculations)"),
            SHARED_PARAMETER,
        ],
        responses=ArtifactSerializer(many=True),
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def initialize_request(self, request, *args, **kwargs):
        # Before anything reads the body (authentication may, for a session's CSRF check).
        self.file_names = FileNames(request)
        request.upload_handlers.insert(0, self.file_names)
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(request={"multipart/form-data": ArtifactUploadSerializer}, responses={201: ArtifactUploadResultSerializer})
    def post(self, request):
        uploads = request.FILES.getlist("file")
        if not uploads:
            raise InvalidFile("no file: send the engine CSV or zip as the multipart field 'file'")
        if len(uploads) > 1:
            raise InvalidFile(f"{len(uploads)} 'file' fields: send one engine CSV or zip per upload (a zip holds several CSVs)")
        names = request.data.getlist("name") if hasattr(request.data, "getlist") else []
        if len(names) > 1:
            raise InvalidParameter(f"{len(names)} 'name' fields: give at most one")
        raw = _raw_flag(request.data)
        [upload] = uploads
        # The name as the client sent it: Django's UploadedFile.name is cut to 255 characters.
        [file_name] = self.file_names.names("file") or [upload.name]
        [sha256] = self.file_names.sha256s("file") or [None]
        artifacts = services.artifact_upload(
            owner=request.user, file_name=file_name, data=_upload_data(upload), name=names[0] if names else None, sha256=sha256, raw=raw
        )
        body = {"artifacts": ArtifactSerializer(artifacts, many=True, context={"request": request}).data}
        return Response(body, status=status.HTTP_201_CREATED)


def _upload_data(upload):
    """The uploaded file's path (Django wrote a big one to disk as it arrived), or a small one's bytes."""
    if upload.size > settings.ICEBOX_MAX_UPLOAD_BYTES:
        raise InvalidFile(f"{upload.name}: {upload.size} bytes is over the upload limit of {settings.ICEBOX_MAX_UPLOAD_BYTES} bytes")
    if hasattr(upload, "temporary_file_path"):
        return Path(upload.temporary_file_path())
    return upload.read()  # in memory already: at most FILE_UPLOAD_MAX_MEMORY_SIZE


def _raw_flag(data) -> bool:
    values = data.getlist("raw") if hasattr(data, "getlist") else []
    if not values:
        return False
    if len(values) > 1 or values[0] not in ("true", "false"):
        raise InvalidParameter(f"raw must be given once, as true or false; got {values[:3]!r}")
    return values[0] == "true"


_SPATIAL_PARAMETERS = [
    OpenApiParameter("bbox", str, description="minlon,minlat,maxlon,maxlat: features intersecting the box"),
    OpenApiParameter("tile", {"type": "string", "pattern": "^[0-9]+/[0-9]+/[0-9]+$"}, description="z/x/y: features inside that XYZ web map tile"),
    OpenApiParameter("region", str, description="a WKT or GeoJSON (Multi)Polygon: features within it"),
    OpenApiParameter("format", str, enum=["geojson", "raw"], description="raw: the original file"),
    OpenApiParameter("properties", str, description="comma-separated data columns to return (default: all)"),
    OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": INTEGER_MAX}, description="at most this many features, in file order; the response's `next` is the next page"),
    OpenApiParameter("offset", {"type": "integer", "minimum": 0, "maximum": INTEGER_MAX}, description="skip this many features (with limit: the page start)"),
    *JOIN_PARAMETERS,
    FILTER_PARAMETER,
]
# What /artifact/<id> takes besides equality filters on the artifact's filterable columns.
_DETAIL_ACCEPTS = ("bbox", "tile", "region", "format", "properties", "limit", "offset", "join", "assets")


class ArtifactDetailView(APIView):
    @extend_schema(parameters=_SPATIAL_PARAMETERS, responses={(200, GEOJSON): OpenApiTypes.OBJECT, (200, "text/csv"): OpenApiTypes.BINARY})
    def get(self, request, artifact_id: int):
        params = request.query_params
        fmt = params.get("format", "geojson")
        if fmt == "raw":
            return _raw(request, artifact_id)
        if fmt != "geojson":
            raise InvalidParameter(f"format must be geojson or raw, got {fmt!r}")
        filters = _spatial_filters(params)
        # Site indexes are PostgreSQL integers: no page can start or reach beyond INTEGER_MAX.
        limit = parse_int(params["limit"], name="limit", minimum=1, maximum=INTEGER_MAX) if "limit" in params else None
        offset = parse_int(params.get("offset", "0"), name="offset", maximum=INTEGER_MAX)

        def answer(readable):
            artifact = readable.artifact
            equal = parse_filters(params, filterable=artifact_filterable(artifact), accepted=_DETAIL_ACCEPTS)
            properties = parse_properties(params["properties"], columns=column_names(artifact.metadata)) if "properties" in params else None
            # With a limit, a last member says where the next page is (null on the last page).
            trailer = (lambda returned, more: {"next": with_query(request, offset=offset + limit) if more else None}) if limit else None
            if "join" in params or "assets" in params:
                chunks = joined_assets_chunks(
                    request, readable, spatial=filters, filters=equal, properties=properties, limit=limit, offset=offset, trailer=trailer
                )
            else:
                chunks = feature_collection_chunks(
                    readable, **filters, filters=equal, properties=properties, limit=limit, offset=offset, trailer=trailer
                )
            return StreamingHttpResponse(chunks, content_type=GEOJSON)

        return artifact_read(request, artifact_id, answer)

    @extend_schema(responses={204: OpenApiResponse(description="deleted")})
    def delete(self, request, artifact_id: int):
        services.artifact_delete(artifact=selectors.artifact_get_owned(user=request.user, artifact_id=artifact_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ArtifactRawView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("Range", str, OpenApiParameter.HEADER, description="bytes=<first>-[<last>] or bytes=-<suffix>: one range, answered 206"),
            OpenApiParameter("If-Range", str, OpenApiParameter.HEADER, description="the ETag: the range applies only to this version"),
        ],
        responses={(200, "text/csv"): OpenApiTypes.BINARY, (206, "text/csv"): OpenApiTypes.BINARY, 416: OpenApiResponse(description="range not satisfiable")},
    )
    def get(self, request, artifact_id: int):
        return _raw(request, artifact_id)


def _spatial_filters(params) -> dict:
    filters = {}
    envelopes = []
    if "bbox" in params:
        envelopes += parse_bbox(params["bbox"])
    if "tile" in params:
        if envelopes:
            raise InvalidParameter("give either bbox or tile, not both")
        envelopes.append(parse_tile(params["tile"]))
    if envelopes:
        filters["envelopes"] = envelopes
    if "region" in params:
        filters["region"] = parse_region(params["region"])
    return filters


def _raw(request, artifact_id) -> HttpResponse:
    # The ETag is known before the answer: If-Range compares with it (icebox.byte_ranges).
    def answer(readable):
        return _raw_response(request, readable, etag=artifact_etag(request, readable.artifact))

    return artifact_read(request, artifact_id, answer)


def _raw_response(request, readable, *, etag: str) -> HttpResponse:
    """The original bytes, streamed from the blob store: whole, or the one range asked for."""
    artifact = readable.artifact
    size = artifact.size
    wanted = requested_range(request.headers.get("Range"), request.headers.get("If-Range"), size=size, etag=etag)
    if wanted == UNSATISFIABLE:
        response = HttpResponse(status=416, content_type=artifact.content_type)
        response["Content-Range"] = f"bytes */{size}"
        response["Accept-Ranges"] = "bytes"
        return response
    start, end = wanted or (0, size)
    chunks = iter(()) if request.method == "HEAD" else selectors.artifact_bytes(readable, start, end)
    response = StreamingHttpResponse(chunks, content_type=artifact.content_type, status=206 if wanted else 200)
    if wanted:
        response["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = _attachment(artifact.file_name)
    response["Content-Length"] = str(end - start)
    return response


def _attachment(file_name: str) -> str:
    ascii_name = file_name.encode("ascii", "replace").decode().replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name)}"


class ArtifactSharesView(SharesView):
    def target(self) -> dict:
        return {"artifact": selectors.artifact_get_owned(user=self.request.user, artifact_id=self.kwargs["artifact_id"])}


class ArtifactShareDetailView(ShareDetailView):
    def target(self) -> dict:
        return {"artifact": selectors.artifact_get_owned(user=self.request.user, artifact_id=self.kwargs["artifact_id"])}
