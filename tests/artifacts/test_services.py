"""Services on their own, where the HTTP layer would hide what matters."""

import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from artifacts.services import artifact_delete, artifact_upload
from geo.loading import drop_orphan_partitions, drop_partition, orphan_partitions
from icebox.models import Artifact
from tests.conftest import fixture_bytes
from tests.pg_sessions import other_session
from tests.support import partition_count


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("read", ["of the same artifact", "of another artifact"])
def test_a_delete_does_not_wait_for_a_read_in_progress_and_the_sweep_drops_the_partition_once_it_ends(read, settings):
    settings.ICEBOX_SHARED_PARTITION_MAX_ROWS = 0  # partitions of their own (the shared one's rows go with the delete)
    user = get_user_model().objects.create_user("owner")
    [artifact] = artifact_upload(owner=user, file_name="hazard_map-mean_2.csv", data=fixture_bytes("hazard_map-mean_2.csv"))
    [other] = artifact_upload(owner=user, file_name="hazard_uhs-mean_2.csv", data=fixture_bytes("hazard_uhs-mean_2.csv"))
    artifact_id = artifact.pk
    read_id = artifact_id if read == "of the same artifact" else other.pk

    reader = other_session()
    try:
        with reader.cursor() as cursor:
            # A stream in progress: its transaction holds a lock on the feature table.
            cursor.execute("SELECT count(*) FROM geo_feature WHERE artifact_id = %s", [read_id])
            assert cursor.fetchone()[0] == 3
            artifact_delete(artifact=artifact)
            assert not Artifact.objects.filter(pk=artifact_id).exists()
            # The partition outlives the read, and the sweep cannot drop it while the read goes on.
            assert orphan_partitions() == [artifact_id]
            assert drop_orphan_partitions() == 0
            cursor.execute("SELECT count(*) FROM geo_feature WHERE artifact_id = %s", [read_id])
            assert cursor.fetchone()[0] == 3
    finally:
        reader.rollback()
        reader.close()

    deadline = time.monotonic() + 30
    while orphan_partitions():
        drop_orphan_partitions()
        assert time.monotonic() < deadline, "the sweep never dropped the partition"
    assert partition_count() == 1
    assert Artifact.objects.get().pk == other.pk


@pytest.mark.django_db(transaction=True)
def test_a_delete_with_no_read_in_progress_drops_the_partition_at_once(settings):
    settings.ICEBOX_SHARED_PARTITION_MAX_ROWS = 0
    user = get_user_model().objects.create_user("owner")
    [artifact] = artifact_upload(owner=user, file_name="hazard_map-mean_2.csv", data=fixture_bytes("hazard_map-mean_2.csv"))
    artifact_delete(artifact=artifact)
    assert partition_count() == 0
    assert orphan_partitions() == []


def test_dropping_a_partition_inside_a_transaction_is_refused(db):
    with transaction.atomic(), pytest.raises(RuntimeError, match="outside a transaction"):
        drop_partition(artifact_id=1, lock_timeout_ms=10)


@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_each_get_their_own_partition(settings):
    settings.ICEBOX_SHARED_PARTITION_MAX_ROWS = 0  # (small ones into the shared partition: tests/geo/test_storage_layout.py)
    user = get_user_model().objects.create_user("owner")
    errors = []

    def upload(name):
        try:
            artifact_upload(owner=user, file_name=name, data=fixture_bytes("calc2_output-10-hmaps-csv.zip"))
        except Exception as exc:  # reported below: a thread's exception would otherwise vanish
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload, args=(f"hmaps-{n}.zip",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Artifact.objects.count() == 18
    assert partition_count() == 18
