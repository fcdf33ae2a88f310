"""geo.loading: every geometry a kind's rows may carry, and every column type, as PostGIS stores them."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from artifacts.services import artifact_create
from kinds.base import BOOL, FLOAT, INT, TEXT, Column, ParseError, Shape, Table
from tests.support import partition_count

COLUMNS = [Column("n", "count", dtype=INT), Column("ok", "flag", dtype=BOOL), Column("tag", "tag", dtype=TEXT),
           Column("x", "value", dtype=FLOAT)]


def table(rows, *, geometry="line") -> Table:
    return Table("rows.csv", "file", {}, list(COLUMNS), geometry, data=b"a file", _rows=lambda: iter(rows))


def stored(artifact_id: int) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT idx, ST_AsText(geom), ST_SRID(geom), properties::text FROM geo_feature WHERE artifact_id = %s ORDER BY idx",
                       [artifact_id])
        return cursor.fetchall()


@pytest.mark.django_db
def test_shapes_points_and_rows_without_geometry_load_through_one_path():
    owner = get_user_model().objects.create_user("owner")
    rows = [
        (Shape("LineString", ((10.0, 45.0), (11.5, 46.25, 7.0))), (3, True, 'a "quoted" \\ tag', 0.1)),
        (Shape("Polygon", (((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)),)), (-2, False, "b", 0.25)),
        (None, (None, None, None, 2.5)),
        ((-179.5, -89.0), (0, True, "", 0.0)),
        (Shape("MultiPolygon", ((((2.0, 2.0), (3.0, 2.0), (3.0, 3.0), (2.0, 2.0)),),)), (1, False, "c", -1.5)),
    ]

    artifact = artifact_create(owner=owner, table=table(rows))

    assert stored(artifact.pk) == [
        (0, "LINESTRING(10 45,11.5 46.25)", 4326, '{"n": 3, "x": 0.1, "ok": true, "tag": "a \\"quoted\\" \\\\ tag"}'),
        (1, "POLYGON((0 0,1 0,1 1,0 0))", 4326, '{"n": -2, "x": 0.25, "ok": false, "tag": "b"}'),
        (2, None, None, '{"n": null, "x": 2.5, "ok": null, "tag": null}'),
        (3, "POINT(-179.5 -89)", 4326, '{"n": 0, "x": 0.0, "ok": true, "tag": ""}'),
        (4, "MULTIPOLYGON(((2 2,3 2,3 3,2 2)))", 4326, '{"n": 1, "x": -1.5, "ok": false, "tag": "c"}'),
    ]
    assert artifact.feature_count == 5
    assert artifact.bbox == [-179.5, -89.0, 11.5, 46.25]


@pytest.mark.django_db
def test_a_table_without_geometry_has_rows_and_no_extent():
    owner = get_user_model().objects.create_user("owner")

    artifact = artifact_create(owner=owner, table=table([(None, (1, True, "a", 1.0)), (None, (2, False, "b", 2.0))], geometry=None))

    assert [row[1] for row in stored(artifact.pk)] == [None, None]
    assert (artifact.feature_count, artifact.bbox) == (2, None)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("shape, message", [
    (Shape("Circle", ((0.0, 0.0),)), "rows.csv: row 1: geometry 'Circle' is not one of"),
    (Shape("LineString", ()), "rows.csv: row 1: empty LineString"),
])
def test_a_shape_the_loader_cannot_write_fails_the_artifact_naming_the_row(shape, message):
    owner = get_user_model().objects.create_user("owner")
    before = partition_count()

    with pytest.raises(ParseError) as caught:
        artifact_create(owner=owner, table=table([(None, (1, True, "a", 1.0)), (shape, (1, True, "a", 1.0))]))

    assert str(caught.value).startswith(message)
    assert partition_count() == before


@pytest.mark.django_db(transaction=True)
def test_postgis_refuses_a_malformed_shape_and_nothing_is_left():
    owner = get_user_model().objects.create_user("owner")
    before = partition_count()

    # A polygon ring needs four points: PostGIS's parser says so, the transaction rolls back.
    rows = [(None, (1, True, "a", 1.0)), (Shape("Polygon", (((0.0, 0.0), (1.0, 0.0), (1.0, 1.0)),)), (1, True, "a", 1.0))]
    with pytest.raises(ParseError) as caught:
        artifact_create(owner=owner, table=table(rows))

    assert str(caught.value) == "rows.csv: row 1: PostGIS refused the geometry: geometry requires more points"

    assert partition_count() == before


@pytest.mark.django_db
def test_a_partition_of_its_own_has_statistics_from_a_small_sample_once_stored(settings):
    """The planner's statistics are there as soon as the artifact is (without them the nearest
    site was found by sorting every site), from a sample of STATISTICS_TARGET x 300 rows."""
    from geo.loading import STATISTICS_TARGET, partition_name

    settings.ICEBOX_SHARED_PARTITION_MAX_ROWS = 10
    owner = get_user_model().objects.create_user("owner")
    rows = [((5.0 + (n % 100) * 0.01, 40.0 + (n // 100) * 0.01), (n, n % 2 == 0, f"t{n}", n * 0.5)) for n in range(5000)]
    artifact = artifact_create(owner=owner, table=table(rows, geometry="point"))
    assert artifact.feature_part == artifact.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT attname, histogram_bounds::text FROM pg_stats WHERE tablename = %s", [partition_name(artifact.pk)])
        stats = dict(cursor.fetchall())
    assert {"idx", "geom", "properties", "artifact_id"} <= set(stats)
    # A histogram has at most target + 1 bounds: the partition was analysed with the small target.
    assert len(stats["idx"].strip("{}").split(",")) == STATISTICS_TARGET + 1
