"""/explore/: a page for signed-in browsers; everything it shows it then asks the API for."""

import pytest
from django.test import Client

from explore import views

pytestmark = pytest.mark.django_db


def test_anonymous_is_sent_to_the_login_page_with_the_view_to_come_back_to(client):
    response = client.get("/explore/?artifact=3&column=PGA")
    assert response.status_code == 302
    assert response["Location"] == "/api-auth/login/?next=/explore/%3Fartifact%3D3%26column%3DPGA"


def test_a_token_is_not_a_session(owner_client):
    # The page is for browsers: a script has the API itself.
    assert owner_client.get("/explore/").status_code == 302


def test_a_signed_in_user_gets_the_page_with_its_scripts(owner):
    client = Client()
    client.force_login(owner)
    response = client.get("/explore/")
    assert response.status_code == 200
    html = response.content.decode()
    for path in ("/static/explore/vendor/maplibre-gl.js", "/static/explore/vendor/maplibre-gl.css", "/static/explore/explore.js", "/static/explore/plots.js"):
        assert f'"{path}"' in html
    assert "Signed in as <strong>owner</strong>" in html


def test_without_the_javascript_installed_the_page_says_how_to_install_it(owner, monkeypatch):
    monkeypatch.setattr(views, "VENDOR_FILES", ("explore/vendor/maplibre-gl.js", "explore/vendor/not-installed.js"))
    client = Client()
    client.force_login(owner)
    response = client.get("/explore/")
    assert response.status_code == 503
    assert response.json() == {
        "detail": "the explorer's JavaScript is not installed (explore/vendor/not-installed.js missing): run scripts/bootstrap.sh, which runs npm ci",
        "code": "explorer_not_installed",
    }
