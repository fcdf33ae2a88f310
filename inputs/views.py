"""HTTP views of input models and their runs: parse, call one service or selector, answer."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import InvalidParameter
from engine.selectors import calculation_get_owned
from inputs import selectors, services
from inputs.serializers import InputModelSerializer, RunRequestSerializer, RunSerializer

RUN_FIELDS = ("engine_url", "params", "hazard_job_id")


class InputListView(generics.ListAPIView):
    serializer_class = InputModelSerializer

    def get_queryset(self):
        return selectors.input_model_list(user=self.request.user).prefetch_related("links")


class InputDetailView(APIView):
    @extend_schema(responses=InputModelSerializer)
    def get(self, request, input_id: int):
        model = selectors.input_model_get(user=request.user, input_model_id=input_id)
        return Response(InputModelSerializer(model, context={"request": request}).data)


class InputRunView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=RunRequestSerializer, responses={202: RunSerializer})
    def post(self, request, input_id: int):
        model = selectors.input_model_get(user=request.user, input_model_id=input_id)
        data = request.data
        if not isinstance(data, dict):
            raise InvalidParameter('send a JSON object: {"engine_url": "...", "params": {...}, "hazard_job_id": 12}')
        unknown = sorted(set(data) - set(RUN_FIELDS))
        if unknown:
            raise InvalidParameter(f"unknown field(s) {', '.join(unknown)}; accepted: {', '.join(RUN_FIELDS)}")
        run = services.run_request(requested_by=request.user, input_model=model, **{k: data[k] for k in RUN_FIELDS if k in data})
        body = RunSerializer(run, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


class RunListView(generics.ListAPIView):
    serializer_class = RunSerializer

    def get_queryset(self):
        return selectors.run_list(user=self.request.user)


class RunDetailView(APIView):
    @extend_schema(responses=RunSerializer)
    def get(self, request, run_id: int):
        return Response(RunSerializer(selectors.run_get(user=request.user, run_id=run_id), context={"request": request}).data)


class CalculationInputsView(APIView):
    """The input models linked to a calculation, the candidates among the owner's, and a link by the owner."""

    parser_classes = [JSONParser]

    def get(self, request, calculation_id: int):
        calculation = calculation_get_owned(user=request.user, calculation_id=calculation_id)
        context = {"request": request}
        linked = selectors.input_model_list(user=request.user).filter(links__calculation=calculation)
        candidates = selectors.input_model_candidates(user=request.user, calculation=calculation).exclude(pk__in=linked)
        return Response({
            "linked": InputModelSerializer(linked.prefetch_related("links"), many=True, context=context).data,
            "candidates": InputModelSerializer(candidates.prefetch_related("links"), many=True, context=context).data,
        })

    def post(self, request, calculation_id: int):
        calculation = calculation_get_owned(user=request.user, calculation_id=calculation_id)
        if not isinstance(request.data, dict) or set(request.data) != {"input_model"}:
            raise InvalidParameter('send a JSON object: {"input_model": <id of one of your input models>}')
        model = selectors.input_model_get(user=request.user, input_model_id=request.data["input_model"])
        _link, created = services.input_link(owner=request.user, calculation=calculation, input_model=model)
        body = InputModelSerializer(model, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
