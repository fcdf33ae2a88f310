"""bench/artifacts.py's set-up on the real schema: the 100,000 small artifacts it adds by SQL must be
artifacts Icebox could have stored, or the benchmark stops before it measures anything."""

import pytest
from django.db import connection

from artifacts.services import artifact_upload
from bench.artifacts import SMALL, bulk_artifacts
from geo.selectors import feature_collection_chunks
from icebox.models import Artifact
from icebox.selectors import readable_artifact
from tests.synthetic import hazard_map_csv


@pytest.mark.django_db(transaction=True)
def test_the_bulk_copies_are_readable_artifacts_on_the_target_s_blob(owner):
    data = hazard_map_csv(SMALL["nlon"], SMALL["nlat"], lon0=SMALL["lon0"], lat0=SMALL["lat0"], step=SMALL["step"])
    [target] = artifact_upload(owner=owner, file_name="hazard_map-mean_100.csv", data=data)
    with connection.cursor() as cursor:
        bulk_artifacts(cursor, target_id=target.pk, count=3, rows=20)
    copies = Artifact.objects.exclude(pk=target.pk)
    assert copies.count() == 3
    assert {(c.blob_id, c.sha256, c.feature_count, c.feature_part) for c in copies} == {(target.blob_id, target.sha256, 20, 0)}
    for copy in copies:
        body = b"".join(feature_collection_chunks(readable_artifact(user=owner, artifact_id=copy.pk)))
        assert body.count(b'"type":"Feature"') == 20
