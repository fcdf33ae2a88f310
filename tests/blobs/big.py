"""Files of gigabytes for the tests and the benchmark: written from a repeating pattern (nothing
committed), sent as a streamed multipart body, and the peak memory of the processes that moved them."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

_BLOCK = bytes(range(256)) * 4096  # 1 MiB


def big_file(path: Path, size: int) -> str:
    """Write `size` bytes of the pattern (each MiB carrying its own number, so that a misplaced
    range cannot read as right) to `path`; returns their sha256."""
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        written = 0
        number = 0
        while written < size:
            block = (number.to_bytes(8, "big") + _BLOCK[8:])[: size - written]
            out.write(block)
            digest.update(block)
            written += len(block)
            number += 1
    return digest.hexdigest()


def expected_range(path: Path, start: int, end: int) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(start)
        return handle.read(end - start)


class MultipartFile:
    """A multipart/form-data body holding one file (and text fields), read from disk as it is sent:
    requests streams an object with read() and a length, and never holds the file."""

    def __init__(self, path: Path, *, field: str = "file", file_name: str | None = None, fields: dict[str, str] | None = None):
        self.boundary = uuid.uuid4().hex
        head = b""
        for name, value in (fields or {}).items():
            head += f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        head += (f'--{self.boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{file_name or path.name}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n").encode()
        self._parts = [head, None, f"\r\n--{self.boundary}--\r\n".encode()]
        self._file = open(path, "rb")
        self.len = len(head) + os.stat(path).st_size + len(self._parts[2])
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        self._index, self._offset = 0, 0

    def __len__(self):
        return self.len

    def read(self, size: int = -1) -> bytes:
        size = 1 << 20 if size is None or size < 0 else size
        while self._index < 3:
            part = self._parts[self._index]
            if part is None:
                chunk = self._file.read(size)
                if chunk:
                    return chunk
            elif self._offset < len(part):
                chunk = part[self._offset:self._offset + size]
                self._offset += len(chunk)
                return chunk
            self._index += 1
            self._offset = 0
        return b""

    def close(self):
        self._file.close()


def post_file(session, url: str, path: Path, *, file_name: str, fields: dict[str, str]):
    """POST the file at `path` as a multipart upload, streamed from disk."""
    body = MultipartFile(path, fields=fields, file_name=file_name)
    try:
        return session.post(url, data=body, headers={"Content-Type": body.content_type}, timeout=1800)
    finally:
        body.close()


def peak_rss_bytes(pid: int) -> int:
    """The process's peak resident set (VmHWM) so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmHWM for process {pid}")
