"""Feature streams on their own, where the HTTP layer would hide the moment that matters."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Polygon
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from artifacts.services import artifact_delete, artifact_upload
from core.exceptions import NotFound
from geo.selectors import FETCH_ROWS, comma_joined, feature_collection_chunks, feature_text, vector_tile
from icebox.selectors import ReadableArtifact, readable_artifact
from tests.conftest import fixture_bytes
from tests.pg_sessions import other_session
from tests.support import partition_count
from tests.synthetic import hazard_map_csv


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
    reader = other_session() if partition != "dropped" else None
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


def _grid_map(user, nlon=60, nlat=50):
    """A map of nlon x nlat sites, 0.1 degree apart from (5, 40): more rows than one FETCH_ROWS."""
    data = hazard_map_csv(nlon, nlat, lon0=5.0, lat0=40.0, step=0.1)
    [artifact] = artifact_upload(owner=user, file_name=f"hazard_map-mean_{nlon * nlat}.csv", data=data)
    return artifact, data


def _sites_of(data: bytes) -> list[tuple[float, float, dict]]:
    """Independently of Icebox: (lon, lat, values) of each site, in file order."""
    lines = data.decode().splitlines()
    header = lines[1].split(",")
    sites = []
    for line in lines[2:]:
        cells = line.split(",")
        sites.append((float(cells[0]), float(cells[1]), {name: float(value) for name, value in zip(header[2:], cells[2:])}))
    return sites


@pytest.mark.django_db(transaction=True)
def test_a_bbox_stream_of_many_fetches_is_every_site_in_the_box_once_in_file_order():
    artifact, data = _grid_map(get_user_model().objects.create_user("owner"))
    box = (6.05, 41.05, 10.55, 44.55)  # 45 x 35 sites: 1,575 features, two fetches
    assert 45 * 35 > FETCH_ROWS
    chunks = list(feature_collection_chunks(_readable(artifact), envelopes=[Polygon.from_bbox(box)]))
    body = json.loads(b"".join(chunks))
    expected = [(idx, lon, lat, values) for idx, (lon, lat, values) in enumerate(_sites_of(data))
                if box[0] <= lon <= box[2] and box[1] <= lat <= box[3]]
    assert len(expected) == 45 * 35
    assert [(f["id"], *f["geometry"]["coordinates"], f["properties"]) for f in body["features"]] == expected
    assert len(chunks) > 3  # the opening, rows of more than one fetch, the closing


@pytest.mark.django_db(transaction=True)
def test_text_reaches_the_client_as_the_utf8_postgresql_sent():
    # An engine export's exposure tags are UTF-8 text ("Alhué" in scenario_damage/case_1).
    [artifact] = artifact_upload(owner=get_user_model().objects.create_user("owner"), file_name="avg_damages-rlz-000_7.csv",
                                 data=fixture_bytes("damage1_calc7_output-47-avg_damages-rlz-000_7.csv"))
    body = b"".join(feature_collection_chunks(_readable(artifact)))
    assert '"region": "Alhué"'.encode() in body
    assert [f["properties"]["region"] for f in json.loads(body)["features"]] == ["?", "?", "Alhué"]


@pytest.mark.django_db(transaction=True)
def test_each_feature_text_of_a_subset_is_made_after_the_sort_as_its_row_is_fetched():
    """PostgreSQL makes the texts above the sort, row by row as the cursor is read, so that the web
    worker sends one chunk while the next is made; made below it, every text of the subset would
    be made before the first row is fetched."""
    artifact, _ = _grid_map(get_user_model().objects.create_user("owner"))
    with CaptureQueriesContext(connection) as queries:
        # 10 x 10 of the 3,000 sites: found by the GiST index, then sorted into file order.
        list(feature_collection_chunks(_readable(artifact), envelopes=[Polygon.from_bbox((6.05, 41.05, 6.95, 41.95))]))
    [sent] = [q["sql"] for q in queries.captured_queries if "ST_AsGeoJSON" in q["sql"]]
    # The stream's DECLARE (sent after its planner settings, before the artifact's check), planned
    # as it was: a cursor read to its end (geo.selectors._CURSOR_PLANNER).
    statement = sent[sent.index("DECLARE "):sent.index("; SELECT array_agg(id)")]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL cursor_tuple_fraction = 1")
        cursor.execute("EXPLAIN (VERBOSE, COSTS OFF) " + statement)
        plan = [line for (line,) in cursor.fetchall()]
    assert any("Sort" in line for line in plan), plan
    outputs = [line for line in plan if line.strip().startswith("Output:")]
    making_text = [n for n, line in enumerate(outputs) if "st_asgeojson" in line]
    assert making_text == [0], outputs  # the top node's output only


def test_batches_comma_joined_one_after_another_are_the_members_joined_by_commas():
    batches = [[b'{"a":1}', b'{"b":2}'], [b'{"c":3}'], [b'{"d":"\xc3\xa9"}', b"{}"]]
    chunks = [comma_joined(batch, first=n == 0) for n, batch in enumerate(batches)]
    assert b"".join(chunks) == b",".join(member for batch in batches for member in batch)
    assert json.loads(b"[" + b"".join(chunks) + b"]") == [{"a": 1}, {"b": 2}, {"c": 3}, {"d": "é"}, {}]
