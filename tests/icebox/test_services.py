"""Services on their own, where the HTTP layer would hide what matters."""

import threading

import psycopg2
import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from icebox.exceptions import Busy
from icebox.models import Artifact
from icebox.services import artifact_delete, artifact_upload
from tests.conftest import fixture_bytes
from tests.support import partition_count


def _other_connection():
    """A second session on the test database, as another request or worker would have."""
    params = connection.get_connection_params()
    return psycopg2.connect(**{k: v for k, v in params.items() if k in ("dbname", "user", "password", "host", "port")})


@pytest.mark.django_db(transaction=True)
def test_delete_waiting_on_a_long_read_gives_up_busy_and_works_once_the_read_ends(settings):
    settings.ICEBOX_DELETE_LOCK_TIMEOUT_MS = 300
    user = get_user_model().objects.create_user("owner")
    [artifact] = artifact_upload(owner=user, file_name="hazard_map-mean_2.csv", data=fixture_bytes("hazard_map-mean_2.csv"))
    [other] = artifact_upload(owner=user, file_name="hazard_uhs-mean_2.csv", data=fixture_bytes("hazard_uhs-mean_2.csv"))

    reader = _other_connection()
    try:
        with reader.cursor() as cursor:
            # A stream of another artifact's map in progress: its transaction holds a lock on the parent table.
            cursor.execute("SELECT count(*) FROM geo_feature WHERE artifact_id = %s", [other.pk])
            assert cursor.fetchone()[0] == 3
            with pytest.raises(Busy, match="try again"):
                artifact_delete(artifact=artifact)
        assert Artifact.objects.filter(pk=artifact.pk).exists()
        assert partition_count() == 2
    finally:
        reader.rollback()
        reader.close()

    artifact_delete(artifact=artifact)
    assert not Artifact.objects.filter(pk=artifact.pk).exists()
    assert partition_count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_each_get_their_own_partition():
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
