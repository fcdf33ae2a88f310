"""Raw downloads streamed from the blob store, on both backends: Content-Length, Range (206, 416,
If-Range, several ranges), HEAD; and the explicit raw upload (`raw=true`) that keeps any file."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from blobs.models import Blob
from tests.blobs.writer import pattern
from tests.support import stored_contents

pytestmark = pytest.mark.django_db

DATA = pattern(3 * 1024 * 1024 + 11)  # several chunks of the store (1 MiB)


def raw_upload(client, data: bytes = DATA, name: str = "datastore.hdf5"):
    response = client.post("/artifacts", {"file": SimpleUploadedFile(name, data), "raw": "true"}, format="multipart")
    assert response.status_code == 201, response.content
    [artifact] = response.json()["artifacts"]
    return artifact


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_a_raw_upload_keeps_any_file_byte_for_byte_as_kind_file(owner_client, blob_backend):
    artifact = raw_upload(owner_client)
    assert artifact["artifact_type"] == "file" and artifact["sha256"] == hashlib.sha256(DATA).hexdigest() and artifact["size"] == len(DATA)
    response = owner_client.get(f"/artifact/{artifact['id']}/raw")
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(DATA)) and response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "application/x-hdf5"
    assert body(response) == DATA


def test_raw_must_be_true_or_false(owner_client, blob_backend):
    response = owner_client.post("/artifacts", {"file": SimpleUploadedFile("x.bin", b"x"), "raw": "yes"}, format="multipart")
    assert response.status_code == 400 and "raw must be given once, as true or false" in response.json()["detail"]
    assert Blob.objects.count() == 0 and stored_contents() == 0


def test_without_raw_an_upload_of_a_file_no_kind_reads_is_refused_and_nothing_is_stored(owner_client, blob_backend):
    response = owner_client.post("/artifacts", {"file": SimpleUploadedFile("datastore.hdf5", b"\x89HDF\r\n\x1a\n" + DATA)}, format="multipart")
    assert response.status_code == 400
    assert Blob.objects.count() == 0 and stored_contents() == 0


@pytest.mark.parametrize(
    "header, start, end",
    [
        ("bytes=0-0", 0, 1),
        ("bytes=100-1048675", 100, 1048676),
        ("bytes=1048576-", 1048576, len(DATA)),
        ("bytes=-10", len(DATA) - 10, len(DATA)),
        (f"bytes=5-{len(DATA) * 2}", 5, len(DATA)),  # a last byte past the end is the end
        (f"bytes=-{len(DATA) * 2}", 0, len(DATA)),
    ],
)
def test_one_range_is_a_206_with_exactly_those_bytes(owner_client, blob_backend, header, start, end):
    artifact = raw_upload(owner_client)
    response = owner_client.get(f"/artifact/{artifact['id']}/raw", HTTP_RANGE=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end - 1}/{len(DATA)}"
    assert response["Content-Length"] == str(end - start)
    assert body(response) == DATA[start:end]


@pytest.mark.parametrize("header", [f"bytes={len(DATA)}-", f"bytes={len(DATA) + 5}-{len(DATA) + 9}", "bytes=-0"])
def test_a_range_beyond_the_end_is_a_416_naming_the_size(owner_client, blob_backend, header):
    artifact = raw_upload(owner_client)
    response = owner_client.get(f"/artifact/{artifact['id']}/raw", HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(DATA)}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "lines=0-1", "bytes=abc", "bytes=9-3"])
def test_several_ranges_or_a_range_that_does_not_parse_get_the_whole_file(owner_client, blob_backend, header):
    artifact = raw_upload(owner_client)
    response = owner_client.get(f"/artifact/{artifact['id']}/raw", HTTP_RANGE=header)
    assert response.status_code == 200 and "Content-Range" not in response
    assert body(response) == DATA


def test_if_range_applies_the_range_only_to_the_same_version(owner_client, blob_backend):
    artifact = raw_upload(owner_client)
    url = f"/artifact/{artifact['id']}/raw"
    etag = owner_client.get(url)["ETag"]
    same = owner_client.get(url, HTTP_RANGE="bytes=10-19", HTTP_IF_RANGE=etag)
    assert same.status_code == 206 and body(same) == DATA[10:20]
    other = owner_client.get(url, HTTP_RANGE="bytes=10-19", HTTP_IF_RANGE='"another-version"')
    assert other.status_code == 200 and body(other) == DATA
    weak = owner_client.get(url, HTTP_RANGE="bytes=10-19", HTTP_IF_RANGE="W/" + etag)
    assert weak.status_code == 200  # If-Range compares strongly


def test_head_says_the_length_and_sends_no_body(owner_client, blob_backend):
    artifact = raw_upload(owner_client)
    response = owner_client.head(f"/artifact/{artifact['id']}/raw")
    assert response.status_code == 200 and response["Content-Length"] == str(len(DATA)) and body(response) == b""
    ranged = owner_client.head(f"/artifact/{artifact['id']}/raw", HTTP_RANGE="bytes=0-99")
    assert ranged.status_code == 206 and ranged["Content-Length"] == "100" and body(ranged) == b""


def test_raw_bytes_are_never_gzipped_even_when_the_client_asks(owner_client, blob_backend):
    csv = b"lon,lat,PGA-0.1\n" + b"1.0,2.0,0.5\n" * 5000
    artifact = raw_upload(owner_client, csv, name="table.csv")
    response = owner_client.get(f"/artifact/{artifact['id']}/raw", HTTP_ACCEPT_ENCODING="gzip")
    assert "Content-Encoding" not in response and body(response) == csv


def test_an_empty_file_is_served_and_any_range_of_it_is_a_416(owner_client, blob_backend):
    artifact = raw_upload(owner_client, b"", name="empty.txt")
    response = owner_client.get(f"/artifact/{artifact['id']}/raw")
    assert response.status_code == 200 and response["Content-Length"] == "0" and body(response) == b""
    assert owner_client.get(f"/artifact/{artifact['id']}/raw", HTTP_RANGE="bytes=0-").status_code == 416


def test_another_users_raw_download_is_a_404_whatever_the_range(owner_client, other_client, blob_backend):
    artifact = raw_upload(owner_client)
    assert other_client.get(f"/artifact/{artifact['id']}/raw", HTTP_RANGE="bytes=0-9").status_code == 404
    assert other_client.head(f"/artifact/{artifact['id']}/raw").status_code == 404
