"""HTTP Range requests (RFC 9110 14) on an artifact's raw bytes: resume a download, read a part.

One range (`bytes=0-99`, `bytes=100-`, `bytes=-100`) is a 206 with Content-Range; a range that
starts at or past the end (or any range of an empty file) is a 416 with `Content-Range:
bytes */<size>`. Several ranges in one request are answered with the whole file (200), which
RFC 9110 allows: no client that resumes or seeks needs multipart/byteranges. A header that does
not parse, or another unit than bytes, is ignored (the whole file), as the RFC says. With
If-Range, the range applies only if the client's ETag is the current one (strong comparison);
otherwise the whole file is sent.
"""

from __future__ import annotations

import re

UNSATISFIABLE = "unsatisfiable"
_SPEC = re.compile(r"\s*(?:([0-9]+)-([0-9]*)|-([0-9]+))\s*")


def requested_range(range_header: str | None, if_range: str | None, *, size: int, etag: str):
    """None (send the whole file), (start, end) with end exclusive, or UNSATISFIABLE."""
    if not range_header:
        return None
    if if_range is not None and if_range.strip() != etag:
        return None  # the client's copy is another version (or a date, which Icebox never sends)
    unit, sep, specs = range_header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    parts = specs.split(",")
    if len(parts) != 1:
        return None
    match = _SPEC.fullmatch(parts[0])
    if match is None:
        return None
    first, last, suffix = match.groups()
    if suffix is not None:
        length = int(suffix)
        if length == 0 or size == 0:
            return UNSATISFIABLE
        return max(0, size - length), size
    start = int(first)
    if last and int(last) < start:
        return None  # invalid: ignored, like any range that does not parse
    if start >= size:
        return UNSATISFIABLE
    end = size if not last else min(int(last) + 1, size)
    return start, end
