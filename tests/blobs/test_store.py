"""The blob store, on both backends (the filesystem and a real S3-compatible server): identical
bytes stored once, ranged reads, all or nothing across the storage and the database, and the
sweep that removes what a killed writer or a dropped connection left, never what is being written."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from blobs import store
from blobs.backends import key
from blobs.models import Blob
from tests.blobs.writer import pattern
from tests.engine.worker import database_url
from tests.support import partial_writes, stored_contents

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


def put_bytes(data: bytes) -> Blob:
    with store.atomic():
        return store.put(open_stream=lambda: io.BytesIO(data), size=len(data))


def test_identical_bytes_are_stored_once_under_their_sha256(blob_backend):
    data = pattern(3 * 1024 * 1024 + 5)
    first, second = put_bytes(data), put_bytes(data)
    assert first.pk == second.pk and first.sha256 == hashlib.sha256(data).hexdigest() and first.size == len(data)
    assert Blob.objects.count() == 1 and stored_contents() == 1
    assert store.storage().exists(key(first.sha256))
    assert store.read_all(first.sha256, size=first.size) == data


def test_a_range_reads_exactly_those_bytes(blob_backend):
    data = pattern(2 * 1024 * 1024 + 17)
    blob = put_bytes(data)
    for start, end in [(0, 1), (5, 1024 * 1024 + 3), (len(data) - 1, len(data)), (0, len(data)), (7, 7)]:
        assert b"".join(store.read(blob.sha256, start, end, size=blob.size)) == data[start:end]


def test_a_sha256_given_that_the_bytes_do_not_have_is_refused_and_nothing_is_kept(blob_backend):
    data = b"the bytes"
    wrong = hashlib.sha256(b"other bytes").hexdigest()
    with pytest.raises(store.IntegrityError, match="read as"), store.atomic():
        store.put(open_stream=lambda: io.BytesIO(data), size=len(data), sha256=wrong)
    assert Blob.objects.count() == 0 and stored_contents() == 0 and partial_writes() == []


def test_a_failure_after_the_write_removes_the_bytes_with_the_rollback(blob_backend):
    with pytest.raises(RuntimeError, match="refused later"), store.atomic():
        store.put(open_stream=lambda: io.BytesIO(b"written, then refused"), size=21)
        assert stored_contents() == 1
        raise RuntimeError("refused later in the same transaction")
    assert Blob.objects.count() == 0 and stored_contents() == 0


def test_release_removes_a_blob_nothing_references_and_keeps_a_referenced_one(blob_backend, owner):
    from artifacts.services import artifact_create
    from kinds import read_raw

    table = read_raw("kept.bin", b"kept by an artifact")
    with store.atomic():
        artifact = artifact_create(owner=owner, table=table)
    assert store.release(artifact.sha256) is False  # referenced (on_delete=PROTECT)
    assert stored_contents() == 1
    lone = put_bytes(b"referenced by nothing")
    assert store.release(lone.sha256) is True
    assert not Blob.objects.filter(pk=lone.pk).exists() and stored_contents() == 1


def test_deleting_an_artifact_removes_its_blob_unless_another_artifact_has_the_same_bytes(blob_backend, owner):
    from artifacts.services import artifact_delete, artifact_upload

    [a] = artifact_upload(owner=owner, file_name="one.bin", data=b"the same bytes", raw=True)
    [b] = artifact_upload(owner=owner, file_name="two.bin", data=b"the same bytes", raw=True)
    assert a.blob_id == b.blob_id and stored_contents() == 1
    artifact_delete(artifact=a)
    assert Blob.objects.filter(pk=b.blob_id).exists() and stored_contents() == 1
    artifact_delete(artifact=b)
    assert Blob.objects.count() == 0 and stored_contents() == 0


def test_the_sweep_never_removes_a_blob_whose_writer_holds_its_lock(blob_backend):
    # Written, not committed yet: the bytes have no row, but their writer is alive.
    data = b"being written"
    sha256 = hashlib.sha256(data).hexdigest()
    with writer_connection() as other:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", store._lock_args(sha256))
        store.storage().save(key(sha256), io.BytesIO(data))
        assert store.sweep() == 0 and stored_contents() == 1
        with other.cursor() as cursor:
            cursor.execute("ROLLBACK")  # the writer gives up: its lock goes
        assert store.sweep() == 1 and stored_contents() == 0


class writer_connection:
    """A second database connection, as another process's would be."""

    def __enter__(self):
        self.connection = connection.copy()
        self.connection.connect()
        self.connection.set_autocommit(True)
        return self.connection

    def __exit__(self, *exc):
        self.connection.close()


# -- real processes killed or cut off mid-write --------------------------------------------------

SIZE = 40 * 1024 * 1024  # over S3's multipart threshold (8 MiB): the upload is in parts


class Writer:
    def __init__(self, *, pause_at: int, size: int = SIZE):
        env = {**os.environ, "DATABASE_URL": database_url(), "SECRET_KEY": "test-only-secret-key-not-for-production-use", "DEBUG": "0"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.blobs.writer", "--size", str(size), "--pause-at", str(pause_at)],
            cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, text=True,
        )
        line = self.process.stdout.readline().split()
        if not line or line[0] != "paused":
            self.process.kill()
            raise RuntimeError(f"the writer did not pause: {line} {self.process.stderr.read()}")
        self.pid, self.backend_pid = int(line[1]), int(line[2])

    def kill(self):
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def resume(self) -> tuple[int, str]:
        out, err = self.process.communicate("go\n", timeout=120)
        return self.process.returncode, out + err


def wait_for_partial_write(timeout: float = 60) -> None:
    # S3: the multipart upload is created by a transfer thread; wait until the server lists it.
    deadline = time.monotonic() + timeout
    while not partial_writes():
        if time.monotonic() > deadline:
            raise AssertionError("no partial write appeared")
        time.sleep(0.05)


def assert_retry_stores_the_bytes():
    data = pattern(SIZE)
    blob = put_bytes(data)
    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    assert hashlib.sha256(store.read_all(blob.sha256, size=blob.size)).hexdigest() == blob.sha256
    assert Blob.objects.count() == 1 and stored_contents() == 1 and partial_writes() == []


def test_a_writer_killed_mid_write_leaves_a_partial_write_the_sweep_removes(blob_backend):
    writer = Writer(pause_at=24 * 1024 * 1024)
    wait_for_partial_write()
    assert store.sweep() == 0  # alive: its lock is held, its partial write untouched
    assert partial_writes() != []
    writer.kill()
    assert Blob.objects.count() == 0 and stored_contents() == 0
    assert call_command_output("icebox_blobs_sweep") >= 1
    assert partial_writes() == [] and stored_contents() == 0
    assert_retry_stores_the_bytes()


def test_a_writer_killed_after_the_write_before_the_commit_leaves_bytes_the_sweep_removes(blob_backend):
    writer = Writer(pause_at=-1)
    assert stored_contents() == 1 and Blob.objects.count() == 0  # written, the row not committed
    assert store.sweep() == 0 and stored_contents() == 1  # its writer lives
    writer.kill()
    assert call_command_output("icebox_blobs_sweep") == 1
    assert stored_contents() == 0 and Blob.objects.count() == 0
    assert_retry_stores_the_bytes()


def test_a_database_connection_dropped_mid_write_leaves_nothing_once_swept_and_a_retry_succeeds(blob_backend):
    writer = Writer(pause_at=24 * 1024 * 1024)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [writer.backend_pid])
        assert cursor.fetchone()[0] is True
    code, output = writer.resume()  # goes on writing, then cannot commit
    assert code != 0, output
    assert Blob.objects.count() == 0
    call_command_output("icebox_blobs_sweep")
    assert stored_contents() == 0 and partial_writes() == []
    assert_retry_stores_the_bytes()


def call_command_output(name: str) -> int:
    out = io.StringIO()
    call_command(name, stdout=out)
    return int(out.getvalue().split()[1])


def test_a_file_kept_raw_from_disk_is_taken_by_the_filesystem_store_without_a_copy(owner, tmp_path, blob_directory):
    from artifacts.services import artifact_upload

    path = tmp_path / "upload.bin"
    data = pattern(5 * 1024 * 1024)
    path.write_bytes(data)
    [artifact] = artifact_upload(owner=owner, file_name="upload.bin", data=path, raw=True, sha256=hashlib.sha256(data).hexdigest())
    stored = Path(store.storage().path(key(artifact.sha256)))
    assert os.stat(stored).st_ino == os.stat(path).st_ino  # one file, two names: nothing was copied
    path.unlink()  # the temporary file goes; the stored bytes stay
    assert store.read_all(artifact.sha256, size=artifact.size) == data and partial_writes() == []


def test_a_wrong_sha256_for_a_file_taken_from_disk_is_refused_and_nothing_is_kept(owner, tmp_path, blob_directory):
    from artifacts.services import artifact_upload

    path = tmp_path / "upload.bin"
    path.write_bytes(b"these bytes")
    with pytest.raises(store.IntegrityError):
        artifact_upload(owner=owner, file_name="upload.bin", data=path, raw=True, sha256=hashlib.sha256(b"other").hexdigest())
    assert Blob.objects.count() == 0 and stored_contents() == 0 and partial_writes() == [] and path.read_bytes() == b"these bytes"
