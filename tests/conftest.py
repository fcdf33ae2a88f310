"""Fixtures shared by the whole suite: the three people every access test is about."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def owner(db):
    return get_user_model().objects.create_user("owner", password="owner-password-1")


@pytest.fixture
def other_user(db):
    return get_user_model().objects.create_user("other", password="other-password-1")


@pytest.fixture
def owner_client(owner) -> APIClient:
    return _client_for(owner)


@pytest.fixture
def other_client(other_user) -> APIClient:
    return _client_for(other_user)


@pytest.fixture
def anon_client(db) -> APIClient:
    return APIClient()
