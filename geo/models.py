from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField

# The value of Feature.part for the partition shared by the small artifacts (geo.loading);
# a big artifact's partition has its own id (ids start at 1).
SHARED_PART = 0


class Feature(models.Model):
    """One site (or, later, one fault trace or source area) of an artifact.

    The table is partitioned by `part` (LIST): the rows of every small artifact sit together in
    the shared partition (part 0, indexed on (artifact_id, ...)), a big artifact's in a partition
    of its own (part = its id), built by `geo.loading` with COPY, indexed after loading and
    attached to the parent in the same transaction. `Artifact.feature_part` says which, and every
    query of an artifact's rows filters on it (`features_of`), so that PostgreSQL plans it on that
    one partition, whatever the number of artifacts. README "Storage layout" says why.
    The table is created by migration SQL (Django cannot declare partitioning); the model stays
    managed so that test flushes truncate it with the artifacts it references.
    """

    # In the database the table has no primary key (a partitioned table's would have to hold
    # `part`): each partition has its own, (artifact_id, idx), which is what Django is told here.
    pk = models.CompositePrimaryKey("artifact_id", "idx")
    # DO_NOTHING: Django must not collect a million rows to delete them one by one;
    # `artifacts.services.artifact_delete` deletes them (shared) or drops the partition (own).
    # No database constraint: attaching a partition would have to add the constraint to it, locking
    # icebox_artifact against the concurrent imports that insert into it (a deadlock, see
    # tests/artifacts/test_services.py). The partition's CHECK and bound tie the rows to their artifact.
    artifact = models.ForeignKey("icebox.Artifact", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    # The site's row index in the original file (0 = first data row).
    idx = models.IntegerField()
    # NULL for a row of a table without coordinates (realizations, events, ...).
    geom = models.GeometryField(srid=4326, null=True)
    # Every data column under its original header name, with the file's value.
    properties = models.JSONField()
    # The partition key: SHARED_PART, or the artifact's id for an artifact with a partition of its own.
    part = models.BigIntegerField()

    class Meta:
        db_table = "geo_feature"


# Planner settings for every read of features (shared/PERF-NOTES.md): JIT compilation and parallel
# workers cost more than they save on these short statements. SET LOCAL, sent with the statement.
READ_PLANNER = "SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0; "


def planner_for(*artifacts) -> str:
    """SET LOCAL statements for a statement reading these artifacts' rows ('' for none needed).

    In the shared partition an artifact's rows are found by its primary key (artifact_id, idx)
    or by the GiST index on (artifact_id, geom). Left to itself the planner also ANDs a bitmap of
    the primary key with one of the GiST index probed by the geometry alone, which reads the rows
    of every artifact in the box (measured: 1.5 to 20 ms instead of 0.1 with 100,000 artifacts,
    growing with the artifacts at the same place). Without bitmap scans it takes one of the two.
    """
    if any(artifact.feature_part == SHARED_PART for artifact in artifacts):
        return "SET LOCAL enable_bitmapscan = off; "
    return ""


def features_of(artifact) -> models.QuerySet:
    """The rows of `artifact` (an icebox Artifact), on the one partition that holds them.

    The partition key comes first and is a literal in the SQL psycopg2 sends, so PostgreSQL
    prunes the other partitions when it plans: no lookup of the artifact table, no scan of them.
    """
    return Feature.objects.filter(part=artifact.feature_part, artifact_id=artifact.pk)


class TileOverview(models.Model):
    """One cell of one low zoom of a big map, thinned once after its import (geo.overview): who it keeps.

    `winners[1]` (SQL arrays count from 1) is the cell's lowest idx, `winners[i + 1]` the idx
    with the cell's largest value of the artifact's i-th thinning column (geo.thinning.thin_columns),
    ties and no value the lowest idx. The primary key is what a tile reads: its zoom, then its
    range of cells.
    """

    pk = models.CompositePrimaryKey("artifact_id", "z", "cx", "cy")
    # Deleted with the artifact by Django, in its transaction (one DELETE by the primary key).
    # No database constraint: checking it would cost a trigger per row an import inserts (100,000
    # for a 1M-site map), for rows only geo.overview writes. No index of its own: the primary key
    # starts with it.
    artifact = models.ForeignKey("icebox.Artifact", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False)
    z = models.SmallIntegerField()
    cx = models.BigIntegerField()
    cy = models.BigIntegerField()
    winners = ArrayField(models.IntegerField())

    class Meta:
        db_table = "geo_tile_overview"
