"""The limit of /api/token holds across processes: every web process counts in one place.

Two gunicorn servers of one worker each, on two ports, stand for the workers of one site (or
two hosts sharing its database): which worker of one server accepts a connection is the kernel's
choice, so alternating between two servers is the only way to be sure two processes counted."""

import pytest
import requests
from django.conf import settings
from django.contrib.auth import get_user_model

from tests.web_server import Gunicorn


@pytest.fixture
def gunicorns(tmp_path):
    with Gunicorn(tmp_path, ICEBOX_WEB_WORKERS="1") as a, Gunicorn(tmp_path, ICEBOX_WEB_WORKERS="1") as b:
        yield [a.url, b.url]


@pytest.mark.django_db(transaction=True)
def test_the_token_limit_is_one_limit_for_all_web_processes(gunicorns):
    get_user_model().objects.create_user("alice", password="alice-password-1")
    limit = int(settings.ICEBOX_THROTTLE_RATES["token_address"].split("/")[0])
    statuses = []
    for attempt in range(limit + 1):
        response = requests.post(f"{gunicorns[attempt % 2]}/api/token", data={"username": "alice", "password": "wrong"}, headers={"Connection": "close"}, timeout=30)
        statuses.append(response.status_code)
    assert statuses == [400] * limit + [429]
    response = requests.post(f"{gunicorns[1]}/api/token", data={"username": "alice", "password": "alice-password-1"}, timeout=30)
    assert response.status_code == 429 and response.json()["code"] == "throttled"
