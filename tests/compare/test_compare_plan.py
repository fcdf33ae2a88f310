"""The matching is indexed: on a 100k-site pair, every nearest-neighbour lookup is a GiST index scan
of the other artifact's partition, never a nested loop over a sequential scan."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from artifacts.services import artifact_upload
from compare.selectors import comparison_pair, comparison_summary, comparison_tile
from geo.loading import partition_name
from icebox.selectors import readable_artifact
from tests.synthetic import hazard_map_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def big_pair(owner):
    data = hazard_map_csv(400, 250, lon0=5.0, lat0=40.0, step=0.01)
    [a] = artifact_upload(owner=owner, file_name="hazard_map-mean_31.csv", data=data)
    [b] = artifact_upload(owner=owner, file_name="hazard_map-mean_32.csv", data=data)
    assert a.feature_count == b.feature_count == 100_000
    return comparison_pair(a=readable_artifact(user=owner, artifact_id=a.pk), b=readable_artifact(user=owner, artifact_id=b.pk), tolerance_km=0.1)


def _plan(run) -> dict:
    with CaptureQueriesContext(connection) as queries:
        run()
    [sql] = [q["sql"] for q in queries.captured_queries if "ST_Distance" in q["sql"]]
    statement = sql[sql.index("SELECT ST_") if "ST_AsMVT" in sql else sql.index("SELECT count"):]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + statement)
        return cursor.fetchone()[0][0]["Plan"]


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _assert_lookups_use_the_gist_indexes(plan: dict, pair) -> None:
    nodes = list(_nodes(plan))
    indexes = {node.get("Index Name") for node in nodes if node["Node Type"] in ("Index Scan", "Bitmap Index Scan")}
    assert {partition_name(pair.a.pk) + "_geom", partition_name(pair.b.pk) + "_geom"} <= indexes, indexes
    for node in nodes:
        if node["Node Type"] == "Nested Loop":
            inner = node["Plans"][1]
            assert all(n["Node Type"] != "Seq Scan" for n in _nodes(inner)), f"a nested loop scans: {inner}"


def test_the_whole_map_matching_looks_up_through_the_gist_index(big_pair):
    plan = _plan(lambda: comparison_summary(big_pair))
    _assert_lookups_use_the_gist_indexes(plan, big_pair)


def test_a_tile_reads_its_sites_through_the_gist_index(big_pair):
    plan = _plan(lambda: comparison_tile(big_pair, z=10, x=531, y=383, layer="compare"))
    _assert_lookups_use_the_gist_indexes(plan, big_pair)
    assert all(n["Node Type"] != "Seq Scan" for n in _nodes(plan))


def test_the_100k_pair_matches_every_site(big_pair):
    summary = comparison_summary(big_pair)
    assert (summary["matched"], summary["only_a"], summary["only_b"]) == (100_000, 0, 0)
    assert summary["columns"]["PGA-0.002105"]["difference"] == {"min": 0.0, "max": 0.0, "mean": 0.0}
