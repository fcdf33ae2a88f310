"""Migration geo 0004: one partition per artifact (keyed by artifact_id) to the layout keyed by `part`.

The database is taken back to geo 0003 by the migration's own reverse (every artifact in a
partition of its own, as the old loader left them), then forward again: the partitions must move
as they are (same files on disk: no row rewritten), keep their rows and indexes, and read as before.
"""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from artifacts.services import artifact_upload
from geo.loading import drop_orphan_partitions, orphan_partitions, partition_name
from icebox.models import Artifact
from tests.conftest import fixture_bytes
from tests.maps_support import body
from tests.support import partition_count, shared_row_count
from tests.synthetic import hazard_map_csv

OLD = [("geo", "0003_feature_geom_nullable")]


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    connection.close()  # a fresh connection: no cached catalog of the table that was replaced


def _latest() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _rows(artifact_id: int) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT idx, ST_AsEWKB(geom), properties::text FROM geo_feature WHERE artifact_id = %s ORDER BY idx", [artifact_id])
        return [(idx, bytes(geom) if geom is not None else None, props) for idx, geom, props in cursor.fetchall()]


def _files(artifact_ids) -> dict[int, int]:
    """The file on disk of each artifact's partition: the same one if its rows were not rewritten."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, relfilenode FROM pg_class WHERE relname = ANY(%s)", [[partition_name(a) for a in artifact_ids]]
        )
        return dict(cursor.fetchall())


def _parent_key() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_partkeydef('geo_feature'::regclass)")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_existing_partitions_move_to_the_new_parent_with_their_rows_and_files_unchanged(settings, client):
    owner = get_user_model().objects.create_user("owner", password="owner-password-1")
    settings.ICEBOX_SHARED_PARTITION_MAX_ROWS = 0
    [big] = artifact_upload(owner=owner, file_name="hazard_map-mean_5.csv", data=hazard_map_csv(20, 15, lon0=10.0, lat0=45.0))
    [table] = artifact_upload(owner=owner, file_name="calc2_output-12-realizations_2.csv", data=fixture_bytes("calc2_output-12-realizations_2.csv"))
    settings.ICEBOX_SHARED_PARTITION_MAX_ROWS = 20000
    [small] = artifact_upload(owner=owner, file_name="hazard_map-mean_2.csv", data=fixture_bytes("hazard_map-mean_2.csv"))
    [gone] = artifact_upload(owner=owner, file_name="hazard_uhs-mean_2.csv", data=fixture_bytes("hazard_uhs-mean_2.csv"))
    ids = [big.pk, table.pk, small.pk]
    gone_id = gone.pk
    client.force_login(owner)
    paths = [f"/artifact/{big.pk}?bbox=10.25,45.25,10.85,45.65", f"/artifact/{big.pk}/tiles/6/33/22.mvt", f"/artifact/{small.pk}", f"/artifact/{table.pk}/rows"]
    before = {path: body(client.get(path)) for path in paths}
    rows = {a: _rows(a) for a in ids}
    try:
        _migrate(OLD)
        assert _parent_key() == "LIST (artifact_id)"
        # The old layout, as the reverse left it: each artifact in a partition of its own.
        assert partition_count() == 4
        assert {a: _rows(a) for a in ids} == rows
        # An artifact deleted while its partition stayed (what the old sweep would have dropped later).
        # Its row only, as the code of that time deleted it: today's models would also delete
        # rows of tables the old schema has not got (geo_tile_overview). Feature is DO_NOTHING.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM icebox_artifact WHERE id = %s", [gone_id])
        with connection.cursor() as cursor:
            cursor.execute("UPDATE icebox_artifact SET feature_part = 0")  # what the column holds before 0004 fills it
        files = _files([*ids, gone_id])
        assert len(files) == 4

        _migrate(_latest())
        assert _parent_key() == "LIST (part)"
        assert _files([*ids, gone_id]) == files  # moved, not copied: no row rewritten
        assert {a: _rows(a) for a in ids} == rows
        assert shared_row_count() == 0
        for artifact_id in ids:
            assert Artifact.objects.get(pk=artifact_id).feature_part == artifact_id
        with connection.cursor() as cursor:
            cursor.execute("SELECT DISTINCT part FROM geo_feature WHERE artifact_id = %s", [big.pk])
            assert cursor.fetchall() == [(big.pk,)]
        # Its indexes came along (the filterable columns' too, on a table with some).
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s ORDER BY 1", [partition_name(big.pk)])
            assert [name for (name,) in cursor.fetchall()] == [f"{partition_name(big.pk)}_geom", f"{partition_name(big.pk)}_pkey"]
        client.force_login(owner)
        assert {path: body(client.get(path)) for path in paths} == before
        # The deleted artifact's partition moved too, and the sweep still finds and drops it.
        assert orphan_partitions() == [gone_id]
        assert drop_orphan_partitions() == 1
        assert partition_count() == 3
        # New uploads land in the new layout beside the moved partitions.
        [new] = artifact_upload(owner=owner, file_name="hazard_map-mean_2.csv", data=fixture_bytes("hazard_map-mean_2.csv"))
        assert new.feature_part == 0 and shared_row_count() == 3
    finally:
        _migrate(_latest())


@pytest.mark.django_db(transaction=True)
def test_an_interrupted_migration_carries_on_where_it_stopped():
    """Each partition moves in a transaction of its own: a run stopped halfway leaves some under
    the old parent and some under the new one, and the next run moves the rest."""
    owner = get_user_model().objects.create_user("owner")
    uploads = [artifact_upload(owner=owner, file_name=f"hazard_map-mean_{n}.csv", data=fixture_bytes("hazard_map-mean_2.csv"))[0] for n in range(3)]
    try:
        _migrate(OLD)
        migration = importlib.import_module("geo.migrations.0004_feature_part_layout")  # a name import cannot spell
        # Halfway: the new parent made and the first partition moved, the rest still under the old one.
        with connection.cursor() as cursor:
            cursor.execute(migration.CREATE_PARENT)
            first = partition_name(uploads[0].pk)
            cursor.execute(f'ALTER TABLE "{migration.OLD_PARENT}" DETACH PARTITION "{first}"')
            cursor.execute(f'ALTER TABLE "{first}" ADD COLUMN part bigint NOT NULL DEFAULT {uploads[0].pk}')
            cursor.execute(f'ALTER TABLE "{first}" ADD CONSTRAINT "{first}_part" CHECK (part = {uploads[0].pk})')
            cursor.execute(f'ALTER TABLE geo_feature ATTACH PARTITION "{first}" FOR VALUES IN ({uploads[0].pk})')
            cursor.execute("UPDATE icebox_artifact SET feature_part = id WHERE id = %s", [uploads[0].pk])
        _migrate(_latest())
        assert _parent_key() == "LIST (part)"
        assert partition_count() == 3
        for artifact in uploads:
            assert len(_rows(artifact.pk)) == 3
            assert Artifact.objects.get(pk=artifact.pk).feature_part == artifact.pk
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)", [migration.OLD_PARENT])
            assert cursor.fetchone()[0] is None
    finally:
        _migrate(_latest())
