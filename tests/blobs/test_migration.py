"""Existing artifacts move from their bytea rows (ArtifactFile) into the blob store with their
bytes and sha256 unchanged: the schema is migrated back, rows are written as they were before,
and migrated forward again."""

from __future__ import annotations

import hashlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from blobs import store
from blobs.models import Blob
from icebox.models import Artifact
from tests.blobs.writer import pattern
from tests.support import stored_contents

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("icebox", "0002_artifact_type_from_kind_registry")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def leaf() -> list:
    # Every app's latest, not icebox's alone: going back to BEFORE also undid the migrations that
    # depend on icebox's later ones (geo's partition layout, the inputs app), and the rest of the
    # test session needs them all.
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def test_bytea_rows_migrate_into_the_store_with_their_sha256_and_back(owner, blob_backend):
    old = migrate(BEFORE)
    OldArtifact, OldFile = old.get_model("icebox", "Artifact"), old.get_model("icebox", "ArtifactFile")
    files = {"a.csv": b"lon,lat,v\n1,2,3\n", "b.hdf5": pattern(2 * 1024 * 1024 + 3), "same-as-a.csv": b"lon,lat,v\n1,2,3\n", "empty.txt": b""}
    ids = {}
    for name, data in files.items():
        artifact = OldArtifact.objects.create(owner_id=owner.pk, artifact_type="file", name=name, file_name=name, content_type="text/plain",
                                              size=len(data), sha256=hashlib.sha256(data).hexdigest(), metadata={})
        OldFile.objects.create(artifact=artifact, data=data)
        ids[name] = artifact.pk

    migrate(leaf())
    for name, data in files.items():
        artifact = Artifact.objects.select_related("blob").get(pk=ids[name])
        assert artifact.sha256 == artifact.blob.sha256 == hashlib.sha256(data).hexdigest()
        assert artifact.size == artifact.blob.size == len(data)
        assert store.read_all(artifact.sha256, size=artifact.size) == data
    # Identical bytes are one blob.
    assert Blob.objects.count() == 3 and stored_contents() == 3

    # And back: the bytea rows hold the same bytes again.
    old = migrate(BEFORE)
    OldFile = old.get_model("icebox", "ArtifactFile")
    assert {ids_name: bytes(OldFile.objects.get(artifact_id=pk).data) for ids_name, pk in ids.items()} == files
    migrate(leaf())


def test_bytes_that_do_not_match_their_recorded_sha256_stop_the_migration(owner, blob_backend):
    old = migrate(BEFORE)
    OldArtifact, OldFile = old.get_model("icebox", "Artifact"), old.get_model("icebox", "ArtifactFile")
    artifact = OldArtifact.objects.create(owner_id=owner.pk, artifact_type="file", name="x", file_name="x", content_type="text/plain",
                                          size=3, sha256=hashlib.sha256(b"abc").hexdigest(), metadata={})
    OldFile.objects.create(artifact=artifact, data=b"abd")
    try:
        with pytest.raises(RuntimeError, match="not the recorded"):
            migrate(leaf())
    finally:
        OldFile.objects.all().delete()
        OldArtifact.objects.all().delete()
        migrate(leaf())
