from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from core.integers import INTEGER_MAX
from engine import tree as engine_tree
from engine.models import LABEL_MAX_LENGTH, LABELS_MAX, Calculation, ImportJob
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
    export_url = serializers.SerializerMethodField()
    artifacts = _ImportedArtifactSerializer(source="imported_outputs", many=True)
    labels = serializers.ListField(child=serializers.CharField(), help_text="the owner's labels, with the engine's tags the imports brought")

    class Meta:
        model = Calculation
        fields = [
            "id", "url", "owner", "access", "engine_url", "calc_id", "engine_version", "description", "calculation_mode", "status",
            "start_time", "stop_time", "created", "updated", "labels", "artifacts_url", "export_url", "artifacts",
        ]
        read_only_fields = fields

    def get_artifacts_url(self, calculation) -> str:
        return reverse("artifact-list", request=self.context.get("request")) + f"?calculation={calculation.pk}"

    def get_export_url(self, calculation) -> str:
        return reverse("calculation-export", kwargs={"calculation_id": calculation.pk}, request=self.context.get("request"))


class _TreeLeafSerializer(_ImportedArtifactSerializer):
    engine_file_name = serializers.SerializerMethodField(help_text="the engine's export file name (hazard_map-mean-475y_2.csv, never output-N-...)")
    path = serializers.SerializerMethodField(help_text="its path in GET /calculations/<id>/export: <output type>/<engine_file_name>")

    def get_engine_file_name(self, row) -> str:
        return engine_tree.engine_file_name(output_id=row.output_id, export_name=row.export_name, file_name=row.file_name)

    def get_path(self, row) -> str:
        return engine_tree.export_path(output_type=row.output_type, output_id=row.output_id, export_name=row.export_name, file_name=row.file_name)


class _TreeNodeSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=["output_type", "kind", "imt", "return_period"])
    name = serializers.CharField(help_text="hcurves; mean, quantile-0.15, rlz-001; PGA; 475y")
    children = serializers.ListField(child=serializers.DictField(), help_text="the nodes of the next level, of this same shape")
    artifacts = _TreeLeafSerializer(many=True)

    def to_representation(self, node):
        return {
            "level": node.level,
            "name": node.name,
            "children": [self.to_representation(child) for child in node.children],
            "artifacts": _TreeLeafSerializer([leaf.item for leaf in node.artifacts], many=True, context=self.context).data,
        }


class CalculationDetailSerializer(CalculationSerializer):
    tree = serializers.SerializerMethodField()
    inputs = serializers.SerializerMethodField()

    class Meta(CalculationSerializer.Meta):
        fields = CalculationSerializer.Meta.fields + ["tree", "oqparam", "inputs"]
        read_only_fields = fields

    def get_inputs(self, calculation) -> list[dict]:
        """The input models linked to it (inputs.InputLink, reached by its relation), the viewer's own only."""
        request = self.context.get("request")
        user_id = getattr(getattr(request, "user", None), "pk", None)
        return [
            {"id": link.input_model_id, "origin": link.origin,
             "url": reverse("input-detail", kwargs={"input_id": link.input_model_id}, request=request)}
            for link in calculation.input_links.filter(input_model__owner_id=user_id).order_by("created", "id")
        ]

    @extend_schema_field(_TreeNodeSerializer(many=True))
    def get_tree(self, calculation) -> list:
        leaves = [
            engine_tree.Leaf(
                item=row, metadata=row.artifact.metadata, output_id=row.output_id, output_type=row.output_type,
                export_name=row.export_name, file_name=row.file_name,
            )
            for row in calculation.imported_outputs.all()
        ]
        nodes = engine_tree.calculation_tree(leaves, imt_order=engine_tree.imt_order(calculation.oqparam))
        return _TreeNodeSerializer(nodes, many=True, context=self.context).data


class CalculationLabelsSerializer(serializers.Serializer):
    """What PATCH /calculations/<id> accepts (documentation; engine.labels checks the values)."""

    labels = serializers.ListField(
        child=serializers.CharField(max_length=LABEL_MAX_LENGTH),
        max_length=LABELS_MAX,
        help_text=f"replaces the labels: strings of 1 to {LABEL_MAX_LENGTH} printable characters (surrounding white space dropped), "
        f"at most {LABELS_MAX}, duplicates dropped",
    )
