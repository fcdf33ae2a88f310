"""HTTP views of input models and their runs: parse, call one service or selector, answer."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import InvalidFile, InvalidParameter
from engine.selectors import calculation_get_owned, parse_calculation_filters
from icebox.upload_names import FileNames
from inputs import selectors, services
from inputs.serializers import InputLabelsSerializer, InputModelSerializer, InputUploadSerializer, RunRequestSerializer, RunSerializer

RUN_FIELDS = ("engine_url", "params", "hazard_job_id", "job_ini")


class InputListView(generics.ListAPIView):
    serializer_class = InputModelSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        filters = parse_calculation_filters(self.request.query_params, names=("mode", "label", "q"))
        return selectors.input_model_list(user=self.request.user, filters=filters).prefetch_related("links", "input_files")

    def initialize_request(self, request, *args, **kwargs):
        # Before anything reads the body: the file names as sent (folders included).
        self.file_names = FileNames(request)
        request.upload_handlers.insert(0, self.file_names)
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(request={"multipart/form-data": InputUploadSerializer}, responses={201: InputModelSerializer, 200: InputModelSerializer})
    def post(self, request):
        uploads = request.FILES.getlist("file")
        if not uploads:
            raise InvalidFile("no file: send the zip of a job (job.ini and every file it names), or the job.ini and its files, as multipart fields 'file'")
        names = request.data.getlist("name") if hasattr(request.data, "getlist") else []
        if len(names) > 1:
            raise InvalidParameter(f"{len(names)} 'name' fields: give at most one")
        sent = self.file_names.names("file")
        file_names = sent if len(sent) == len(uploads) else [upload.name for upload in uploads]
        for upload in uploads:
            if upload.size > settings.ICEBOX_MAX_UPLOAD_BYTES:
                raise InvalidFile(f"{upload.name}: {upload.size} bytes is over the upload limit of {settings.ICEBOX_MAX_UPLOAD_BYTES} bytes")
        name = names[0] if names else None
        if len(uploads) == 1 and not file_names[0].lower().endswith(".ini"):
            model, created = services.input_upload(owner=request.user, file_name=file_names[0], data=uploads[0].read(), name=name)
        else:
            parts = {}
            for file_name, upload in zip(file_names, uploads):
                if file_name in parts:
                    raise InvalidFile(f"{file_name}: sent twice")
                parts[file_name] = upload.read()
            model, created = services.input_upload(owner=request.user, parts=parts, name=name)
        body = InputModelSerializer(model, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK, headers={"Location": body["url"]})


class InputDetailView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(responses=InputModelSerializer)
    def get(self, request, input_id: int):
        model = selectors.input_model_get(user=request.user, input_model_id=input_id)
        return Response(InputModelSerializer(model, context={"request": request}).data)

    @extend_schema(request=InputLabelsSerializer, responses=InputModelSerializer)
    def patch(self, request, input_id: int):
        model = selectors.input_model_get(user=request.user, input_model_id=input_id)
        if not isinstance(request.data, dict) or set(request.data) != {"labels"}:
            raise InvalidParameter('send a JSON object with labels only, such as {"labels": ["2026 model"]}')
        model = services.input_model_set_labels(input_model=model, labels=request.data["labels"])
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
