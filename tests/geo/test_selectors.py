"""Feature streams on their own, where the HTTP layer would hide the moment that matters."""

import json

import psycopg2
import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from artifacts.services import artifact_delete, artifact_upload
from core.exceptions import NotFound
from geo.selectors import feature_collection_chunks, feature_text, vector_tile
from icebox.selectors import ReadableArtifact, readable_artifact
from tests.conftest import fixture_bytes
from tests.support import partition_count


def _other_connection():
    """A second session on the test database, as another request would have."""
    params = connection.get_connection_params()
    return psycopg2.connect(**{k: v for k, v in params.items() if k in ("dbname", "user", "password", "host", "port")})


@pytest.fixture(autouse=True, params=["shared", "own"])
def layout(request, settings):
    """Every test here in both layouts: the rows in the shared partition (deleted with the
    artifact) and in a partition of its own (dropped after the delete's commit)."""
    settings.ICEBOX_SHARED_PARTITION_MAX_ROWS = 20000 if request.param == "shared" else 0
    return request.param


def _map(user):
    [artifact] = artifact_upload(owner=user, file_name="hazard_map-mean_2.csv", data=fixture_bytes("hazard_map-mean_2.csv"))
    return artifact


def _readable(artifact):
    return readable_artifact(user=artifact.owner, artifact_id=artifact.pk)


@pytest.mark.django_db(transaction=True)
def test_a_stream_whose_artifact_is_deleted_before_its_rows_are_read_breaks_instead_of_ending_empty():
    artifact = _map(get_user_model().objects.create_user("owner"))
    # The view has looked the artifact up and the response has started...
    chunks = feature_collection_chunks(_readable(artifact))
    assert next(chunks) == b'{"type":"FeatureCollection","features":['
    # ...when a delete commits and, no read holding the table, drops the partition at once.
    artifact_delete(artifact=artifact)
    assert partition_count() == 0
    with pytest.raises(NotFound):
        list(chunks)


@pytest.mark.django_db(transaction=True)
def test_a_stream_of_an_artifact_that_is_still_there_reads_every_feature():
    artifact = _map(get_user_model().objects.create_user("owner"))
    body = b"".join(feature_collection_chunks(_readable(artifact)))
    assert [f["id"] for f in json.loads(body)["features"]] == [0, 1, 2]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("partition", ["dropped", "still there, held by a read"])
def test_a_tile_of_an_artifact_deleted_after_it_was_looked_up_is_not_found_not_empty(partition, layout):
    artifact = _map(get_user_model().objects.create_user("owner"))
    artifact_id = artifact.pk
    readable = _readable(artifact)
    # z0 holds every site of the map: a tile with features, were the artifact still there.
    assert vector_tile(readable, z=0, x=0, y=0, layer="m") != b""
    reader = _other_connection() if partition != "dropped" else None
    try:
        if reader is not None:
            with reader.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM geo_feature WHERE artifact_id = %s", [artifact_id])
        artifact_delete(artifact=artifact)
        assert partition_count() == (0 if reader is None or layout == "shared" else 1)
        with pytest.raises(NotFound):
            vector_tile(readable, z=0, x=0, y=0, layer="m")
    finally:
        if reader is not None:
            reader.rollback()
            reader.close()


@pytest.mark.django_db
def test_readers_of_rows_refuse_what_did_not_come_through_the_access_check(owner, other_user):
    artifact = _map(owner)
    for bare in [artifact.pk, artifact]:
        with pytest.raises(TypeError, match="ReadableArtifact"):
            list(feature_collection_chunks(bare))
        with pytest.raises(TypeError, match="ReadableArtifact"):
            vector_tile(bare, z=0, x=0, y=0, layer="m")
        with pytest.raises(TypeError, match="ReadableArtifact"):
            feature_text(bare, 0)
    with pytest.raises(TypeError, match="readable_artifact"):
        ReadableArtifact(artifact)
    with pytest.raises(NotFound):
        readable_artifact(user=other_user, artifact_id=artifact.pk)
    assert json.loads(feature_text(_readable(artifact), 0))["id"] == 0
