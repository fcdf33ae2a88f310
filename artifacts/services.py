"""Writes: every change to artifacts goes through these functions, each all or nothing."""

from __future__ import annotations

import os
import unicodedata
from pathlib import PurePath

from django.conf import settings
from django.db import transaction

import kinds
from blobs import store as blob_store
from core.exceptions import InvalidFile, InvalidParameter
from geo.loading import delete_features, load_features
from geo.overview import wants_overview
from geo.tasks import build_tile_overview
from icebox.models import Artifact
from kinds.base import Table

# Artifact.name and Artifact.file_name are varchar(255).
MAX_NAME_CHARS = 255


def artifact_upload(*, owner, file_name: str, data: bytes | os.PathLike, name: str | None = None, sha256: str | None = None,
                    raw: bool = False) -> list[Artifact]:
    """Parse an engine CSV, or a zip of them, and store one artifact per CSV for `owner`.

    `data` is the bytes or, for an upload of any size, the path of the file holding them (only
    what a kind parses is read whole); `sha256` their digest if the caller computed it while
    receiving them. Every file must be one a kind reads (kinds.read_export refuses the rest,
    naming what is accepted): uploads are for engine files Icebox parses; imports keep raw files
    too. With `raw`, the file is kept byte for byte as one artifact of kind `file`, whatever it holds.
    """
    size = len(data) if isinstance(data, (bytes, bytearray)) else os.stat(data).st_size
    if size > settings.ICEBOX_MAX_UPLOAD_BYTES:
        raise InvalidFile(f"{file_name}: {size} bytes is over the upload limit of {settings.ICEBOX_MAX_UPLOAD_BYTES} bytes")
    _check_name(name)
    _check_file_name(file_name)
    if raw:
        tables = [kinds.read_raw(file_name, data, sha256=sha256)]
    else:
        tables = kinds.read_export(file_name, data, max_uncompressed=settings.ICEBOX_MAX_UNCOMPRESSED_BYTES, sha256=sha256)
    if name is not None and len(tables) != 1:
        raise InvalidParameter(f"name can only be given for a single CSV; {file_name} holds {len(tables)} files")
    with blob_store.atomic():
        return [artifact_create(owner=owner, table=table, name=name) for table in tables]


def artifact_create(*, owner, table: Table, name: str | None = None, metadata: dict | None = None) -> Artifact:
    """Store one parsed table: its bytes (blobs.store), the artifact row and its features, all or
    nothing (see blobs.store for how the bytes, written first, follow the transaction)."""
    if table.artifact_type not in kinds.ARTIFACT_TYPES:
        raise ValueError(f"{table.artifact_type!r} is not a kind of the registry")  # a kind's bug, not the user's
    _check_name(name)
    _check_file_name(table.file_name)
    with blob_store.atomic():
        # A file kept raw from disk (an upload's or a download's temporary file) may be taken as it is.
        blob = blob_store.put(open_stream=table.open, size=table.size, sha256=table.sha256, path=getattr(table.source, "path", None))
        artifact = Artifact.objects.create(
            owner=owner,
            blob=blob,
            artifact_type=table.artifact_type,
            name=name or PurePath(table.file_name).stem,
            file_name=table.file_name,
            content_type=table.content_type,
            size=blob.size,
            sha256=blob.sha256,
            metadata={**table.metadata, **(metadata or {}), "columns": [c.as_dict() for c in table.columns]},
        )
        if table.has_rows:
            # A file kept raw has no partition at all: nothing to read, nothing to drop.
            loaded = load_features(artifact_id=artifact.pk, table=table)
            artifact.feature_count = loaded.count
            artifact.bbox = loaded.bbox
            artifact.feature_part = loaded.part
            artifact.save(update_fields=["feature_count", "bbox", "feature_part"])
            if wants_overview(artifact):
                # Queued in this transaction (the queue is a table): a refused import queues
                # nothing, and the worker builds it only once the rows are committed.
                build_tile_overview.enqueue(artifact.pk)
    return artifact


def _check_name(name) -> None:
    if name is None:
        return
    if not isinstance(name, str):
        raise InvalidParameter("name must be text, not a file")
    # PostgreSQL text cannot hold NUL; other control characters have no place in a name either.
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise InvalidParameter(f"name must not contain control characters, got {name[:80]!r}")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidParameter(f"name is {len(name)} characters long; the limit is {MAX_NAME_CHARS}")


def _check_file_name(file_name: str) -> None:
    # Refused rather than cut: a cut name is one the user never gave (and may lose its extension).
    if len(file_name) > MAX_NAME_CHARS:
        raise InvalidFile(f"{file_name[:40]}...: the file name is {len(file_name)} characters long; the limit is {MAX_NAME_CHARS}")


def artifact_delete(*, artifact: Artifact) -> None:
    """Remove the artifact and its bytes at once; its features with them, or as soon as no read holds them.

    The transaction takes row locks only, so it never waits for reads in progress (a stream of
    this very artifact goes on to its end, from its own snapshot) and no new read waits for it:
    from its commit every lookup of the artifact is a 404. The rows of a small artifact (in the
    shared partition) are deleted in the same transaction. A partition of its own is dropped
    after the commit, which needs the parent table to itself; while reads keep it busy, again by
    `geo.loading.drop_orphan_partitions` (the periodic sweep).
    """
    artifact_id, part, sha256 = artifact.pk, artifact.feature_part, artifact.sha256
    with transaction.atomic():
        artifact.delete()
        delete_features(artifact_id=artifact_id, part=part)
        # The bytes, unless another artifact has the same (the sweep retries if a writer holds them).
        transaction.on_commit(lambda: blob_store.release(sha256), robust=True)
