"""Django's own password forms (the admin's and the browsable API's login) are counted with
/api/token: one budget per client address and per username, whichever form is used."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

A, B = "198.51.100.7", "203.0.113.9"
FORMS = ["/admin/login/", "/api-auth/login/"]


def _limit() -> int:
    return int(settings.ICEBOX_THROTTLE_RATES["token_address"].split("/")[0])


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice", password="alice-password-1", is_staff=True)


def _login(client, form, password, address, username="alice"):
    return client.post(form, {"username": username, "password": password}, REMOTE_ADDR=address)


def _assert_throttled(response):
    assert response.status_code == 429, response.content
    assert response.json()["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60


@pytest.mark.parametrize("form", FORMS)
def test_a_login_form_refuses_guesses_past_the_limit_even_the_right_password(alice, form):
    client = Client()
    for _ in range(_limit()):
        # A wrong password: the form is shown again (200), with its error.
        assert _login(client, form, "wrong", A).status_code == 200
    _assert_throttled(_login(client, form, "wrong", A))
    _assert_throttled(_login(client, form, "alice-password-1", A))


@pytest.mark.parametrize("form", FORMS)
def test_guesses_at_api_token_use_up_the_login_forms_budget_too(alice, form):
    client = Client()
    for _ in range(_limit()):
        assert client.post("/api/token", {"username": "alice", "password": "wrong"}, REMOTE_ADDR=A).status_code == 400
    _assert_throttled(_login(client, form, "alice-password-1", A))


def test_one_account_guessed_from_many_addresses_is_throttled_on_the_forms(alice):
    client = Client()
    for i in range(_limit()):
        assert _login(client, FORMS[i % 2], "wrong", f"192.0.2.{i + 1}").status_code == 200
    _assert_throttled(_login(client, FORMS[0], "alice-password-1", B))


def test_showing_a_login_form_and_another_address_and_user_are_not_throttled(alice):
    get_user_model().objects.create_user("bob", password="bob-password-1", is_staff=True)
    client = Client()
    for _ in range(_limit() + 1):
        _login(client, FORMS[0], "wrong", A)
    assert client.get(FORMS[0], REMOTE_ADDR=A).status_code == 200
    # The right password of another user from another address logs in (a redirect).
    assert _login(Client(), FORMS[0], "bob-password-1", B, username="bob").status_code == 302
