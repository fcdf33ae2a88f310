"""Debian's QGIS (PyQGIS 3.22, offscreen) opens an Icebox artifact with Basic authentication.

QGIS 3.22 cannot send `Authorization: Token`; with a Basic configuration holding the user's name
and API token it reads the OGC API Features collection and draws the vector tiles. PyQGIS runs in
Debian's /usr/bin/python3 (tests/ogc/qgis_client.py), against Django's live server on real PostGIS
holding a real engine export (fixtures/hazard_curve-mean-PGA_8.csv).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from tests.conftest import fixture_bytes
from tests.support import read_engine_csv, upload

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        subprocess.run(["/usr/bin/python3", "-c", "import qgis.core"], capture_output=True).returncode != 0,
        reason="python3-qgis is not installed (make test's bootstrap installs it)",
    ),
]

CLIENT = Path(__file__).with_name("qgis_client.py")
FIXTURE = "hazard_curve-mean-PGA_8.csv"
# Marker pixels may sit this far from a site's exact position (a 3-pixel square, rounding).
PIXEL_TOLERANCE = 3


def mercator(lon: float, lat: float) -> tuple[float, float]:
    r = 6378137.0
    return math.radians(lon) * r, math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * r


@pytest.fixture
def served(live_server, owner_client):
    """(base URL, artifact id, CSV rows) for the owner's upload of a real engine export."""
    response = upload(owner_client, FIXTURE, fixture_bytes(FIXTURE))
    assert response.status_code == 201, response.content
    [artifact] = response.json()["artifacts"]
    _, rows = read_engine_csv(fixture_bytes(FIXTURE))
    return live_server.url, artifact["id"], rows


def extent_3857(rows, margin: float = 0.05) -> list[float]:
    xs, ys = zip(*(mercator(float(r["lon"]), float(r["lat"])) for r in rows))
    dx, dy = (max(xs) - min(xs)) * margin, (max(ys) - min(ys)) * margin
    return [min(xs) - dx, min(ys) - dy, max(xs) + dx, max(ys) + dy]


def run_qgis(tmp_path, url: str, artifact_id: int, rows, *credentials: str) -> dict:
    auth_dir = tmp_path / "qgis-auth"
    auth_dir.mkdir()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_RUNTIME_DIR": str(tmp_path),
        "ICEBOX_EXTENT_3857": ",".join(map(repr, extent_3857(rows))),
    }
    result = subprocess.run(
        ["/usr/bin/python3", str(CLIENT), url, str(artifact_id), str(auth_dir), *credentials],
        capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def site_pixels(rows, drawn_extent, size: int) -> list[tuple[float, float]]:
    xmin, ymin, xmax, ymax = drawn_extent
    out = []
    for r in rows:
        x, y = mercator(float(r["lon"]), float(r["lat"]))
        out.append(((x - xmin) / (xmax - xmin) * size, (ymax - y) / (ymax - ymin) * size))
    return out


def near(pixel, points, tolerance=PIXEL_TOLERANCE) -> bool:
    return any(abs(pixel[0] - p[0]) <= tolerance and abs(pixel[1] - p[1]) <= tolerance for p in points)


def test_qgis_reads_every_feature_with_its_values_and_draws_the_tiles(tmp_path, served, owner):
    url, artifact_id, rows = served
    result = run_qgis(tmp_path, url, artifact_id, rows, owner.username, Token.objects.get(user=owner).key)

    features = result["features"]
    assert features["valid"]
    assert features["count"] == len(features["features"]) == len(rows) == 36
    got = sorted(features["features"], key=lambda f: (f["lon"], f["lat"]))
    for feature, row in zip(got, sorted(rows, key=lambda r: (float(r["lon"]), float(r["lat"])))):
        assert (feature["lon"], feature["lat"]) == pytest.approx((float(row["lon"]), float(row["lat"])), abs=1e-9)
        assert feature["attributes"]["custom_site_id"] == row["custom_site_id"]
        for column, text in row.items():
            if column.startswith("poe-") or column == "depth":
                assert feature["attributes"][column] == pytest.approx(float(text), rel=1e-6), column

    tiles = result["tiles"]
    assert tiles["valid"]
    sites = site_pixels(rows, tiles["drawn_extent"], 512)
    marked = tiles["marked"]
    assert all(near(site, marked) for site in sites), "a site is not drawn where it is"
    assert all(near(pixel, sites, PIXEL_TOLERANCE + 1) for pixel in marked), "something is drawn where no site is"


def test_qgis_with_another_users_token_reads_and_draws_nothing(tmp_path, served, other_client, other_user):
    url, artifact_id, rows = served
    result = run_qgis(tmp_path, url, artifact_id, rows, other_user.username, Token.objects.get(user=other_user).key)
    assert result["features"]["features"] == []
    assert result["tiles"]["marked"] == []


def test_qgis_with_the_account_password_reads_and_draws_nothing(tmp_path, served, owner):
    url, artifact_id, rows = served
    result = run_qgis(tmp_path, url, artifact_id, rows, owner.username, "owner-password-1")
    assert result["features"]["features"] == []
    assert result["tiles"]["marked"] == []


def test_qgis_without_authentication_reads_and_draws_nothing(tmp_path, served):
    url, artifact_id, rows = served
    result = run_qgis(tmp_path, url, artifact_id, rows)
    assert result["features"]["features"] == []
    assert result["tiles"]["marked"] == []
