"""A calculation's export zip: every stored file, byte for byte, under `<output type>/<file>`.

The zip is written while it is sent. zipfile writes to a sink that is drained after every chunk
of a member (an unseekable sink: each member's sizes follow its data in a data descriptor), and
each file's bytes come from the blob store in chunks, so the process holds one chunk and one
compressed chunk, however large the calculation.

The list of files is one statement, so it reads the calculation from one snapshot: an artifact
imported while the zip is being sent is not in it. One deleted meanwhile may have lost its bytes
by the time its turn comes: the transfer then ends broken, with no central directory, as it does
when a connection is lost mid-way: an unzip tool says so, it never looks like a complete smaller
archive.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import timezone

from blobs import store as blob_store
from engine.models import Calculation, ImportedOutput
from engine.tree import export_path

# Bytes handed to the compressor at a time, and so the most the sink holds between two drains
# (deflate output is smaller than its input).
CHUNK = 1 << 20
CONTENT_TYPE = "application/zip"


def export_file_name(calculation: Calculation) -> str:
    """The zip's download name: the engine's calc id, as the engine names its datastore (calc_2.hdf5)."""
    return f"calc_{calculation.calc_id}.zip"


def export_chunks(calculation: Calculation) -> Iterator[bytes]:
    """The zip of a calculation the caller has checked the user may read, as it is written."""
    sink = _Sink()
    files = (
        ImportedOutput.objects.filter(calculation_id=calculation.pk)
        .order_by("output_type", "output_id", "file_name", "artifact_id")
        .values_list("output_type", "output_id", "export_name", "file_name", "artifact__created", "artifact__size", "artifact__sha256")
    )
    # The list of files is read at once (one snapshot); each file's bytes then come from the blob
    # store in chunks, opened as the file's turn comes.
    rows = list(files)
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        paths: set[str] = set()
        for output_type, output_id, export_name, file_name, created, size, sha256 in rows:
            path = _unique(export_path(output_type=output_type, output_id=output_id, export_name=export_name, file_name=file_name), output_id, paths)
            info = zipfile.ZipInfo(path, date_time=created.astimezone(timezone.utc).timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            # rw-r--r-- regular file: without a mode, unzip (Info-ZIP) creates files no one may read.
            info.external_attr = 0o100644 << 16
            # The size known up front lets zipfile choose zip64 for a member over 4 GiB.
            info.file_size = size
            with archive.open(info, mode="w") as member:
                for block in blob_store.read(sha256, size=size):
                    for start in range(0, len(block), CHUNK):
                        member.write(block[start:start + CHUNK])
                        if chunk := sink.drain():
                            yield chunk
            if chunk := sink.drain():
                yield chunk
    # Closing wrote the central directory.
    if chunk := sink.drain():
        yield chunk


def _unique(path: str, output_id: int, paths: set[str]) -> str:
    # One output per type is what the engine makes, and a file name once per output; should two
    # outputs of one type ever hold the same name, the second goes under its output id.
    if path in paths:
        folder, name = path.split("/", 1)
        path = f"{folder}/output-{output_id}/{name}"
    paths.add(path)
    return path


class _Sink:
    """A write-only file for zipfile: no seek and no tell, so zipfile writes as a stream."""

    def __init__(self):
        self._parts: list[bytes] = []

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data
