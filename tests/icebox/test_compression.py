"""Content-Encoding negotiation, through a real gunicorn: what a client asks for is what it gets,
and a gzip body decompresses to exactly the identity body."""

from __future__ import annotations

import gzip
import http.client
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from artifacts.services import artifact_upload
from icebox.compression import accepts_gzip
from tests.synthetic import hazard_map_csv
from tests.web_server import Gunicorn


@pytest.mark.parametrize(
    "header, gzip_ok",
    [
        ("gzip", True),
        ("gzip, deflate, br, zstd", True),  # what browsers send
        ("GZIP", True),
        ("x-gzip", True),
        ("gzip;q=0.5", True),
        ("*", True),
        ("identity, *;q=0.1", True),
        ("", False),
        ("identity", False),
        ("br, zstd", False),
        ("gzip;q=0", False),
        ("gzip; q=0.000", False),
        ("*;q=0", False),
        ("gzip;q=0, *", False),  # gzip named and refused: the wildcard does not bring it back
        ("gzips", False),
        ("gzip;q=abc", False),
    ],
)
def test_accept_encoding_allows_gzip_only_with_a_weight_above_zero(header, gzip_ok):
    assert accepts_gzip(header) is gzip_ok


@pytest.fixture
def served(tmp_path):
    owner = get_user_model().objects.create_user("owner")
    token = Token.objects.create(user=owner).key
    [artifact] = artifact_upload(owner=owner, file_name="hazard_map-mean_9.csv", data=hazard_map_csv(60, 40, step=0.05))
    with Gunicorn(tmp_path) as server:
        yield server, token, artifact


def _get(server, token, path, **headers) -> tuple[int, http.client.HTTPMessage, bytes]:
    """A raw HTTP/1.1 request (http.client decompresses nothing)."""
    url = urlsplit(server.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        conn.request("GET", path, headers={"Authorization": f"Token {token}", **{k.replace("_", "-"): v for k, v in headers.items()}})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


PATHS = [
    "/artifact/{a}",  # streamed GeoJSON
    "/artifact/{a}?bbox=5,40,6,41&properties=PGA-0.002105",
    "/artifact/{a}/tiles/5/16/11.mvt",  # a vector tile
    "/artifact/{a}/tiles.json",  # a JSON document
    "/ogc/collections/{a}/items?limit=100",
]


@pytest.mark.django_db(transaction=True)
def test_gzip_is_served_exactly_when_accepted_and_decompresses_to_the_identity_body(served):
    server, token, artifact = served
    for template in PATHS:
        path = template.format(a=artifact.pk)
        status, plain_headers, plain = _get(server, token, path, Accept_Encoding="identity")
        assert status == 200 and len(plain) > 200, path
        assert "Content-Encoding" not in plain_headers, path
        assert "Accept-Encoding" in plain_headers["Vary"], path
        assert plain_headers["ETag"].startswith('"'), path
        for accept in ["gzip", "gzip, deflate, br, zstd", "*"]:
            status, headers, body = _get(server, token, path, Accept_Encoding=accept)
            assert (status, headers["Content-Encoding"]) == (200, "gzip"), (path, accept)
            assert "Accept-Encoding" in headers["Vary"], path
            assert gzip.decompress(body) == plain, (path, accept)
            # The gzip bytes are another representation: a weak ETag, revalidated weakly.
            assert headers["ETag"] == "W/" + plain_headers["ETag"], path
        for accept in ["br, zstd", "gzip;q=0", "identity"]:
            status, headers, body = _get(server, token, path, Accept_Encoding=accept)
            assert status == 200 and "Content-Encoding" not in headers and body == plain, (path, accept)


@pytest.mark.django_db(transaction=True)
def test_either_etag_revalidates_and_a_304_has_no_body(served):
    server, token, artifact = served
    path = f"/artifact/{artifact.pk}/tiles.json"
    _, plain_headers, _ = _get(server, token, path, Accept_Encoding="identity")
    _, gzip_headers, _ = _get(server, token, path, Accept_Encoding="gzip")
    for etag in [plain_headers["ETag"], gzip_headers["ETag"]]:
        for accept in ["identity", "gzip"]:
            status, headers, body = _get(server, token, path, Accept_Encoding=accept, If_None_Match=etag)
            assert (status, body) == (304, b""), (etag, accept)
            assert "Content-Encoding" not in headers
