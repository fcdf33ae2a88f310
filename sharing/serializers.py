from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from sharing.models import Share


SHARED_PARAMETER = OpenApiParameter(
    "shared",
    bool,
    description="true: only what others share with you (read-only); false: only your own; absent: both, each with `access` and `owner`",
)


class ShareRequestSerializer(serializers.Serializer):
    """What POST .../shares accepts: exactly one of the three (documentation; sharing.services checks it)."""

    user = serializers.CharField(required=False, help_text="share with this user (a user name)")
    group = serializers.CharField(required=False, help_text="share with every member of this group (a group name)")
    everyone = serializers.BooleanField(required=False, help_text="true: share with everyone who has an account")


class ShareSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    user = serializers.CharField(source="user.username", read_only=True, allow_null=True, default=None)
    group = serializers.CharField(source="group.name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Share
        fields = ["id", "url", "artifact", "calculation", "user", "group", "everyone", "created"]
        read_only_fields = fields

    def get_url(self, share) -> str:
        if share.artifact_id:
            name, kwargs = "artifact-share-detail", {"artifact_id": share.artifact_id}
        else:
            name, kwargs = "calculation-share-detail", {"calculation_id": share.calculation_id}
        return reverse(name, kwargs={**kwargs, "share_id": share.pk}, request=self.context.get("request"))


class AccessFieldsMixin(serializers.Serializer):
    """Whose a listed artifact or calculation is, for the user asking: `owner` (a user name) and
    `access`, "owner" or "shared" (read-only, shared with them). Never who else it is shared with."""

    owner = serializers.SerializerMethodField()
    access = serializers.SerializerMethodField()

    def get_owner(self, obj) -> str:
        # Lists annotate the name in their one query; a just-created artifact has its owner at hand.
        return getattr(obj, "owner_username", None) or obj.owner.get_username()

    @extend_schema_field({"type": "string", "enum": ["owner", "shared"]})
    def get_access(self, obj) -> str:
        request = self.context.get("request")
        return "owner" if request is not None and obj.owner_id == request.user.pk else "shared"
