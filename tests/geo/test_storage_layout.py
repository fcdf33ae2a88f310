"""Where an artifact's rows are stored (geo.loading, README "Storage layout"): the shared
partition for a small artifact, a partition of its own for a big one; both read alike.

The threshold is a setting (ICEBOX_SHARED_PARTITION_MAX_ROWS): the tests move it around small
files instead of loading 20,000-row ones, so that the same file can land in either layout.
"""

from __future__ import annotations

import json
import re
import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction

import kinds
from artifacts.services import artifact_create, artifact_delete, artifact_upload
from geo.loading import SHARED_PARTITION, drop_orphan_partitions, orphan_partitions, partition_name
from geo.models import SHARED_PART
from icebox.models import Artifact
from tests.conftest import fixture_bytes
from tests.geo import event_points_kind
from tests.maps_support import body
from tests.support import partition_count, shared_row_count, upload
from tests.synthetic import hazard_map_csv

pytestmark = pytest.mark.django_db

MAP = hazard_map_csv(20, 15, lon0=10.0, lat0=45.0, step=0.1)  # 300 sites
MAP_ROWS = 300


def rows_of(artifact_id: int) -> list[tuple]:
    """Every stored row of the artifact, read through the parent without the partition key (tests only)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT part, idx, ST_AsEWKT(geom), properties::text FROM geo_feature WHERE artifact_id = %s ORDER BY idx", [artifact_id]
        )
        return cursor.fetchall()


def own_partition_exists(artifact_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [partition_name(artifact_id)])
        return cursor.fetchone()[0]


def upload_map(client, settings, *, max_shared_rows: int, data: bytes = MAP, name: str = "hazard_map-mean_5.csv") -> dict:
    settings.ICEBOX_SHARED_PARTITION_MAX_ROWS = max_shared_rows
    response = upload(client, name, data)
    assert response.status_code == 201, response.content
    [artifact] = response.json()["artifacts"]
    return artifact


# --- loading around the threshold ----------------------------------------------------------------


@pytest.mark.parametrize("max_shared_rows, shared", [(MAP_ROWS, True), (MAP_ROWS - 1, False), (0, False), (20000, True)])
def test_a_table_of_at_most_the_threshold_goes_to_the_shared_partition_one_row_more_to_its_own(owner_client, settings, max_shared_rows, shared):
    artifact = upload_map(owner_client, settings, max_shared_rows=max_shared_rows)
    stored = Artifact.objects.get(pk=artifact["id"])
    assert stored.feature_count == MAP_ROWS
    assert stored.feature_part == (SHARED_PART if shared else stored.pk)
    assert own_partition_exists(stored.pk) is not shared
    rows = rows_of(stored.pk)
    assert [idx for _, idx, _, _ in rows] == list(range(MAP_ROWS))
    assert {part for part, *_ in rows} == {stored.feature_part}
    assert shared_row_count() == (MAP_ROWS if shared else 0)


def test_the_same_file_is_stored_with_the_same_rows_in_either_layout(owner_client, settings):
    small = upload_map(owner_client, settings, max_shared_rows=MAP_ROWS)
    big = upload_map(owner_client, settings, max_shared_rows=MAP_ROWS - 1)
    assert [row[1:] for row in rows_of(small["id"])] == [row[1:] for row in rows_of(big["id"])]
    assert Artifact.objects.get(pk=small["id"]).bbox == Artifact.objects.get(pk=big["id"]).bbox


def test_a_parse_error_within_the_buffered_rows_is_the_parsers_and_leaves_nothing(owner, settings):
    settings.ICEBOX_SHARED_PARTITION_MAX_ROWS = 20000

    def rows():
        yield (10.0, 45.0), (1.0,)
        raise kinds.base.ParseError("row 1: the test's bad row", file_name="bad.csv")

    table = kinds.base.Table(
        file_name="bad.csv", artifact_type="hazard_map", metadata={}, columns=[kinds.base.Column("PGA-0.1", "PGA-0.1")],
        geometry="point", data=b"x", _rows=rows,
    )
    with pytest.raises(kinds.base.ParseError, match="the test's bad row"):
        artifact_create(owner=owner, table=table)
    assert Artifact.objects.count() == 0
    assert shared_row_count() == 0


# --- reads: identical from both layouts ----------------------------------------------------------


def _normalized(text: str, artifact_id: int) -> str:
    # Links and "artifact" members name the artifact: the only expected difference.
    text = re.sub(rf"/(artifact|collections)/{artifact_id}\b", r"/\1/ID", text)
    return re.sub(rf'"(artifact|a|b)": ?{artifact_id}\b', r'"\1":"ID"', text)


def _read_all(client, artifact_id: int, paths: list[str]) -> list:
    answers = []
    for path in paths:
        response = client.get(path.format(a=artifact_id))
        assert response.status_code == 200, (path, response.status_code, body(response)[:300])
        data = body(response)
        if path.split("?")[0].endswith(".mvt"):
            answers.append((path, data))  # no artifact id inside a tile
        else:
            answers.append((path, _normalized(data.decode(), artifact_id)))
    return answers


MAP_READS = [
    "/artifact/{a}",
    "/artifact/{a}?bbox=10.25,45.25,10.85,45.65",
    "/artifact/{a}?bbox=10.25,45.25,10.85,45.65&limit=5&offset=3",
    "/artifact/{a}?limit=7&offset=11",
    "/artifact/{a}?properties=PGA-0.002105",
    "/artifact/{a}/tiles/6/33/22.mvt",
    "/artifact/{a}/tiles/9/270/182.mvt",
    "/artifact/{a}/tiles/6/33/22.mvt?properties=PGA-0.002105",
    "/artifact/{a}/site?lon=10.42&lat=45.51",
    "/artifact/{a}/site?lon=10.42&lat=45.51&interpolate=true",
    "/artifact/{a}/rows?limit=9&offset=4",
    "/ogc/collections/{a}/items?bbox=10.25,45.25,10.85,45.65&limit=20",
    "/ogc/collections/{a}/items/17",
]


def test_map_reads_are_the_same_from_the_shared_partition_and_from_its_own(owner_client, settings):
    shared = upload_map(owner_client, settings, max_shared_rows=20000)
    own = upload_map(owner_client, settings, max_shared_rows=0)
    assert Artifact.objects.get(pk=shared["id"]).feature_part == SHARED_PART
    assert Artifact.objects.get(pk=own["id"]).feature_part == own["id"]
    from_shared = _read_all(owner_client, shared["id"], MAP_READS)
    from_own = _read_all(owner_client, own["id"], MAP_READS)
    for (path, a), (_, b) in zip(from_shared, from_own):
        assert a == b, path
    # Not vacuous: the reads found features, and the tiles are not empty.
    assert len(json.loads(from_shared[0][1])["features"]) == MAP_ROWS
    assert 0 < len(json.loads(from_shared[1][1])["features"]) < MAP_ROWS
    assert from_shared[5][1] != b""


FILTER_READS = [
    "/artifact/{a}?event_id=2",
    "/artifact/{a}?event_id=2&site=s3",
    "/artifact/{a}?event_id=1&bbox=10.0,40.0,10.03,40.02",
    "/artifact/{a}/tiles/10/540/387.mvt?event_id=3",
    "/artifact/{a}/rows?event_id=1&limit=4",
    "/ogc/collections/{a}/items?event_id=0&limit=50",
]


def test_filtered_reads_are_the_same_from_both_layouts(event_kind, owner_client, settings):
    data = event_points_kind.make_csv(4, 6, 5)
    shared = upload_map(owner_client, settings, max_shared_rows=20000, data=data, name="event-points_9.csv")
    own = upload_map(owner_client, settings, max_shared_rows=0, data=data, name="event-points_9.csv")
    from_shared = _read_all(owner_client, shared["id"], FILTER_READS)
    from_own = _read_all(owner_client, own["id"], FILTER_READS)
    for (path, a), (_, b) in zip(from_shared, from_own):
        assert a == b, path
    assert len(json.loads(from_shared[0][1])["features"]) == 30  # one event: every site once


def test_table_rows_are_the_same_from_both_layouts(owner_client, settings):
    data = fixture_bytes("calc2_output-12-realizations_2.csv")
    shared = upload_map(owner_client, settings, max_shared_rows=20000, data=data, name="calc2_output-12-realizations_2.csv")
    own = upload_map(owner_client, settings, max_shared_rows=0, data=data, name="calc2_output-12-realizations_2.csv")
    paths = ["/artifact/{a}/rows", "/artifact/{a}/rows?limit=1&offset=1"]
    assert _read_all(owner_client, shared["id"], paths) == _read_all(owner_client, own["id"], paths)
    assert json.loads(_read_all(owner_client, shared["id"], paths)[0][1])["rows"]


def test_a_comparison_is_the_same_from_both_layouts(owner_client, settings):
    # Other values at the same places (a value is a function of the site's index), some sites in one only.
    other = hazard_map_csv(18, 15, lon0=10.0, lat0=45.0, step=0.1)
    answers = []
    for threshold in (20000, 0):
        a = upload_map(owner_client, settings, max_shared_rows=threshold)
        b = upload_map(owner_client, settings, max_shared_rows=threshold, data=other)
        response = owner_client.get("/compare", {"a": a["id"], "b": b["id"]})
        assert response.status_code == 200, body(response)[:300]
        text = _normalized(_normalized(body(response).decode(), a["id"]), b["id"])
        tile = owner_client.get(f"/compare/tiles/6/33/22.mvt?a={a['id']}&b={b['id']}")
        assert tile.status_code == 200
        answers.append((text, body(tile)))
    assert answers[0] == answers[1]
    assert json.loads(answers[0][0])["features"]


def test_a_read_plans_on_the_one_partition_that_holds_the_artifact(owner_client, settings):
    """The partition key is in the statement: PostgreSQL prunes the others when planning."""
    shared = upload_map(owner_client, settings, max_shared_rows=20000)
    own = upload_map(owner_client, settings, max_shared_rows=0)
    from django.test.utils import CaptureQueriesContext

    for artifact, wanted, unwanted in ((shared, SHARED_PARTITION, partition_name(own["id"])), (own, partition_name(own["id"]), SHARED_PARTITION)):
        for path in ("/artifact/{a}?bbox=10.25,45.25,10.85,45.65", "/artifact/{a}/tiles/6/33/22.mvt", "/artifact/{a}/site?lon=10.42&lat=45.51"):
            with CaptureQueriesContext(connection) as queries:
                response = owner_client.get(path.format(a=artifact["id"]))
                assert response.status_code == 200
                body(response)  # a stream runs its statement as it is read
            [sql] = [q["sql"] for q in queries.captured_queries if "geo_feature" in q["sql"]]
            select = sql[sql.index("SELECT", sql.rindex("SET LOCAL")) if "SET LOCAL" in sql else 0:]
            # A stream declares its cursor, then checks that the artifact is still there.
            select = select.split("; SELECT array_agg(id)", 1)[0]
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN " + (select.split("; ", 1)[1] if select.startswith("SET") else select))
                plan = "\n".join(row[0] for row in cursor.fetchall())
            assert wanted in plan, (path, plan)
            assert unwanted not in plan, (path, plan)


# --- deletes -------------------------------------------------------------------------------------


def test_deleting_a_small_artifact_deletes_its_rows_in_the_deletes_transaction(owner, settings):
    settings.ICEBOX_SHARED_PARTITION_MAX_ROWS = 20000
    [kept] = artifact_upload(owner=owner, file_name="hazard_map-mean_5.csv", data=MAP)
    [gone] = artifact_upload(owner=owner, file_name="hazard_map-mean_6.csv", data=MAP)
    with transaction.atomic():
        artifact_delete(artifact=gone)
        # Already inside the transaction, not after it (no sweep, no partition to drop).
        assert rows_of(gone.pk) == []
        assert len(rows_of(kept.pk)) == MAP_ROWS
    assert shared_row_count() == MAP_ROWS
    assert orphan_partitions() == []


def test_a_small_artifacts_delete_rolled_back_keeps_its_rows(owner, settings):
    settings.ICEBOX_SHARED_PARTITION_MAX_ROWS = 20000
    [artifact] = artifact_upload(owner=owner, file_name="hazard_map-mean_5.csv", data=MAP)

    class Abort(Exception):
        pass

    artifact_id = artifact.pk
    with pytest.raises(Abort), transaction.atomic():
        artifact_delete(artifact=artifact)
        raise Abort
    assert len(rows_of(artifact_id)) == MAP_ROWS


@pytest.mark.django_db(transaction=True)
def test_deleting_a_big_artifact_drops_its_partition_and_leaves_the_shared_one(settings):
    owner = get_user_model().objects.create_user("owner")
    settings.ICEBOX_SHARED_PARTITION_MAX_ROWS = MAP_ROWS - 1
    [big] = artifact_upload(owner=owner, file_name="hazard_map-mean_5.csv", data=MAP)
    settings.ICEBOX_SHARED_PARTITION_MAX_ROWS = 20000
    [small] = artifact_upload(owner=owner, file_name="hazard_map-mean_6.csv", data=MAP)
    assert partition_count() == 1
    big_id = big.pk
    artifact_delete(artifact=big)
    assert partition_count() == 0
    assert not own_partition_exists(big_id)
    assert len(rows_of(small.pk)) == MAP_ROWS
    artifact_delete(artifact=small)
    assert shared_row_count() == 0
    # The sweep knows the shared partition is no artifact's own: nothing to drop, and it stays.
    assert orphan_partitions() == []
    assert drop_orphan_partitions() == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [SHARED_PARTITION])
        assert cursor.fetchone()[0]


# --- concurrent uploads --------------------------------------------------------------------------


def _in_thread(fn):
    """Run `fn` on a thread of its own (its own database connection); the result or the exception."""
    from django.db import connections

    outcome = {}

    def target():
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # reported to the test
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    return thread, outcome


@pytest.mark.django_db(transaction=True)
def test_a_small_upload_does_not_wait_for_another_uploads_open_transaction(settings):
    """With a partition per artifact, the second upload's ATTACH waited for the first one's
    commit (both lock the parent); into the shared partition two uploads take row locks only."""
    settings.ICEBOX_SHARED_PARTITION_MAX_ROWS = 20000
    owner = get_user_model().objects.create_user("owner")
    loaded, release = threading.Event(), threading.Event()

    def first():
        with transaction.atomic():
            [artifact] = artifact_upload(owner=owner, file_name="hazard_map-mean_5.csv", data=MAP)
            loaded.set()
            assert release.wait(60), "the test never released the first upload"
        return artifact.pk

    def second():
        # Other bytes: two uploads of the same bytes do wait for each other, on the blob's lock
        # (blobs.store: identical bytes are stored once), which is not what this test is about.
        [artifact] = artifact_upload(owner=owner, file_name="hazard_map-mean_6.csv", data=MAP.replace(b"\n", b"\r\n"))
        return artifact.pk

    first_thread, first_outcome = _in_thread(first)
    try:
        assert loaded.wait(60), first_outcome
        second_thread, second_outcome = _in_thread(second)
        # If the second waited for the first's lock it could only end after `release`: it must end before.
        second_thread.join(60)
        assert not second_thread.is_alive(), "the second upload waited for the first one's transaction"
        assert "error" not in second_outcome, second_outcome
        assert len(rows_of(second_outcome["value"])) == MAP_ROWS
    finally:
        release.set()
        first_thread.join(60)
    assert "error" not in first_outcome, first_outcome
    assert len(rows_of(first_outcome["value"])) == MAP_ROWS


@pytest.mark.django_db(transaction=True)
def test_concurrent_small_and_big_uploads_all_land_with_their_rows(settings):
    settings.ICEBOX_SHARED_PARTITION_MAX_ROWS = 100
    owner = get_user_model().objects.create_user("owner")
    small = hazard_map_csv(10, 10, lon0=10.0, lat0=45.0, step=0.1)  # 100 rows: shared
    files = [("hazard_map-mean_5.csv", MAP), ("hazard_map-mean_6.csv", MAP)] + [(f"hazard_map-mean_{7 + i}.csv", small) for i in range(6)]
    start = threading.Barrier(len(files))

    def uploader(name, data):
        def run():
            start.wait(60)
            [artifact] = artifact_upload(owner=owner, file_name=name, data=data)
            return artifact.pk

        return run

    threads = [_in_thread(uploader(name, data)) for name, data in files]
    for thread, _ in threads:
        thread.join(120)
    outcomes = [outcome for _, outcome in threads]
    assert all("value" in outcome for outcome in outcomes), outcomes
    for (name, data), outcome in zip(files, outcomes):
        artifact = Artifact.objects.get(pk=outcome["value"])
        expected = MAP_ROWS if data is MAP else 100
        assert artifact.feature_count == expected
        assert len(rows_of(artifact.pk)) == expected
        assert artifact.feature_part == (artifact.pk if data is MAP else SHARED_PART)
    assert partition_count() == 2
    assert shared_row_count() == 600
