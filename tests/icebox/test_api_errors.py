"""Every error of the API, 5xx included, is JSON {"detail", "code"}: DRF's, Django's and the unexpected."""

import threading

import psycopg2
import pytest
import requests
from django.db import connection
from django.test import RequestFactory
from django.urls import get_resolver
from rest_framework.authtoken.models import Token

from tests.conftest import fixture_bytes
from tests.engine.worker import wait_for
from tests.support import assert_nothing_stored


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == code and isinstance(body["detail"], str) and body["detail"]
    return body


def test_a_path_no_view_serves_is_a_json_404(anon_client):
    body = assert_error(anon_client.get("/no/such/thing"), 404, "not_found")
    assert "/no/such/thing" in body["detail"]


def test_a_host_that_is_not_allowed_is_a_json_400(anon_client):
    assert_error(anon_client.get("/artifacts", HTTP_HOST="evil.example"), 400, "bad_request")


def test_djangos_500_view_answers_json():
    handler = get_resolver().resolve_error_handler(500)
    response = handler(RequestFactory().get("/admin/"))
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert b'"code": "server_error"' in response.content


def test_drf_errors_carry_a_code(anon_client, owner_client):
    anonymous = assert_error(anon_client.get("/artifacts"), 401, "not_authenticated")
    assert anonymous["detail"] == "Authentication credentials were not provided."
    assert_error(owner_client.put("/artifacts"), 405, "method_not_allowed")
    assert_error(owner_client.get("/artifacts", HTTP_ACCEPT="application/xml"), 406, "not_acceptable")
    assert_error(owner_client.post("/artifacts/import", "calc_id=2", content_type="text/plain"), 415, "unsupported_media_type")
    assert_error(owner_client.post("/artifacts/import", "{", content_type="application/json"), 400, "parse_error")
    assert_error(owner_client.get("/imports", {"page": "7"}), 404, "not_found")


def test_a_refused_login_is_one_detail_and_a_code(anon_client, owner):
    body = assert_error(anon_client.post("/api/token", {"username": "owner", "password": "wrong"}), 400, "invalid")
    assert body["detail"] == "Unable to log in with provided credentials."
    body = assert_error(anon_client.post("/api/token", {"username": "owner"}), 400, "invalid")
    assert body["detail"] == "password: This field is required."


@pytest.mark.django_db(transaction=True)
def test_a_database_connection_dropped_mid_upload_is_a_json_500_and_stores_nothing(live_server, owner):
    """The upload's backend is terminated while its INSERT waits on a lock held here."""
    token = Token.objects.create(user=owner).key
    db = connection.settings_dict
    blocker = psycopg2.connect(dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432)
    result = {}
    try:
        with blocker.cursor() as cursor:
            cursor.execute("LOCK TABLE icebox_artifact IN SHARE MODE")  # blocks every INSERT into it

        def post():
            result["response"] = requests.post(
                f"{live_server.url}/artifacts",
                files={"file": ("hazard_map-mean_2.csv", fixture_bytes("hazard_map-mean_2.csv"))},
                headers={"Authorization": f"Token {token}"},
                timeout=60,
            )

        client = threading.Thread(target=post)
        client.start()

        def upload_blocked():
            with blocker.cursor() as cursor:
                cursor.execute("SELECT pid FROM pg_locks WHERE NOT granted AND relation = 'icebox_artifact'::regclass")
                row = cursor.fetchone()
            return row and row[0]

        backend = wait_for(upload_blocked, timeout=60, what="the upload to wait for its INSERT")
        with blocker.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
        client.join(timeout=60)
        assert not client.is_alive()
    finally:
        blocker.rollback()
        blocker.close()
    response = result["response"]
    assert response.status_code == 500, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["code"] == "server_error"
    assert_nothing_stored()


def test_too_many_multipart_fields_is_a_json_400_not_a_500(owner_client):
    from tests.support import _named

    fields = {f"f{i}": "x" for i in range(1001)}
    response = owner_client.post("/artifacts", {"file": _named("hazard_map-mean_2.csv", fixture_bytes("hazard_map-mean_2.csv")), **fields}, format="multipart")
    body = assert_error(response, 400, "bad_request")
    assert "DATA_UPLOAD_MAX_NUMBER_FIELDS" in body["detail"]
    assert_nothing_stored()

