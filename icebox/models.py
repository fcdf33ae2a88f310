from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

import kinds
from blobs.models import Blob

# Derived from the kind registry (kinds/__init__.py); the column itself has no choices, so that
# adding a kind needs no migration.
ArtifactType = models.TextChoices("ArtifactType", [(name.upper(), (name, kinds.title(name))) for name in kinds.ARTIFACT_TYPES])


class ArtifactQuerySet(models.QuerySet):
    """Artifacts; a list can be told its count (`known_count`), so that paging it (DRF's page
    numbers with a count) does not count every row. Any further filter makes a clone, which
    forgets it and counts for real."""

    _known_count = None

    def with_known_count(self, count) -> "ArtifactQuerySet":
        """This queryset, whose count() is `count()` (a function: only called if asked)."""
        self._known_count = count
        return self

    def count(self) -> int:
        if self._known_count is not None and self._result_cache is None:
            return self._known_count()
        return super().count()


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
    # Which partition of geo_feature holds the rows (the value of its key `part`): 0 the shared
    # partition of the small artifacts, the artifact's own id for a big one with a partition of
    # its own (geo.loading decides while loading). Every read of the rows names it, so that
    # PostgreSQL prunes to that one partition when it plans the statement. 0 for an artifact
    # without rows: a read finds nothing in the shared partition.
    feature_part = models.BigIntegerField(default=0)
    # The finest zoom whose tiles read the thinning done once, by the worker after the import
    # (geo.overview); None: every zoom is thinned per request (small artifacts, lines and
    # polygons, a big map whose build has not run yet).
    tile_overview_zoom = models.SmallIntegerField(null=True, blank=True)
    # The coarsest zoom from which on no two sites share a thinning cell (geo.overview): tiles of
    # it and finer skip the thinning, which would keep every site anyway. None: not known (every
    # tile is thinned); geo.tiles.MAX_ZOOM + 1: sites share a cell even at the finest zoom searched.
    tile_sparse_zoom = models.SmallIntegerField(null=True, blank=True)

    objects = ArtifactQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["owner", "artifact_type"]),
            # The list's order per owner (icebox.selectors.artifact_list): its first page reads
            # the index's first rows instead of sorting every artifact the user owns.
            models.Index(fields=["owner", "-created", "-id"], name="icebox_artifact_owner_list"),
        ]

    def __str__(self):
        return f"{self.name} ({self.artifact_type}, #{self.pk})"

    def get_artifact_type_display(self) -> str:
        return kinds.title(self.artifact_type)


class ArtifactCountDelta(models.Model):
    """How many artifacts each owner has: the sum of their rows here.

    Written by triggers on icebox_artifact (migration 0004), one row per statement that inserts
    or deletes artifacts, in that statement's transaction: so the sum is exact in every snapshot,
    whatever path wrote the artifacts. Rows are only ever inserted (concurrent uploads of one
    owner take no lock on a shared counter row, which would serialise them) and summed up by
    housekeeping (`icebox.selectors.compact_artifact_counts`). The list's page count reads it
    instead of counting a hundred thousand rows (README "Storage layout").
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    delta = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["owner"], name="icebox_artifactcount_owner")]

