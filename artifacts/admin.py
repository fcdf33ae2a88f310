from django.contrib import admin

from artifacts import services
from icebox.models import Artifact


@admin.register(Artifact)
class ArtifactAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "artifact_type", "owner", "feature_count", "size", "created"]
    list_filter = ["artifact_type", "created"]
    search_fields = ["name", "file_name", "sha256", "owner__username"]
    readonly_fields = [f.name for f in Artifact._meta.fields]

    def has_add_permission(self, request):
        # Artifacts come from parsed engine files only: upload or import, never typed in.
        return False

    # Deleting must drop the artifact's feature partition too, which only the service knows.
    def delete_model(self, request, obj):
        services.artifact_delete(artifact=obj)

    def delete_queryset(self, request, queryset):
        for artifact in queryset:
            services.artifact_delete(artifact=artifact)
