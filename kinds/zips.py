"""Zips from users and engines, opened within bounds: the one place both readers of zips share.

`kinds.open_export` (an upload, an engine export) and `kinds.input_archive` (a job's inputs) open
their zips here, so that the bounds a zip from a user needs are the same for both: the entries
counted before ZipFile builds an object per entry, the declared sizes summed before anything is
read, and what the decompressor actually produces counted while it is read.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from typing import BinaryIO, Callable

from kinds.base import ParseError

_CHUNK = 1 << 16
Error = Callable[[str], ParseError]


def open_zip(source: bytes | BinaryIO, *, max_members: int, max_total: int, error: Error) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """The archive and its entries (error(message) raised: unreadable, too many entries, too large declared).

    `source` is the zip's bytes or a seekable binary stream (a file on disk, never read whole);
    a stream must stay open while the archive is read."""
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source
    # ZipFile builds an object per central-directory entry before anything can be counted, and
    # each entry starts with this signature: counting it first bounds that memory.
    if _count_signatures(stream, b"PK\x01\x02") > max_members:
        raise error(f"more than {max_members} entries in the zip")
    try:
        archive = zipfile.ZipFile(stream)
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        raise error(f"corrupt zip ({exc})") from None
    if len(entries) > max_members:
        raise error(f"more than {max_members} entries in the zip")
    # Every member counts, read or not: the limit is on what the archive claims to hold.
    declared = sum(entry.file_size for entry in entries if not entry.is_dir())
    if declared > max_total:
        raise error(f"the zip expands to {declared} bytes, over the limit of {max_total}")
    return archive, entries


def _count_signatures(stream: BinaryIO, signature: bytes) -> int:
    # In chunks that overlap by one signature less a byte: a zip on disk is never read whole.
    count, tail = 0, b""
    stream.seek(0)
    while chunk := stream.read(1 << 20):
        window = tail + chunk
        count += window.count(signature)
        tail = window[-(len(signature) - 1):]
    stream.seek(0)
    return count


def read_member(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, *, budget: int, limit: int, error: Error,
                max_ratio: int | None = None, ratio_floor: int = 0) -> bytes:
    """The member's bytes, stopped as soon as they go over `budget` (what is left of `limit`) or
    expand more than `max_ratio` times their compressed size past `ratio_floor` bytes."""
    # The declared sizes were checked already, but they are the archive's word.
    chunks = []
    size = 0
    try:
        with archive.open(entry) as member:
            while chunk := member.read(_CHUNK):
                size += len(chunk)
                if size > budget:
                    raise error(f"the zip expands to more than the limit of {limit} bytes")
                if max_ratio is not None and size > ratio_floor and size > max_ratio * max(entry.compress_size, 1):
                    raise error(f"expands more than {max_ratio} times: a zip bomb")
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
        raise error(f"corrupt zip ({exc})") from None
    return b"".join(chunks)
