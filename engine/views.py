"""HTTP views of imports and calculations: parse, call one service or selector, answer."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, renderers, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import InvalidParameter
from engine import export, labels, selectors, services
from engine.serializers import (
    CalculationDetailSerializer,
    CalculationLabelsSerializer,
    CalculationSerializer,
    ImportJobSerializer,
    ImportRequestSerializer,
)
from geo import sites
from geo.params import parse_site_query
from geo.site_schema import SITE_PARAMETERS, CalculationSiteSerializer
from icebox import selectors as artifact_selectors
from sharing.serializers import SHARED_PARAMETER
from sharing.views import ShareDetailView, SharesView

_IMPORT_FIELDS = {"engine_url", "calc_id", "url", "outputs", "datastore", "owner"}


class ImportCreateView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=ImportRequestSerializer, responses={202: ImportJobSerializer})
    def post(self, request):
        if not isinstance(request.data, dict):
            raise InvalidParameter("send a JSON object such as {\"engine_url\": \"http://127.0.0.1:8800\", \"calc_id\": 2}")
        unknown = sorted(set(request.data) - _IMPORT_FIELDS)
        if unknown:
            raise InvalidParameter(f"unknown field(s) {', '.join(unknown)}; accepted: {', '.join(sorted(_IMPORT_FIELDS))}")
        job = services.import_request(requested_by=request.user, **{k: request.data[k] for k in _IMPORT_FIELDS & set(request.data)})
        body = ImportJobSerializer(job, context={"request": request}).data
        # str(): body["url"] is a DRF Hyperlink, a str subclass that wsgiref (runserver) refuses in a header.
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": str(body["url"])})


class ImportListView(generics.ListAPIView):
    serializer_class = ImportJobSerializer

    def get_queryset(self):
        return selectors.import_job_list(user=self.request.user)


class ImportDetailView(APIView):
    @extend_schema(responses={200: ImportJobSerializer})
    def get(self, request, job_id: int):
        job = selectors.import_job_get(user=request.user, job_id=job_id)
        return Response(ImportJobSerializer(job, context={"request": request}).data)


_CALCULATION_FILTERS = [
    OpenApiParameter("mode", str, description="the engine's calculation_mode: classical, event_based, scenario_damage..."),
    OpenApiParameter("engine", str, description="the engine server's URL (http://127.0.0.1:8800) or the engine version (3.26.2)"),
    OpenApiParameter("label", str, many=True, description="a label; repeated, calculations that have every one of them"),
    OpenApiParameter("q", str, description="text the description contains (case-insensitive)"),
]


@extend_schema_view(get=extend_schema(parameters=[SHARED_PARAMETER, *_CALCULATION_FILTERS]))
class CalculationListView(generics.ListAPIView):
    serializer_class = CalculationSerializer

    def get_queryset(self):
        params = self.request.query_params
        return selectors.calculation_list(user=self.request.user, shared=params.get("shared"), filters=selectors.parse_calculation_filters(params))


class CalculationDetailView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(responses={200: CalculationDetailSerializer})
    def get(self, request, calculation_id: int):
        calculation = selectors.calculation_get(user=request.user, calculation_id=calculation_id)
        return Response(CalculationDetailSerializer(calculation, context={"request": request}).data)

    @extend_schema(request=CalculationLabelsSerializer, responses={200: CalculationDetailSerializer})
    def patch(self, request, calculation_id: int):
        calculation = selectors.calculation_get_owned(user=request.user, calculation_id=calculation_id)
        if not isinstance(request.data, dict) or set(request.data) != {"labels"}:
            raise InvalidParameter('send a JSON object with labels only, such as {"labels": ["design", "2026 review"]}')
        labels.calculation_set_labels(calculation=calculation, labels=request.data["labels"])
        calculation = selectors.calculation_get(user=request.user, calculation_id=calculation.pk)
        return Response(CalculationDetailSerializer(calculation, context={"request": request}).data)


class _ZipRenderer(renderers.BaseRenderer):
    """Lets `Accept: application/zip` through content negotiation; the view sends the bytes itself."""

    media_type = export.CONTENT_TYPE
    format = "zip"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class CalculationExportView(APIView):
    # JSON first: what an error (404, 401) is rendered as.
    renderer_classes = [renderers.JSONRenderer, _ZipRenderer]

    @extend_schema(responses={(200, export.CONTENT_TYPE): OpenApiTypes.BINARY})
    def get(self, request, calculation_id: int):
        calculation = selectors.calculation_get_readable(user=request.user, calculation_id=calculation_id)
        response = StreamingHttpResponse(export.export_chunks(calculation), content_type=export.CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{export.export_file_name(calculation)}"'
        return response


class CalculationSiteView(APIView):
    @extend_schema(parameters=SITE_PARAMETERS, responses={200: CalculationSiteSerializer})
    def get(self, request, calculation_id: int):
        query = parse_site_query(request.query_params)
        calculation = selectors.calculation_get_readable(user=request.user, calculation_id=calculation_id)
        readables = artifact_selectors.readable_artifacts(user=request.user, calculation_id=calculation.pk)
        return Response(sites.calculation_site(calculation_id=calculation.pk, readables=readables, oqparam=calculation.oqparam, **query))


class CalculationSharesView(SharesView):
    def target(self) -> dict:
        return {"calculation": selectors.calculation_get_owned(user=self.request.user, calculation_id=self.kwargs["calculation_id"])}


class CalculationShareDetailView(ShareDetailView):
    def target(self) -> dict:
        return {"calculation": selectors.calculation_get_owned(user=self.request.user, calculation_id=self.kwargs["calculation_id"])}
