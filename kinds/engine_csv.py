"""The grammar every CSV the engine exports shares: its `#,,,"key=value, ..."` metadata row, its
header row, the text rules (UTF-8, an optional BOM, \\r\\n or \\n line ends) and the errors a
person can act on when a file breaks them.

Kinds read their own columns; this module reads what comes before them. `read_header` raises
ParseError with today's messages and line numbers; `peek_header` is its cheap, never-raising
twin for `claims()`.
"""

from __future__ import annotations

import ast
import csv
import io
import math
import re
from dataclasses import dataclass

from kinds.base import ParseError

__all__ = [
    "FLOAT_RE",
    "Header",
    "IMT_RE",
    "base_name",
    "body_stream",
    "csv_message",
    "header_number",
    "peek_header",
    "read_header",
    "reader",
    "utf8_message",
]

BOM = b"\xef\xbb\xbf"
NON_SPACE = re.compile(rb"\S")
# Header-level grammar; used once per file, never in a row loop. Header cells come from
# uploads: every pattern here must match in linear time (no two quantifiers that can take the
# same characters), or one crafted cell stalls the worker.
FLOAT = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
FLOAT_RE = re.compile(FLOAT)
IMT = r"[A-Z][A-Za-z0-9_]*(?:\([0-9.,eE+\-]+\))?"
IMT_RE = re.compile(IMT)
# key=value pairs of the metadata cell: values as Python repr() writes them, or bare numbers.
_PAIR_RE = re.compile(r"""\s*(?P<key>[A-Za-z_]\w*)\s*=(?P<value>\s*'(?:[^'\\]|\\.)*'\s*|\s*"(?:[^"\\]|\\.)*"\s*|[^,'"]*)(?:,|$)""")
_ENGINE_RE = re.compile(r"OpenQuake engine (\S+)")


@dataclass(frozen=True)
class Header:
    """What precedes the data rows of an engine CSV."""

    pairs: dict  # the metadata row's key=value pairs ({} without one)
    cells: list[str]  # the header row
    line: int  # the header row's 1-based physical line
    body_offset: int  # where the data rows start, in bytes


def read_header(data: bytes, *, error_name: str) -> Header:
    """The metadata row and header row of an engine CSV; ParseError naming the line if malformed."""

    def error(message: str, line: int) -> ParseError:
        return ParseError(message, file_name=error_name, line=line)

    start = len(BOM) if data.startswith(BOM) else 0
    nul = data.find(b"\x00")
    if nul >= 0:
        raise error("not a CSV text file (it contains NUL bytes)", data.count(b"\n", 0, nul) + 1)
    if not NON_SPACE.search(data, start):
        raise error("empty file", 1)

    rows, buffer = reader(data, start)

    def next_row() -> list[str] | None:
        try:
            return next(rows, None)
        except UnicodeDecodeError as exc:
            raise error(utf8_message(exc), rows.line_num + 1) from None
        except csv.Error as exc:
            raise error(csv_message(exc), rows.line_num) from None

    first = next_row()
    pairs: dict = {}
    if first and first[0] == "#":
        pairs = metadata_pairs(first, error)
        cells = next_row()
        if cells is None:
            raise error("no header row after the metadata row", rows.line_num + 1)
    else:
        cells = first
    line = rows.line_num
    if not cells:
        raise error("blank line where the header row should be", line)
    return Header(pairs=pairs, cells=cells, line=line, body_offset=buffer.tell())


def peek_header(data: bytes) -> list[str] | None:
    """The header row of an engine CSV, or None if it does not read as one. Never raises.

    Reads only the first line or two (the metadata row, the header): cheap enough for claims().
    """
    start = len(BOM) if data.startswith(BOM) else 0
    end = data.find(b"\n", start)
    if end >= 0 and data.startswith(b"#", start):
        end = data.find(b"\n", end + 1)
    head = data if end < 0 else data[: end + 1]
    try:
        return read_header(head, error_name="").cells
    except (ParseError, ValueError, RecursionError):
        return None


def metadata_pairs(row: list[str], error) -> dict:
    """The key=value pairs of the engine's metadata row: '#', empty cells, then one quoted cell."""
    if len(row) == 1:
        return {}
    if any(cell.strip() for cell in row[1:-1]):
        raise error('unexpected values in the metadata row (expected "#", empty cells, then key=value pairs)', 1)
    text = row[-1]
    end = len(text.rstrip())
    pairs = {}
    position = 0
    while position < end:
        match = _PAIR_RE.match(text, position)
        if not match or match.end() == position:
            raise error(f"cannot read the metadata row from {text[position:position + 40].strip()!r}", 1)
        key, raw = match["key"], match["value"].strip()
        if key in pairs:
            raise error(f"metadata key {key!r} given twice", 1)
        pairs[key] = _metadata_value(raw)
        position = match.end()
    return pairs


def _metadata_value(raw: str):
    if raw[:1] in ('"', "'"):
        # The engine writes repr() of its strings; literal_eval is the exact inverse and the
        # regex has already limited raw to a single string literal, so nothing is executed.
        return ast.literal_eval(raw)
    for convert in (int, float):
        try:
            return convert(raw)
        except ValueError:
            pass
    return raw


def common_metadata(pairs: dict, error) -> dict:
    """What every engine CSV's metadata row may say: generator, start date, checksum, kind, IMT, investigation time."""
    metadata: dict = {}
    for key, kind in (("generated_by", str), ("start_date", str), ("kind", str), ("imt", str)):
        if key in pairs:
            if not isinstance(pairs[key], kind) or not pairs[key]:
                raise error(f"metadata {key}={pairs[key]!r} is not a text", 1)
            metadata[key] = pairs[key]
    if "generated_by" in metadata and (match := _ENGINE_RE.fullmatch(metadata["generated_by"])):
        metadata["engine_version"] = match[1]
    if "checksum" in pairs:
        if not isinstance(pairs["checksum"], int):
            raise error(f"metadata checksum={pairs['checksum']!r} is not an integer", 1)
        metadata["checksum"] = pairs["checksum"]
    if "investigation_time" in pairs:
        value = pairs["investigation_time"]
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise error(f"metadata investigation_time={value!r} is not a positive number of years", 1)
        metadata["investigation_time"] = float(value)
    return metadata


def header_number(text: str) -> float | None:
    # Stricter than float(): no 'nan', 'inf', spaces or '1_0' in a column name.
    if not FLOAT_RE.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def body_stream(data: bytes, start: int) -> io.BytesIO:
    """A binary stream of data[start:]: what the row readers (and the database's CSV parser) read."""
    buffer = io.BytesIO(data)  # shares `data`, no copy
    buffer.seek(start)
    return buffer


def reader(data: bytes, start: int):
    """A csv reader over data[start:], and the buffer under it (its tell() is where the reader stopped)."""
    buffer = body_stream(data, start)
    # Decoded line by line so a bad UTF-8 byte is reported on its own line.
    return csv.reader(map(bytes.decode, buffer), strict=True), buffer


def csv_message(exc: csv.Error) -> str:
    if "new-line character" in str(exc):
        # Lines are split on '\n' only; a lone '\r' (old Mac line ends) lands inside a field, and
        # the csv module's own advice about "universal-newline mode" would only confuse a user.
        return "malformed CSV: a carriage return inside a field (lines must end with \\n or \\r\\n)"
    return f"malformed CSV: {exc}"


def utf8_message(exc: UnicodeDecodeError) -> str:
    return f"not valid UTF-8 (byte 0x{exc.object[exc.start]:02x} at column {exc.start + 1})"


def base_name(path: str) -> str:
    # Upload and zip-member names may carry directories, with either separator.
    return path.replace("\\", "/").rsplit("/", 1)[-1]
