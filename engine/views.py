"""HTTP views of imports and calculations: parse, call one service or selector, answer."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from engine import selectors, services
from engine.serializers import CalculationDetailSerializer, CalculationSerializer, ImportJobSerializer, ImportRequestSerializer
from geo import sites
from geo.params import parse_site_query
from geo.site_schema import SITE_PARAMETERS, CalculationSiteSerializer
from icebox import selectors as artifact_selectors
from icebox.exceptions import InvalidParameter
from sharing.serializers import SHARED_PARAMETER

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


@extend_schema_view(get=extend_schema(parameters=[SHARED_PARAMETER]))
class CalculationListView(generics.ListAPIView):
    serializer_class = CalculationSerializer

    def get_queryset(self):
        return selectors.calculation_list(user=self.request.user, shared=self.request.query_params.get("shared"))


class CalculationDetailView(APIView):
    @extend_schema(responses={200: CalculationDetailSerializer})
    def get(self, request, calculation_id: int):
        calculation = selectors.calculation_get(user=request.user, calculation_id=calculation_id)
        return Response(CalculationDetailSerializer(calculation, context={"request": request}).data)


class CalculationSiteView(APIView):
    @extend_schema(parameters=SITE_PARAMETERS, responses={200: CalculationSiteSerializer})
    def get(self, request, calculation_id: int):
        query = parse_site_query(request.query_params)
        calculation = selectors.calculation_get_readable(user=request.user, calculation_id=calculation_id)
        readables = artifact_selectors.readable_artifacts(user=request.user, calculation_id=calculation.pk)
        return Response(sites.calculation_site(calculation_id=calculation.pk, readables=readables, oqparam=calculation.oqparam, **query))
