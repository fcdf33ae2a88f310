from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

import kinds
from blobs.models import Blob

# Derived from the kind registry (kinds/__init__.py); the column itself has no choices, so that
# adding a kind needs no migration.
ArtifactType = models.TextChoices("ArtifactType", [(name.upper(), (name, kinds.title(name))) for name in kinds.ARTIFACT_TYPES])


class Artifact(models.Model):
    """One file of results, kept byte for byte, with what was parsed from it.

    The sites themselves live in `geo.Feature`; the bytes in the blob store (`blob`: one Blob
    per distinct content, its bytes in the configured storage, see blobs.store), so that
    listing artifacts never reads either.
    """

    # PROTECT: a blob goes only once nothing references it (blobs.store.release, after the commit).
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="artifacts")
    # PROTECT: removing a user must never silently remove the results they stored.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="artifacts")
    artifact_type = models.CharField(max_length=32)  # a kind's NAME (kinds.ARTIFACT_TYPES)
    name = models.CharField(max_length=255)
    file_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    created = models.DateTimeField(auto_now_add=True)
    # Parsed from the engine's header row and file name: engine_version, kind, investigation_time,
    # imt, return_period, calc_id, ... and `columns`, the meaning of every data column.
    metadata = models.JSONField(default=dict)
    feature_count = models.IntegerField(default=0)
    # [minlon, minlat, maxlon, maxlat] of the sites, in EPSG:4326.
    bbox = ArrayField(models.FloatField(), size=4, null=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["owner", "artifact_type"])]

    def __str__(self):
        return f"{self.name} ({self.artifact_type}, #{self.pk})"

    def get_artifact_type_display(self) -> str:
        return kinds.title(self.artifact_type)
