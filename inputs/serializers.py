from rest_framework import serializers
from rest_framework.reverse import reverse

from inputs.models import InputModel, Run


class InputModelSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="input-detail", lookup_url_kwarg="input_id")
    archive_url = serializers.SerializerMethodField()
    calculations = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()

    class Meta:
        model = InputModel
        fields = ["id", "url", "name", "description", "calculation_mode", "job_ini", "params", "files", "tree", "external", "labels", "archive",
                  "archive_url", "calculations", "created"]

    def get_files(self, obj) -> list[dict]:
        """Each file as read on arrival (path, role, size, sha256, ...) with the artifact it is stored as."""
        request = self.context.get("request")
        stored = {f.path: f for f in obj.input_files.all()}
        out = []
        for entry in obj.files:
            row = stored.get(entry["path"])
            artifact = row.artifact_id if row is not None else None
            out.append({**entry, "artifact": artifact,
                        "artifact_url": reverse("artifact-detail", kwargs={"artifact_id": artifact}, request=request) if artifact else None})
        return out

    def get_archive_url(self, obj) -> str:
        return reverse("artifact-raw", kwargs={"artifact_id": obj.archive_id}, request=self.context.get("request"))

    def get_calculations(self, obj) -> list[dict]:
        request = self.context.get("request")
        return [
            {"id": link.calculation_id, "origin": link.origin,
             "url": reverse("calculation-detail", kwargs={"calculation_id": link.calculation_id}, request=request)}
            for link in obj.links.all()
        ]


class RunSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="run-detail", lookup_url_kwarg="run_id")
    input_model_url = serializers.HyperlinkedRelatedField(source="input_model", view_name="input-detail", lookup_url_kwarg="input_id",
                                                          read_only=True)
    calculation_url = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = ["id", "url", "input_model", "input_model_url", "engine_url", "params", "hazard_job_id", "job_ini", "status", "engine_calc_id",
                  "engine_status", "error", "traceback", "import_job", "calculation", "calculation_url", "created", "updated", "finished"]

    def get_calculation_url(self, obj) -> str | None:
        if obj.calculation_id is None:
            return None
        return reverse("calculation-detail", kwargs={"calculation_id": obj.calculation_id}, request=self.context.get("request"))


class RunRequestSerializer(serializers.Serializer):
    engine_url = serializers.CharField(help_text="an engine server of ICEBOX_ENGINE_SERVERS")
    params = serializers.DictField(child=serializers.CharField(), required=False, help_text="job.ini overrides, applied to a copy")
    hazard_job_id = serializers.IntegerField(required=False, help_text="the engine's id of the hazard calc a risk job builds on")
    job_ini = serializers.CharField(required=False, help_text="another .ini file of the model to run (its risk job), instead of its job_ini")


class InputUploadSerializer(serializers.Serializer):
    file = serializers.ListField(child=serializers.FileField(), help_text="the zip of a job, or its job.ini and every file it names")
    name = serializers.CharField(required=False)


class InputLabelsSerializer(serializers.Serializer):
    labels = serializers.ListField(child=serializers.CharField(), help_text="replaces the labels (the same rules as a calculation's)")
