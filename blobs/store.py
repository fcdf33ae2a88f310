"""Storing, reading and removing contents: all or nothing across the storage and the database.

The bytes live in a storage (a directory, a bucket) and the Blob rows in PostgreSQL: no single
transaction covers both, so the order of writes and a lock decide what a failure can leave.

Writing (`put`, inside the caller's transaction):
 1. take a transaction-level advisory lock on the sha256 (`pg_advisory_xact_lock`): held until
    the caller's transaction ends, however it ends (commit, rollback, a killed process, a dropped
    connection: PostgreSQL releases it with the session);
 2. if a Blob row is there, its bytes are too: reuse them (identical bytes are stored once);
 3. else write the bytes under their key (whole or not at all: a rename on a filesystem, a
    completed upload on S3) and insert the row, which the caller's commit publishes together
    with whatever references it.
So a committed Blob row always has its bytes; what a failure can leave is bytes without a row
(a write done before a rollback or a crash), or a partial write (a killed writer's temporary
file, an S3 multipart upload never completed).

Removing (`release`, after the referencing row is deleted and committed; `sweep`): take the
same lock, so never while a writer of that content is between steps 1 and its commit; delete
the row if nothing references it (on_delete=PROTECT says), commit, then delete the bytes. A
crash between the two leaves bytes without a row, which the sweep removes.

The sweep (`sweep`, the `icebox_blobs_sweep` command and a housekeeping step) removes bytes
without a row, partial writes and rows nothing references, each only under its lock: a content
being written is never touched, and no age or clock is guessed.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from contextlib import contextmanager
from typing import BinaryIO, Callable, Iterator

from django.core.files.storage import storages
from django.db import connection, transaction
from django.db.models import ProtectedError

from blobs.backends import Adapter, AtomicFileSystemStorage, HashingReader, Partial, adapter, key
from blobs.models import Blob

log = logging.getLogger(__name__)

STORAGE = "blobs"  # the name in settings.STORAGES
CHUNK = 1 << 20
# Advisory locks of blobs: the two-key form, (namespace, first 32 bits of the sha256). Two contents
# sharing a lock only wait for each other; the engine's job locks use the one-key form.
_LOCK_NAMESPACE = 0x1CEB0B


class IntegrityError(Exception):
    """The bytes read are not those announced (their sha256 or size differ)."""


def storage():
    return storages[STORAGE]


def backend() -> Adapter:
    return adapter(storage())


def _lock_args(sha256: str) -> list[int]:
    return [_LOCK_NAMESPACE, int(sha256[:8], 16) - (1 << 31)]


def digest(open_stream: Callable[[], BinaryIO]) -> tuple[str, int]:
    """The sha256 and size of a stream, read in chunks."""
    hashed = hashlib.sha256()
    size = 0
    with open_stream() as stream:
        while chunk := stream.read(CHUNK):
            hashed.update(chunk)
            size += len(chunk)
    return hashed.hexdigest(), size


# -- writing -----------------------------------------------------------------------------------

_state = threading.local()


def put(*, open_stream: Callable[[], BinaryIO], size: int, sha256: str | None = None, path: str | None = None) -> Blob:
    """The Blob of these bytes, written to the storage if they are not there yet.

    Must run inside a transaction (the row and the lock go with it: see the module's docstring).
    `sha256`, when the caller computed it while receiving the bytes, saves a pass over them; it
    is checked again while the bytes are written. `path`, a file on disk holding the bytes that
    nothing writes to any more (an upload's or a download's temporary file), lets a filesystem
    store take the file itself (a hard link) instead of a copy.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("blobs.store.put runs inside a transaction: its lock and row go with the caller's commit")
    if sha256 is None:
        sha256, size = digest(open_stream)
    name = key(sha256)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", _lock_args(sha256))
    blob = Blob.objects.filter(sha256=sha256).first()
    if blob is not None:
        if blob.size != size:
            raise IntegrityError(f"sha256 {sha256} is stored with {blob.size} bytes, not {size}")
        return blob
    store = storage()
    # Already there: left by a writer that wrote and then lost its transaction; whole, so reused.
    if not (store.exists(name) and store.size(name) == size):
        linked = path is not None and isinstance(store, AtomicFileSystemStorage) and store.link_in(name, path)
        written = getattr(_state, "written", None)
        if linked:
            if written is not None:
                written.append(sha256)
            with store.open(name, "rb") as stream:
                reader = HashingReader(stream, hashlib.sha256())
                for _chunk in reader.chunks():
                    pass
        else:
            with open_stream() as stream:
                reader = HashingReader(stream, hashlib.sha256())
                store.save(name, reader)
            if written is not None:
                written.append(sha256)
        if reader.digest.hexdigest() != sha256 or reader.size != size:
            store.delete(name)
            raise IntegrityError(f"the bytes stored as {sha256} ({size} bytes) read as {reader.digest.hexdigest()} ({reader.size} bytes)")
    return Blob.objects.create(sha256=sha256, size=size)


@contextmanager
def atomic() -> Iterator[None]:
    """transaction.atomic(), and on failure the bytes its `put`s wrote are removed at once
    (rather than by the next sweep): a refused file leaves nothing behind. Nested, it is a plain
    atomic block: the outermost one cleans up."""
    if getattr(_state, "written", None) is not None:
        with transaction.atomic():
            yield
        return
    _state.written = []
    try:
        with transaction.atomic():
            yield
    except BaseException:
        written, _state.written = _state.written, None
        for sha256 in written:
            try:
                remove_if_orphan(sha256)
            except Exception:  # noqa: BLE001 - the first error is the one to report; the sweep finishes this
                log.warning("could not remove the bytes of %s after a failed write; the blob sweep will", sha256, exc_info=True)
        raise
    finally:
        _state.written = None


# -- reading -----------------------------------------------------------------------------------


def read(sha256: str, start: int = 0, end: int | None = None, *, size: int) -> Iterator[bytes]:
    """The bytes [start, end) of a content of `size` bytes, in chunks."""
    return backend().read(key(sha256), start, size if end is None else end)


def read_all(sha256: str, *, size: int) -> bytes:
    return b"".join(read(sha256, size=size))


# -- removing ----------------------------------------------------------------------------------


def _try_session_lock(sha256: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", _lock_args(sha256))
        return cursor.fetchone()[0]


def _unlock(sha256: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", _lock_args(sha256))


def release(sha256: str) -> bool:
    """Remove the content if nothing references it any more; True if it was removed.

    Call it after the commit that removed a reference. A writer of the same content holds its
    lock: then nothing is done now, and the sweep looks again later.
    """
    if connection.in_atomic_block:
        raise RuntimeError("blobs.store.release runs after the commit that removed the reference")
    if not _try_session_lock(sha256):
        return False
    try:
        with transaction.atomic():
            blob = Blob.objects.select_for_update().filter(sha256=sha256).first()
            if blob is not None:
                try:
                    blob.delete()
                except ProtectedError:
                    return False  # still referenced
        # The row is gone (committed): now the bytes. A crash here leaves bytes without a row.
        storage().delete(key(sha256))
        return True
    finally:
        _unlock(sha256)


def remove_if_orphan(sha256: str) -> bool:
    """Remove the bytes of `sha256` if no Blob row has them and no writer holds their lock."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", _lock_args(sha256))
            if not cursor.fetchone()[0]:
                return False  # being written (or removed) right now
        if Blob.objects.filter(sha256=sha256).exists():
            return False
        storage().delete(key(sha256))
        return True


def _abort_if_dead(store: Adapter, partial: Partial) -> bool:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", _lock_args(partial.sha256))
            if not cursor.fetchone()[0]:
                return False  # its writer is alive: it holds the lock until its commit
        store.abort(partial)
        return True


def unreferenced() -> list[str]:
    """The sha256 of the Blob rows nothing references (whatever models point at Blob)."""
    rows = Blob.objects.all()
    for relation in Blob._meta.related_objects:
        column = relation.field.attname
        referenced = relation.related_model._base_manager.exclude(**{f"{column}__isnull": True}).values(column)
        rows = rows.exclude(pk__in=referenced)
    return list(rows.values_list("sha256", flat=True))


def sweep() -> int:
    """Remove what failed writes and removals left: rows nothing references, bytes without a row,
    partial writes; only under each content's lock. Returns how many things it removed."""
    removed = 0
    for sha256 in unreferenced():
        removed += release(sha256)
    store = backend()
    rows = set(Blob.objects.values_list("sha256", flat=True))
    for sha256 in list(store.shas()):
        if sha256 not in rows:
            removed += remove_if_orphan(sha256)
    for partial in list(store.partials()):
        removed += _abort_if_dead(store, partial)
    if removed:
        log.info("removed %d orphaned blob(s) or partial write(s)", removed)
    return removed
