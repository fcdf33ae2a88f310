from django.contrib.gis.db import models


class Feature(models.Model):
    """One site (or, later, one fault trace or source area) of an artifact.

    The table is partitioned by artifact: each artifact's rows sit in a partition of their own,
    built by `geo.loading` with COPY and indexed after loading, attached to the parent in the
    same transaction. Queries for one artifact touch only its partition and its small GiST index,
    however many artifacts the database holds, and deleting an artifact drops a table instead of
    deleting rows. The table is created by migration SQL (Django cannot declare partitioning);
    the model stays managed so that test flushes truncate it with the artifacts it references.
    """

    pk = models.CompositePrimaryKey("artifact_id", "idx")
    # DO_NOTHING: Django must not collect a million rows to delete them one by one;
    # `artifacts.services.artifact_delete` drops the partition.
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

    class Meta:
        db_table = "geo_feature"
