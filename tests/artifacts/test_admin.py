"""The Django admin lists artifacts, and deleting there removes the features too."""

import pytest
from django.contrib.auth import get_user_model

from artifacts.services import artifact_upload
from icebox.models import Artifact
from tests.conftest import fixture_bytes
from tests.support import partition_count


def _staff_client(client):
    admin = get_user_model().objects.create_superuser("admin", password="admin-password-1")
    client.force_login(admin)
    return admin


def test_admin_lists_artifacts(client, owner):
    artifact_upload(owner=owner, file_name="hazard_map-mean_2.csv", data=fixture_bytes("hazard_map-mean_2.csv"))
    _staff_client(client)
    response = client.get("/admin/icebox/artifact/")
    assert response.status_code == 200
    assert b"hazard_map-mean_2" in response.content


# Committed: the partitions are dropped once the deletes have committed.
@pytest.mark.django_db(transaction=True)
def test_admin_bulk_delete_drops_the_feature_partitions(client, owner):
    artifacts = artifact_upload(owner=owner, file_name="hmaps.zip", data=fixture_bytes("calc2_output-10-hmaps-csv.zip"))
    _staff_client(client)
    response = client.post(
        "/admin/icebox/artifact/",
        {"action": "delete_selected", "_selected_action": [a.pk for a in artifacts], "post": "yes"},
    )
    assert response.status_code == 302
    assert Artifact.objects.count() == 0
    assert partition_count() == 0


def test_browsable_api_renders_the_list_for_a_logged_in_user(client, owner):
    client.force_login(owner)
    response = client.get("/artifacts", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"<html" in response.content.lower()
