from rest_framework import serializers
from rest_framework.reverse import reverse

from engine.models import Calculation, ImportJob
from icebox.integers import INTEGER_MAX
from sharing.serializers import AccessFieldsMixin


class ImportRequestSerializer(serializers.Serializer):
    """What POST /artifacts/import accepts (documentation; engine.services checks the values)."""

    engine_url = serializers.CharField(required=False, help_text="A server of ICEBOX_ENGINE_SERVERS, e.g. http://127.0.0.1:8800")
    calc_id = serializers.IntegerField(required=False, min_value=1, max_value=INTEGER_MAX)
    url = serializers.CharField(required=False, help_text="Instead of engine_url + calc_id: http://host:port/v1/calc/<id>/results")
    outputs = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Engine output types to import (hcurves, gmf_data, ...). Default: every output of the calc"
    )
    datastore = serializers.BooleanField(required=False, default=False, help_text="Also store the calc's whole HDF5 datastore (ICEBOX_ENGINE_MAX_DATASTORE_BYTES)")
    owner = serializers.CharField(required=False, help_text="Staff only: import for this user")


class _ArtifactLinkSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    name = serializers.CharField()
    artifact_type = serializers.CharField()

    def get_url(self, artifact) -> str:
        return reverse("artifact-detail", kwargs={"artifact_id": artifact.pk}, request=self.context.get("request"))


class ImportJobSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="import-detail", lookup_url_kwarg="job_id")
    owner = serializers.CharField(source="owner.username")
    requested_by = serializers.CharField(source="requested_by.username")
    progress = serializers.SerializerMethodField()
    calculation_url = serializers.SerializerMethodField()
    artifacts = _ArtifactLinkSerializer(many=True)

    class Meta:
        model = ImportJob
        fields = [
            "id", "url", "status", "owner", "requested_by", "engine_url", "calc_id", "outputs", "datastore", "progress",
            "skipped", "error", "calculation", "calculation_url", "artifacts", "created", "started", "finished", "updated",
        ]
        read_only_fields = fields

    def get_progress(self, job) -> dict:
        return {
            "outputs_done": job.outputs_done,
            "outputs_total": job.outputs_total,
            "bytes_done": job.bytes_done,
            "bytes_total": job.bytes_total,
        }

    def get_calculation_url(self, job) -> str | None:
        if job.calculation_id is None:
            return None
        return reverse("calculation-detail", kwargs={"calculation_id": job.calculation_id}, request=self.context.get("request"))


class _ImportedArtifactSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="artifact.id")
    url = serializers.SerializerMethodField()
    name = serializers.CharField(source="artifact.name")
    artifact_type = serializers.CharField(source="artifact.artifact_type")
    output_id = serializers.IntegerField()
    output_type = serializers.CharField()
    export_name = serializers.CharField()
    file_name = serializers.CharField()

    def get_url(self, row) -> str:
        return reverse("artifact-detail", kwargs={"artifact_id": row.artifact_id}, request=self.context.get("request"))


class CalculationSerializer(AccessFieldsMixin, serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="calculation-detail", lookup_url_kwarg="calculation_id")
    artifacts_url = serializers.SerializerMethodField()
    artifacts = _ImportedArtifactSerializer(source="imported_outputs", many=True)

    class Meta:
        model = Calculation
        fields = [
            "id", "url", "owner", "access", "engine_url", "calc_id", "engine_version", "description", "calculation_mode", "status",
            "start_time", "stop_time", "created", "updated", "artifacts_url", "artifacts",
        ]
        read_only_fields = fields

    def get_artifacts_url(self, calculation) -> str:
        return reverse("artifact-list", request=self.context.get("request")) + f"?calculation={calculation.pk}"


class CalculationDetailSerializer(CalculationSerializer):
    class Meta(CalculationSerializer.Meta):
        fields = CalculationSerializer.Meta.fields + ["oqparam"]
        read_only_fields = fields
