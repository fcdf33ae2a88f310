"""What the blob store needs of a Django storage beyond its API: ranged reads, listing every key,
and the writes a dead writer left half done. One adapter per kind of storage.

Writes, existence, sizes and deletes go through the storage API itself (`Storage.save`,
`exists`, `size`, `delete`); reads of a range and the partial writes are where a filesystem and
an object store differ, so each adapter says how.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
import uuid
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from django.core.files.storage import FileSystemStorage, Storage

CHUNK = 1 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")
_PARTIAL = re.compile(r"([0-9a-f]{64})\.partial-[A-Za-z0-9_]+")


def key(sha256: str) -> str:
    """Where a content lives in the storage: ab/cd/abcd...; two levels keep directories small."""
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a sha256: {sha256!r}")
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


class AtomicFileSystemStorage(FileSystemStorage):
    """FileSystemStorage whose files appear whole or not at all.

    Each file is written to a temporary file in its own directory, flushed to disk, and renamed
    over its name (rename(2) is atomic within a filesystem): a reader or a crash never sees half
    a file under the final name. What a killed writer leaves is a `<sha256>.partial-*` file,
    which the blob sweep removes once no writer holds that sha256's lock (blobs.store).
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_overwrite", True)  # content-addressed: the same name is the same bytes
        super().__init__(**kwargs)

    def _save(self, name, content):
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        os.makedirs(directory, exist_ok=True, mode=0o700)
        fd, partial = tempfile.mkstemp(prefix=os.path.basename(full_path) + ".partial-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in content.chunks(CHUNK):
                    out.write(chunk)
        except BaseException:
            _unlink(partial)
            raise
        _publish(partial, full_path)
        return name


    def link_in(self, name: str, source: str) -> bool:
        """Store the file at `source` under `name` without copying it: a hard link (the same
        atomic protocol as _save: a partial name, fsync, rename). False when the link cannot be
        made (another filesystem, a filesystem without hard links): then the caller copies."""
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        os.makedirs(directory, exist_ok=True, mode=0o700)
        partial = f"{full_path}.partial-{uuid.uuid4().hex}"
        try:
            os.link(source, partial)
        except OSError as exc:
            if exc.errno in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP):
                return False
            raise
        _publish(partial, full_path)
        return True


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _publish(partial: str, full_path: str) -> None:
    """Make the partial file the blob: its bytes on disk (fsync), then its name (an atomic
    rename), then the rename itself durable (fsync of the directory)."""
    try:
        fd = os.open(partial, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(partial, 0o600)
        os.replace(partial, full_path)
    except BaseException:
        _unlink(partial)
        raise
    dir_fd = os.open(os.path.dirname(full_path), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@dataclass(frozen=True)
class Partial:
    """A write a writer began and did not finish (yet): a partial file, an S3 multipart upload."""

    sha256: str
    ref: str  # the partial file's path, or the multipart upload's id


class Adapter:
    def __init__(self, storage: Storage):
        self.storage = storage

    def read(self, key: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes [start, end) in chunks of at most CHUNK."""
        raise NotImplementedError

    def shas(self) -> Iterator[str]:
        """The sha256 of every content stored."""
        raise NotImplementedError

    def partials(self) -> Iterator[Partial]:
        raise NotImplementedError

    def abort(self, partial: Partial) -> None:
        raise NotImplementedError


class FileSystemAdapter(Adapter):
    def read(self, key: str, start: int, end: int) -> Iterator[bytes]:
        # Opened now, not at the first chunk: a content removed meanwhile is still read whole.
        handle = open(self.storage.path(key), "rb")
        handle.seek(start)
        return self._chunks(handle, key, end - start)

    @staticmethod
    def _chunks(handle, key: str, left: int) -> Iterator[bytes]:
        with handle:
            while left > 0:
                chunk = handle.read(min(CHUNK, left))
                if not chunk:
                    raise OSError(f"blob {key} ended {left} bytes early")
                left -= len(chunk)
                yield chunk

    def _walk(self) -> Iterator[tuple[str, str]]:
        root = self.storage.location
        for directory, _dirs, files in os.walk(root):
            for name in files:
                yield directory, name

    def shas(self) -> Iterator[str]:
        for _directory, name in self._walk():
            if _SHA256.fullmatch(name):
                yield name

    def partials(self) -> Iterator[Partial]:
        for directory, name in self._walk():
            match = _PARTIAL.fullmatch(name)
            if match:
                yield Partial(match.group(1), os.path.join(directory, name))

    def abort(self, partial: Partial) -> None:
        try:
            os.unlink(partial.ref)
        except FileNotFoundError:
            pass


class S3Adapter(Adapter):
    """django-storages' S3Storage. Reads go to GetObject with a Range (S3File would first copy the
    whole object into a local temporary file)."""

    @property
    def _client(self):
        return self.storage.connection.meta.client

    def _name(self, key: str) -> str:
        return self.storage._normalize_name(key)

    def _prefix(self) -> str:
        location = self.storage.location.strip("/")
        return f"{location}/" if location else ""

    def read(self, key: str, start: int, end: int) -> Iterator[bytes]:
        if end <= start:
            return iter(())
        # Asked now, not at the first chunk (as the filesystem's file is opened now).
        answer = self._client.get_object(Bucket=self.storage.bucket_name, Key=self._name(key), Range=f"bytes={start}-{end - 1}")
        return self._chunks(answer["Body"])

    @staticmethod
    def _chunks(body) -> Iterator[bytes]:
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def shas(self) -> Iterator[str]:
        pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.storage.bucket_name, Prefix=self._prefix())
        for page in pages:
            for item in page.get("Contents", []):
                name = item["Key"].rsplit("/", 1)[-1]
                if _SHA256.fullmatch(name):
                    yield name

    def partials(self) -> Iterator[Partial]:
        pages = self._client.get_paginator("list_multipart_uploads").paginate(Bucket=self.storage.bucket_name, Prefix=self._prefix())
        for page in pages:
            for upload in page.get("Uploads", []):
                name = upload["Key"].rsplit("/", 1)[-1]
                if _SHA256.fullmatch(name):
                    yield Partial(name, upload["UploadId"])

    def abort(self, partial: Partial) -> None:
        self._client.abort_multipart_upload(Bucket=self.storage.bucket_name, Key=self._name(key(partial.sha256)), UploadId=partial.ref)


def adapter(storage: Storage) -> Adapter:
    if isinstance(storage, FileSystemStorage):
        return FileSystemAdapter(storage)
    from storages.backends.s3 import S3Storage  # only a site on S3 needs boto3 loaded

    if isinstance(storage, S3Storage):
        return S3Adapter(storage)
    raise TypeError(f"the blob storage {type(storage).__name__} is neither a FileSystemStorage nor django-storages' S3Storage")


class HashingReader:
    """A read-only stream over `stream` that computes the sha256 of what is read through it."""

    def __init__(self, stream: BinaryIO, digest):
        self._stream = stream
        self.digest = digest
        self.size = 0

    def read(self, count: int = -1) -> bytes:
        chunk = self._stream.read(count)
        self.digest.update(chunk)
        self.size += len(chunk)
        return chunk

    def chunks(self, chunk_size: int = CHUNK) -> Iterator[bytes]:
        while chunk := self.read(chunk_size):
            yield chunk

    closed = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False  # read once, in order: every byte goes through the digest exactly once

    def close(self) -> None:
        pass
