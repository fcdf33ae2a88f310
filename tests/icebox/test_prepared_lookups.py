"""The lookups every tile makes, prepared (core.prepared): run by name from a connection's second
request on, and still answering from the rows of the moment."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from tests.maps_support import upload_grid


@pytest.fixture
def tilejson(owner_client):
    artifact, _ = upload_grid(owner_client, 6, 5)
    return f"/artifact/{artifact['id']}/tiles.json"


def test_a_request_runs_the_token_throttle_and_artifact_lookups_by_name(owner_client, tilejson):
    assert owner_client.get(tilejson).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert owner_client.get(tilejson).status_code == 200
    sent = [q["sql"] for q in queries.captured_queries]
    # icebox_<label>_<digest>[_<generation>] (core.prepared)
    labels = [re.fullmatch(r"icebox_(\w+?)_[0-9a-f]{12}(_[0-9]+)?", sql.split()[1]).group(1) for sql in sent]
    assert labels == ["token_user_by_key", "throttle_hit", "readable_artifact"], sent
    assert all(sql.startswith("EXECUTE ") for sql in sent), sent


def test_a_deleted_token_is_refused_on_the_next_request(owner, owner_client, tilejson):
    assert owner_client.get(tilejson).status_code == 200
    Token.objects.filter(user=owner).delete()
    response = owner_client.get(tilejson)
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid token."
