"""Helpers of the whole suite: uploads through the API, an independent CSV reader, what is stored."""

import csv
import io

from django.db import connection

from blobs import store as blob_store
from blobs.models import Blob
from icebox.models import Artifact


def upload(client, file_name: str, data: bytes, **extra):
    return client.post("/artifacts", {"file": _named(file_name, data), **extra}, format="multipart")


def _named(name, data):
    f = io.BytesIO(data)
    f.name = name
    return f


def read_engine_csv(data: bytes):
    """An independent reading of an engine CSV: (header, rows as dicts of original text)."""
    rows = list(csv.reader(io.StringIO(data.decode())))
    if rows[0][0] == "#":
        rows = rows[1:]
    header, body = rows[0], rows[1:]
    return header, [dict(zip(header, row)) for row in body]


def partition_count() -> int:
    """Partitions of geo_feature of their own (one per big artifact), the shared one left out."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'geo_feature'::regclass AND inhrelid::regclass::text <> 'geo_feature_shared'")
        attached = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname ~ '^geo_feature_[0-9]+$' AND relkind = 'r'")
        tables = cursor.fetchone()[0]
    assert attached == tables, "a feature table exists that is not attached"
    return tables


def stored_bytes(artifact) -> bytes:
    """An artifact's bytes as the blob store holds them."""
    return blob_store.read_all(artifact.blob.sha256, size=artifact.blob.size)


def stored_contents() -> int:
    """How many contents the blob storage holds (whole ones; partial writes apart)."""
    return len(list(blob_store.backend().shas()))


def partial_writes() -> list:
    return list(blob_store.backend().partials())


def shared_row_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM geo_feature_shared")
        return cursor.fetchone()[0]


def assert_nothing_stored():
    assert Artifact.objects.count() == 0
    assert Blob.objects.count() == 0
    # No bytes without their artifact either: nothing in the storage, whole or partial.
    assert stored_contents() == 0
    assert partial_writes() == []
    assert partition_count() == 0
    assert shared_row_count() == 0
