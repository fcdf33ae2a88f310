"""The page at `/` (the URL `make run` prints): what is here, for anonymous and logged-in visitors."""

import re

import pytest
from django.test import Client

from tests.conftest import fixture_bytes
from tests.support import upload

LINKS = ["/artifacts", "/calculations", "/imports", "/explore/", "/api/schema", "/ogc", "/admin/"]


def _page(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


def test_an_anonymous_visitor_sees_what_is_here_and_how_to_log_in(db):
    page = _page(Client())
    hrefs = re.findall(r'href="([^"]*)"', page)
    for link in LINKS:
        assert link in hrefs, link
    assert "/api-auth/login/?next=/" in hrefs
    assert "/api/token" in page and "curl" in page and "http://testserver/artifacts" in page
    assert "Not signed in" in page and "artifact" in page


def test_the_page_loads_nothing_from_elsewhere_and_runs_no_script(db):
    page = _page(Client())
    assert "<script" not in page.lower()
    # Every link and resource is on this server.
    assert all(not re.match(r"[a-z]+:|//", url) for url in re.findall(r'(?:href|src)="([^"]*)"', page))


def test_a_logged_in_user_sees_their_own_artifact_count(owner, other_user, owner_client, other_client):
    for name in ("hazard_map-mean_2.csv", "hazard_uhs-mean_2.csv"):
        assert upload(owner_client, name, fixture_bytes(name)).status_code == 201
    assert upload(other_client, "hazard_map-mean_2.csv", fixture_bytes("hazard_map-mean_2.csv")).status_code == 201
    browser = Client()
    browser.force_login(owner)
    page = _page(browser)
    assert "Signed in as <strong>owner</strong>" in page
    assert re.search(r">2 artifacts</a>", page)
    assert 'action="/api-auth/logout/"' in page and "csrfmiddlewaretoken" in page


def test_a_user_with_one_artifact_reads_the_singular(owner, owner_client):
    upload(owner_client, "hazard_map-mean_2.csv", fixture_bytes("hazard_map-mean_2.csv"))
    browser = Client()
    browser.force_login(owner)
    assert re.search(r">1 artifact</a>", _page(browser))


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_the_page_is_read_only(db, method):
    assert getattr(Client(), method)("/").status_code == 405
