from rest_framework import serializers

from icebox.models import Artifact
from sharing.serializers import AccessFieldsMixin


class ArtifactSerializer(AccessFieldsMixin, serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="artifact-detail", lookup_url_kwarg="artifact_id")
    raw_url = serializers.HyperlinkedIdentityField(view_name="artifact-raw", lookup_url_kwarg="artifact_id")
    bbox = serializers.ListField(child=serializers.FloatField(), allow_null=True, read_only=True)

    class Meta:
        model = Artifact
        fields = [
            "id",
            "url",
            "raw_url",
            "owner",
            "access",
            "artifact_type",
            "name",
            "file_name",
            "content_type",
            "created",
            "size",
            "sha256",
            "feature_count",
            "bbox",
            "metadata",
        ]
        read_only_fields = fields


class ArtifactUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="An engine CSV export, or the engine's zip of several CSVs.")
    name = serializers.CharField(required=False, max_length=255, help_text="Name for a single-CSV upload.")
    raw = serializers.BooleanField(
        required=False, help_text="true: keep the file byte for byte as one artifact of kind `file`, whatever it holds (any size up to the upload limit); nothing is parsed."
    )


class ArtifactUploadResultSerializer(serializers.Serializer):
    artifacts = ArtifactSerializer(many=True)
