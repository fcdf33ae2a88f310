"""A real process that writes one blob and stops where the test says: `python -m tests.blobs.writer`.

It puts `--size` bytes of a repeating pattern (blobs.store.put, inside a transaction) and, after
`--pause-at` bytes have been read from its stream, prints `paused <pid> <backend pid>` and waits
for a line on stdin; `--pause-at -1` pauses after the bytes are written, before the commit. A
test kills it there (SIGKILL), or cuts its database connection, and looks at what is left.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys


def pattern(size: int) -> bytes:
    block = bytes(range(256)) * 4096  # 1 MiB
    return (block * (size // len(block) + 1))[:size]


class _Pausing(io.RawIOBase):
    def __init__(self, data: bytes, pause_at: int, pause):
        self._data, self._at, self._pause_at, self._pause = data, 0, pause_at, pause

    def readable(self):
        return True

    def readinto(self, buffer):
        if self._pause_at >= 0 and self._at >= self._pause_at:
            self._pause()
            self._pause_at = -1
        count = min(len(buffer), len(self._data) - self._at)
        if self._pause_at >= 0:
            count = min(count, max(self._pause_at - self._at, 1))
        buffer[:count] = self._data[self._at:self._at + count]
        self._at += count
        return count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--pause-at", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icebox.settings")
    import django

    django.setup()
    from django.db import connection

    from blobs import store

    # This thread's connection, the one the put's transaction uses (the stream may be read in
    # another thread: S3's transfer threads).
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]

    def pause():
        print(f"paused {os.getpid()} {backend}", flush=True)
        sys.stdin.readline()

    data = pattern(args.size)
    with store.atomic():
        # The digest given, as an upload's or a download's is: the pause comes while the bytes are written.
        blob = store.put(open_stream=lambda: io.BufferedReader(_Pausing(data, args.pause_at, pause)), size=len(data),
                         sha256=hashlib.sha256(data).hexdigest())
        if args.pause_at < 0:
            pause()
    print(f"stored {blob.sha256}", flush=True)


if __name__ == "__main__":
    main()
