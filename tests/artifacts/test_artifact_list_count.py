"""The list of artifacts with many of them: the page from the owner's index, the count from the
count deltas (icebox.models.ArtifactCountDelta) when all the user may read is their own."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from artifacts.services import artifact_delete, artifact_upload
from icebox.models import Artifact
from icebox.selectors import artifact_list, compact_artifact_counts, own_artifact_count
from sharing.services import share_create
from tests.conftest import fixture_bytes

pytestmark = pytest.mark.django_db

MAP = fixture_bytes("hazard_map-mean_2.csv")
HMAPS = fixture_bytes("calc2_output-10-hmaps-csv.zip")  # six CSVs: six artifacts in one upload


def _upload(owner, name="hazard_map-mean_2.csv", data=MAP):
    return artifact_upload(owner=owner, file_name=name, data=data)


def _counted(owner) -> int:
    return Artifact.objects.filter(owner=owner).count()


def test_the_owners_count_follows_uploads_deletes_and_the_compaction(owner, other_user):
    made = [*_upload(owner), *_upload(owner, "x.zip", HMAPS), *_upload(other_user)]
    assert own_artifact_count(owner.pk) == _counted(owner) == 7
    assert own_artifact_count(other_user.pk) == 1
    artifact_delete(artifact=made[0])
    assert own_artifact_count(owner.pk) == 6
    assert compact_artifact_counts() > 0
    assert own_artifact_count(owner.pk) == 6 and own_artifact_count(other_user.pk) == 1
    assert compact_artifact_counts() == 0  # one row per owner left: nothing more to sum up
    # An owner changed by hand (admin, SQL) moves the count too.
    Artifact.objects.filter(pk=made[1].pk).update(owner=other_user)
    assert (own_artifact_count(owner.pk), own_artifact_count(other_user.pk)) == (5, 2)
    # A delete rolled back takes its delta with it.
    with pytest.raises(RuntimeError), transaction.atomic():
        artifact_delete(artifact=made[2])
        raise RuntimeError
    assert own_artifact_count(owner.pk) == _counted(owner) == 5


def test_the_list_page_says_the_true_count_with_and_without_shares(owner, owner_client, other_user, grantee, grantee_client):
    for _ in range(3):
        _upload(owner)
    [shared] = _upload(other_user)
    [own] = _upload(grantee)
    assert grantee_client.get("/artifacts").json()["count"] == 1
    share_create(sharer=other_user, artifact=shared, user=grantee.username)
    page = grantee_client.get("/artifacts").json()
    assert page["count"] == 2
    assert [a["id"] for a in page["results"]] == [own.pk, shared.pk]
    assert grantee_client.get("/artifacts?shared=false").json()["count"] == 1
    assert grantee_client.get("/artifacts?shared=true").json()["count"] == 1
    assert owner_client.get("/artifacts").json()["count"] == 3
    assert owner_client.get("/artifacts?artifact_type=hazard_map").json()["count"] == 3
    assert owner_client.get("/artifacts?artifact_type=uhs").json()["count"] == 0


def test_the_count_of_a_filtered_list_is_counted_not_known(owner):
    _upload(owner)
    known = artifact_list(user=owner)
    assert known.count() == 1
    # Any filter after the list makes a clone, which counts its own rows.
    assert known.filter(artifact_type="uhs").count() == 0
    assert known.exclude(pk=known.get().pk).count() == 0


def test_the_first_page_of_an_owners_list_is_read_from_its_index_and_counted_without_counting_rows(owner, owner_client):
    for _ in range(3):
        _upload(owner)
    with CaptureQueriesContext(connection) as queries:
        assert owner_client.get("/artifacts").json()["count"] == 3
    statements = [q["sql"] for q in queries.captured_queries]
    assert not any("COUNT(" in sql.upper() and "icebox_artifact\"" in sql for sql in statements), statements
    [page] = [sql for sql in statements if 'FROM "icebox_artifact"' in sql and "ORDER BY" in sql]
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # three rows: the planner would rightly scan the table
        cursor.execute("EXPLAIN " + page)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    assert "icebox_artifact_owner_list" in plan, plan
    assert "Sort" not in plan, plan


@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_of_one_owner_are_all_counted():
    owner = get_user_model().objects.create_user("owner")
    start = threading.Barrier(4)
    errors = []

    def upload(n):
        try:
            start.wait(60)
            _upload(owner, f"hmaps-{n}.zip", HMAPS)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert own_artifact_count(owner.pk) == _counted(owner) == 24
