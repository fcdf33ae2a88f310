from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class ArtifactType(models.TextChoices):
    HAZARD_CURVE = "hazard_curve", "Hazard curves"
    HAZARD_MAP = "hazard_map", "Hazard map"
    UHS = "uhs", "Uniform hazard spectra"


class Artifact(models.Model):
    """One file of results, kept byte for byte, with what was parsed from it.

    The sites themselves live in `geo.Feature`; the bytes in `ArtifactFile`, so that listing
    artifacts never reads either.
    """

    # PROTECT: removing a user must never silently remove the results they stored.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="artifacts")
    artifact_type = models.CharField(max_length=32, choices=ArtifactType.choices)
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


class ArtifactFile(models.Model):
    """The original bytes of an artifact.

    Kept in PostgreSQL rather than on a filesystem so that the bytes, the artifact row and its
    geometry rows are written and removed in one transaction: a failed or killed import can
    leave no orphan file behind, and one database backup holds everything.
    """

    artifact = models.OneToOneField(Artifact, on_delete=models.CASCADE, primary_key=True, related_name="file")
    data = models.BinaryField()
