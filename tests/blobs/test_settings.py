"""The blob storage's settings from the environment (icebox.env.blob_storage_from_env): the
filesystem by default, S3 only with every value checked, and no insecure default."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from icebox.env import blob_storage_from_env

S3 = {"ICEBOX_BLOB_STORE": "s3", "ICEBOX_S3_BUCKET": "icebox-blobs", "ICEBOX_S3_REGION": "eu-west-1"}
NAMES = ["ICEBOX_BLOB_STORE", "ICEBOX_BLOB_DIR", "ICEBOX_S3_BUCKET", "ICEBOX_S3_REGION", "ICEBOX_S3_ENDPOINT_URL", "ICEBOX_S3_ACCESS_KEY_ID",
         "ICEBOX_S3_SECRET_ACCESS_KEY", "ICEBOX_S3_PREFIX", "ICEBOX_S3_ALLOW_HTTP", "ICEBOX_S3_ADDRESSING_STYLE"]


@pytest.fixture
def env(monkeypatch):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)

    def set_(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_


def test_the_default_is_the_filesystem_under_the_given_directory(env):
    assert blob_storage_from_env(Path("/srv/icebox/var/blobs")) == {
        "BACKEND": "blobs.backends.AtomicFileSystemStorage", "OPTIONS": {"location": "/srv/icebox/var/blobs"}}
    env(ICEBOX_BLOB_DIR="/data/blobs")
    assert blob_storage_from_env(Path("/x"))["OPTIONS"]["location"] == "/data/blobs"


def test_a_relative_blob_directory_is_refused(env):
    env(ICEBOX_BLOB_DIR="var/blobs")
    with pytest.raises(ImproperlyConfigured, match="ICEBOX_BLOB_DIR"):
        blob_storage_from_env(Path("/x"))


def test_s3_with_bucket_region_endpoint_and_keys(env):
    env(**S3, ICEBOX_S3_ENDPOINT_URL="https://s3.example.org:9000/", ICEBOX_S3_ACCESS_KEY_ID="id", ICEBOX_S3_SECRET_ACCESS_KEY="secret")
    config = blob_storage_from_env(Path("/x"))
    assert config["BACKEND"] == "storages.backends.s3.S3Storage"
    options = config["OPTIONS"]
    assert (options["bucket_name"], options["region_name"], options["endpoint_url"], options["location"]) == (
        "icebox-blobs", "eu-west-1", "https://s3.example.org:9000", "blobs")
    assert (options["access_key"], options["secret_key"], options["default_acl"], options["verify"]) == ("id", "secret", None, True)


def test_s3_without_keys_leaves_credentials_to_boto3(env):
    env(**S3)
    assert "access_key" not in blob_storage_from_env(Path("/x"))["OPTIONS"]


@pytest.mark.parametrize(
    "values, named",
    [
        ({"ICEBOX_BLOB_STORE": "ftp"}, "ICEBOX_BLOB_STORE"),
        ({"ICEBOX_BLOB_STORE": "s3", "ICEBOX_S3_REGION": "eu-west-1"}, "ICEBOX_S3_BUCKET"),
        ({"ICEBOX_BLOB_STORE": "s3", "ICEBOX_S3_BUCKET": "b-b-b"}, "ICEBOX_S3_REGION"),
        ({**S3, "ICEBOX_S3_BUCKET": "Not_A_Bucket"}, "ICEBOX_S3_BUCKET"),
        ({**S3, "ICEBOX_S3_ACCESS_KEY_ID": "only-one"}, "ICEBOX_S3_SECRET_ACCESS_KEY"),
        ({**S3, "ICEBOX_S3_ENDPOINT_URL": "ftp://s3.example.org"}, "ICEBOX_S3_ENDPOINT_URL"),
        ({**S3, "ICEBOX_S3_ENDPOINT_URL": "https://s3.example.org/bucket"}, "ICEBOX_S3_ENDPOINT_URL"),
        ({**S3, "ICEBOX_S3_ENDPOINT_URL": "http://s3.example.org"}, "plain HTTP"),
        ({**S3, "ICEBOX_S3_PREFIX": "a/../b"}, "ICEBOX_S3_PREFIX"),
        ({**S3, "ICEBOX_S3_ADDRESSING_STYLE": "sideways"}, "ICEBOX_S3_ADDRESSING_STYLE"),
    ],
)
def test_what_cannot_be_right_stops_start_up_naming_the_variable(env, values, named):
    env(**values)
    with pytest.raises(ImproperlyConfigured, match=named):
        blob_storage_from_env(Path("/x"))


def test_plain_http_is_for_this_machine_or_when_a_site_says_so(env):
    env(**S3, ICEBOX_S3_ENDPOINT_URL="http://127.0.0.1:9000")
    assert blob_storage_from_env(Path("/x"))["OPTIONS"]["endpoint_url"] == "http://127.0.0.1:9000"
    env(ICEBOX_S3_ENDPOINT_URL="http://minio.internal:9000", ICEBOX_S3_ALLOW_HTTP="1")
    assert blob_storage_from_env(Path("/x"))["OPTIONS"]["endpoint_url"] == "http://minio.internal:9000"
