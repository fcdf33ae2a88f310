"""HTTP Basic with the API token as password (icebox/authentication.py): what QGIS can send."""

import base64
import json

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.maps_support import body, tiles_of, upload_grid

CHALLENGE = 'Basic realm="icebox"'


def basic(raw: bytes) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(raw).decode())
    return client


def basic_client(username: str, password: str) -> APIClient:
    return basic(f"{username}:{password}".encode())


@pytest.fixture
def grid(owner_client):
    return upload_grid(owner_client, 6, 5)


@pytest.fixture
def owner_basic(owner, owner_client):
    # owner_client made the owner's token.
    return basic_client(owner.username, Token.objects.get(user=owner).key)


def a_tile_path(grid) -> str:
    artifact, sites = grid
    x, y = sorted(tiles_of(sites, 6))[0]
    return f"/artifact/{artifact['id']}/tiles/6/{x}/{y}.mvt"


def assert_refused(response):
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == CHALLENGE
    body = response.json()
    assert set(body) == {"detail", "code"}
    assert body["code"] == "authentication_failed"


def test_the_token_as_basic_password_lists_my_artifacts(owner_basic, grid):
    artifact, _ = grid
    response = owner_basic.get("/artifacts")
    assert response.status_code == 200
    assert [a["id"] for a in response.json()["results"]] == [artifact["id"]]


def test_the_token_as_basic_password_reads_ogc_items(owner_basic, grid):
    artifact, sites = grid
    response = owner_basic.get(f"/ogc/collections/{artifact['id']}/items", {"limit": 1000})
    assert response.status_code == 200
    assert json.loads(body(response))["numberReturned"] == len(sites) == 30


def test_the_token_as_basic_password_reads_a_tile(owner_basic, grid):
    response = owner_basic.get(a_tile_path(grid))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.mapbox-vector-tile")


def test_the_account_password_is_refused(owner, grid):
    assert_refused(basic_client(owner.username, "owner-password-1").get("/artifacts"))


def test_another_users_token_with_my_name_is_refused(owner, other_client, other_user, grid):
    response = basic_client(owner.username, Token.objects.get(user=other_user).key).get(a_tile_path(grid))
    assert_refused(response)


def test_a_wrong_token_or_an_unknown_name_is_refused(owner, owner_basic, grid):
    key = Token.objects.get(user=owner).key
    assert_refused(basic_client(owner.username, key[:-1] + ("0" if key[-1] != "0" else "1")).get("/artifacts"))
    assert_refused(basic_client("nobody", key).get("/artifacts"))


def test_an_inactive_users_token_is_refused(owner, owner_basic, grid):
    owner.is_active = False
    owner.save()
    assert_refused(owner_basic.get("/artifacts"))


def test_another_user_with_basic_does_not_see_my_artifact(other_client, other_user, grid):
    artifact, _ = grid
    other = basic_client(other_user.username, Token.objects.get(user=other_user).key)
    assert other.get("/artifacts").json()["results"] == []
    assert other.get(f"/ogc/collections/{artifact['id']}/items").status_code == 404
    assert other.get(a_tile_path(grid)).status_code == 404


def test_anonymous_is_still_401_with_the_token_challenge(anon_client, grid):
    response = anon_client.get(a_tile_path(grid))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize(
    "header",
    [
        "Basic",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xc3\x28").decode(),
        "Basic " + base64.b64encode(b":token-without-name").decode(),
        "Basic " + base64.b64encode(b"owner:").decode(),
        "Basic a b",
        "Basic " + base64.b64encode(b"owner:tok").decode()[:-1],
    ],
    ids=["no-credentials", "bad-base64", "no-colon", "not-utf8", "no-name", "no-token", "two-parts", "truncated"],
)
def test_a_malformed_basic_header_is_a_401(owner, grid, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert_refused(client.get("/artifacts"))
