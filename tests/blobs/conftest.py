"""The blob store's tests run against both backends: the filesystem, and an S3-compatible server
(moto's, from PyPI) started as a real process on 127.0.0.1 for the session."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import boto3
import pytest
import requests
from django.test import override_settings

from icebox.env import blob_storage_from_env
from tests.processes import free_port

S3_ENV = {"ICEBOX_S3_REGION": "us-east-1", "ICEBOX_S3_ACCESS_KEY_ID": "icebox-test", "ICEBOX_S3_SECRET_ACCESS_KEY": "icebox-test-secret",
          "ICEBOX_S3_ADDRESSING_STYLE": "path"}


class S3Server:
    """`python -m moto.server` on a free port of 127.0.0.1, until the session ends."""

    def __init__(self, log_dir):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"moto-{self.port}.log"

    def __enter__(self):
        with open(self.log_path, "wb") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(self.url + "/moto-api/", timeout=5)
                return self
            except requests.ConnectionError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moto's S3 server did not start:\n{self.log_path.read_text()}")
            time.sleep(0.1)  # polling for the server to listen, not ordering events

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(30)

    def client(self):
        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1", aws_access_key_id="icebox-test",
                            aws_secret_access_key="icebox-test-secret")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    with S3Server(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture(params=["filesystem", "s3"])
def blob_backend(request, blob_directory):
    """The blob storage of this test: the fresh directory of every test, or a fresh bucket on the
    S3 server, configured as a site would be, from the environment (which processes the test
    starts inherit)."""
    if request.param == "filesystem":
        yield "filesystem"
        return
    server = request.getfixturevalue("s3_server")
    bucket = f"icebox-test-{uuid.uuid4().hex[:12]}"
    server.client().create_bucket(Bucket=bucket)
    env = {**S3_ENV, "ICEBOX_BLOB_STORE": "s3", "ICEBOX_S3_BUCKET": bucket, "ICEBOX_S3_ENDPOINT_URL": server.url}
    before = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        from django.conf import settings

        with override_settings(STORAGES={**settings.STORAGES, "blobs": blob_storage_from_env(blob_directory)}):
            yield "s3"
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


from tests.engine.conftest import fake_engine  # noqa: E402,F401 - the fake engine, for the big import
