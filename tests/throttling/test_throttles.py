"""Throttling on real PostgreSQL: /api/token per address and per username, the API per user and
per anonymous address, answered with the API's error shape and Retry-After."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from throttling import counters

A, B = "198.51.100.7", "203.0.113.9"


def _token_limit() -> int:
    return int(settings.ICEBOX_THROTTLE_RATES["token_address"].split("/")[0])


def _token(client, username, password, address):
    return client.post("/api/token", {"username": username, "password": password}, REMOTE_ADDR=address)


def _assert_throttled(response):
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["code"] == "throttled" and "throttled" in body["detail"]
    assert 1 <= int(response["Retry-After"]) <= 60


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice", password="alice-password-1")


@pytest.fixture
def bob(db):
    return get_user_model().objects.create_user("bob", password="bob-password-1")


def test_the_token_endpoint_refuses_guesses_past_the_limit_even_the_right_password(alice, anon_client):
    for _ in range(_token_limit()):
        assert _token(anon_client, "alice", "wrong", A).status_code == 400
    _assert_throttled(_token(anon_client, "alice", "wrong", A))
    _assert_throttled(_token(anon_client, "alice", "alice-password-1", A))


def test_another_address_guessing_another_user_gets_its_own_budget(alice, bob, anon_client):
    for _ in range(_token_limit() + 1):
        _token(anon_client, "alice", "wrong", A)
    response = _token(anon_client, "bob", "bob-password-1", B)
    assert response.status_code == 200 and response.json()["token"]


def test_the_same_address_is_throttled_for_every_username(alice, bob, anon_client):
    for _ in range(_token_limit()):
        _token(anon_client, "alice", "wrong", A)
    _assert_throttled(_token(anon_client, "bob", "bob-password-1", A))


def test_guessing_one_username_from_many_addresses_is_throttled(alice, anon_client):
    limit = int(settings.ICEBOX_THROTTLE_RATES["token_username"].split("/")[0])
    for n in range(limit):
        assert _token(anon_client, "alice", "wrong", f"192.0.2.{n + 1}").status_code == 400
    _assert_throttled(_token(anon_client, "alice", "alice-password-1", B))


def test_a_forged_forwarded_for_header_does_not_give_a_new_budget(alice, anon_client):
    for n in range(_token_limit()):
        anon_client.post("/api/token", {"username": f"u{n}", "password": "x"}, REMOTE_ADDR=A, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    response = anon_client.post("/api/token", {"username": "alice", "password": "x"}, REMOTE_ADDR=A, HTTP_X_FORWARDED_FOR="10.9.9.9")
    _assert_throttled(response)


def test_behind_a_proxy_the_forwarded_address_is_the_client(alice, anon_client, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    for n in range(_token_limit()):
        anon_client.post("/api/token", {"username": f"u{n}", "password": "x"}, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=A)
    _assert_throttled(anon_client.post("/api/token", {"username": "v", "password": "x"}, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=A))
    response = anon_client.post("/api/token", {"username": "alice", "password": "alice-password-1"}, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=B)
    assert response.status_code == 200


@pytest.fixture
def small_rates(settings):
    settings.ICEBOX_THROTTLE_RATES = {**settings.ICEBOX_THROTTLE_RATES, "user": "3/minute", "anonymous": "2/minute"}


def test_a_user_past_the_api_rate_is_throttled_and_another_user_is_not(small_rates, owner_client, other_client):
    for _ in range(3):
        assert owner_client.get("/artifacts").status_code == 200
    _assert_throttled(owner_client.get("/artifacts"))
    _assert_throttled(owner_client.get("/ogc/collections"))
    assert other_client.get("/artifacts").status_code == 200


def test_anonymous_reads_of_public_documents_are_throttled_per_address(small_rates, db):
    # Endpoints that need an account answer 401 first: DRF checks permissions before throttles.
    client = APIClient()
    for _ in range(2):
        assert client.get("/ogc/conformance", REMOTE_ADDR=A).status_code == 200
    _assert_throttled(client.get("/ogc/conformance", REMOTE_ADDR=A))
    assert client.get("/ogc/conformance", REMOTE_ADDR=B).status_code == 200


def test_the_default_user_rate_lets_a_map_fetch_a_hundred_tiles_a_second_for_a_minute():
    requests, period = settings.ICEBOX_THROTTLE_RATES["user"].split("/")
    assert period.startswith("m") and int(requests) >= 100 * 60


def test_a_window_counts_then_starts_again_when_it_is_over(db):
    assert counters.hit("test:k", 60)[0] == 1
    hits, left = counters.hit("test:k", 60)
    assert hits == 2 and 59 < left <= 60
    from throttling.models import Window

    Window.objects.filter(key="test:k").update(expires="2000-01-01T00:00:00Z")
    Window.objects.create(key="test:stale", expires="2000-01-01T00:00:00Z", hits=5)
    assert counters.hit("test:k", 60)[0] == 1
    # Opening a window sweeps the windows that are over, whoever they belonged to.
    assert not Window.objects.filter(key="test:stale").exists()
