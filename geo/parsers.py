"""Readers for the hazard CSV files exported by the OpenQuake Engine (seen on 3.26.2).

Pure Python and stdlib only: bytes in, plain data out, so the Django side can load what these
return and the formats can be tested on real files without a database.

Four layouts are recognised from the header row (see api.md section 5):

    hazard curves     lon,lat,depth,poe-0.0010197,...       values are PoEs of the IML in the name
    hazard maps       lon,lat,PGA-0.002105,SA(0.2)-0.002105  values are IMLs at the PoE in the name
    hazard map stats  lon,lat,PGA,SA(0.2)                   IMLs; the return period is in the file name
    UHS               lon,lat,0.002105~PGA,...               IMLs at the PoE in the name

each optionally preceded by a `custom_site_id` column and by the engine's `#,,,"key=value, ..."`
metadata row. `read_csv` checks the metadata and header at once and leaves the data rows to
`Table.rows()`, which validates while it iterates so a million-site map is never held as Python
objects.
"""

from __future__ import annotations

import ast
import csv
import io
import math
import re
import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from typing import Iterator

__all__ = ["Column", "ParseError", "Table", "read_csv", "read_upload", "read_zip"]


class ParseError(Exception):
    """A file Icebox cannot accept. str() reads like 'hazard_map-mean_2.csv: line 7: expected 5 values, found 4'."""

    def __init__(self, message: str, *, file_name: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.file_name = file_name
        self.line = line

    def __str__(self) -> str:
        parts = [self.file_name] if self.file_name else []
        if self.line is not None:
            parts.append(f"line {self.line}")
        return ": ".join(parts + [self.message])

    def __reduce__(self):
        # Keyword-only arguments are lost by the default pickling (task queues pickle errors).
        return _rebuild_parse_error, (self.message, self.file_name, self.line)


def _rebuild_parse_error(message, file_name, line):
    return ParseError(message, file_name=file_name, line=line)


@dataclass(frozen=True)
class Column:
    """One property column of a hazard table (lon and lat are not columns: they are the point)."""

    name: str  # the header cell exactly as written
    quantity: str  # 'poe' | 'iml' | 'depth' | 'site_id'
    imt: str | None = None
    iml: float | None = None  # hazard curves: the level the PoE values refer to
    poe: float | None = None  # hazard maps / UHS: the PoE the IML values refer to
    is_text: bool = False  # only custom_site_id

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Table:
    """One hazard CSV: what its header says, and its data rows on demand."""

    file_name: str
    artifact_type: str  # 'hazard_curve' | 'hazard_map' | 'uhs'
    metadata: dict
    columns: list[Column]
    # Where the data rows are: the raw bytes are kept so rows() can stream them on every call.
    _data: bytes = field(default=b"", repr=False, compare=False)
    _body_offset: int = field(default=0, repr=False, compare=False)
    _lines_before_body: int = field(default=0, repr=False, compare=False)
    _error_name: str | None = field(default=None, repr=False, compare=False)

    @property
    def data(self) -> bytes:
        """The file's exact bytes (for a zip member: the member, decompressed)."""
        return self._data

    def rows(self) -> Iterator[tuple[float, float, tuple]]:
        """Yields (lon, lat, values) per data row, values aligned with `columns` (float, or str for custom_site_id).
        Validates lazily while iterating and raises ParseError with the 1-based physical line number."""
        width = len(self.columns) + 2
        has_site_id = bool(self.columns) and self.columns[0].is_text
        lines_before = self._lines_before_body
        isfinite = math.isfinite
        reader, _ = _reader(self._data, self._body_offset)
        try:
            # This loop runs once per site (a million times for a big map): keep it to C calls
            # (csv, float, sum) and go back over a bad row only once it is known to be bad.
            for row in reader:
                if len(row) != width:
                    if not row:
                        continue  # a blank line carries no site
                    raise self._error(f"expected {width} values, found {len(row)}", lines_before + reader.line_num)
                try:
                    if has_site_id:
                        site_id = row[0]
                        numbers = tuple(map(float, row[1:]))
                    else:
                        numbers = tuple(map(float, row))
                except ValueError:
                    raise self._bad_row(row, lines_before + reader.line_num) from None
                # One sum tells whether every value is finite (nan and inf propagate); a false
                # alarm from two huge finite values overflowing is cleared by _bad_row.
                if not isfinite(sum(numbers)):
                    error = self._bad_row(row, lines_before + reader.line_num)
                    if error:
                        raise error
                lon = numbers[0]
                lat = numbers[1]
                if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
                    raise self._error(f"lon {lon:g}, lat {lat:g} is not a point on the globe", lines_before + reader.line_num)
                if has_site_id:
                    if not site_id.strip():
                        raise self._error("empty custom_site_id", lines_before + reader.line_num)
                    yield lon, lat, (site_id,) + numbers[2:]
                else:
                    yield lon, lat, numbers[2:]
        except UnicodeDecodeError as exc:
            raise self._error(_utf8_message(exc), lines_before + reader.line_num + 1) from None
        except csv.Error as exc:
            raise self._error(_csv_message(exc), lines_before + reader.line_num) from None

    def _error(self, message: str, line: int | None) -> ParseError:
        return ParseError(message, file_name=self._error_name or self.file_name, line=line)

    def _bad_row(self, row: list[str], line: int) -> ParseError | None:
        """Names the first bad cell of a row the fast path rejected (None if it was a false alarm)."""
        names = ["lon", "lat"] + [column.name for column in self.columns]
        if self.columns and self.columns[0].is_text:
            names = [names[2]] + names[:2] + names[3:]  # custom_site_id comes first in the file
        for name, cell in zip(names, row):
            if name == "custom_site_id":
                continue
            if not cell.strip():
                return self._error(f"empty value in column {name!r}", line)
            try:
                value = float(cell)
            except ValueError:
                return self._error(f"column {name!r}: {cell!r} is not a number", line)
            if not math.isfinite(value):
                return self._error(f"column {name!r}: {cell!r} is not a finite number", line)
        return None


def read_upload(file_name: str, data: bytes, *, max_uncompressed: int) -> list[Table]:
    """Reads an uploaded file: a zip of hazard CSVs, or one hazard CSV. The content decides, not the name."""
    # b'PK\x05\x06' is the end record an empty archive starts with: say "no .csv" rather than "binary".
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return read_zip(file_name, data, max_uncompressed=max_uncompressed)
    # A bare CSV is already uncompressed: hold it to the same bound as the contents of a zip, so
    # zipping a file never changes whether it is accepted.
    if len(data) > max_uncompressed:
        raise ParseError(f"{len(data)} bytes, over the limit of {max_uncompressed}", file_name=_base_name(file_name))
    return [read_csv(file_name, data)]


def read_zip(file_name: str, data: bytes, *, max_uncompressed: int, max_members: int = 1000) -> list[Table]:
    """Reads every .csv member of a zip (other members and directories are ignored), one Table each."""
    zip_name = _base_name(file_name)

    def error(message: str) -> ParseError:
        return ParseError(message, file_name=zip_name)

    # ZipFile builds an object per central-directory entry before anything can be counted, and
    # each entry starts with this signature: counting it first bounds that memory.
    if data.count(b"PK\x01\x02") > max_members:
        raise error(f"more than {max_members} entries in the zip")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        raise error(f"corrupt zip ({exc})") from None
    if len(entries) > max_members:
        raise error(f"more than {max_members} entries in the zip")
    # Every member counts, read or not: the limit is on what the archive claims to hold.
    declared = sum(entry.file_size for entry in entries if not entry.is_dir())
    if declared > max_uncompressed:
        raise error(f"the zip expands to {declared} bytes, over the limit of {max_uncompressed}")

    members = [entry for entry in entries if _is_csv_member(entry)]
    if not members:
        raise error("no .csv file in the zip")
    seen: set[str] = set()
    for entry in members:
        name = _base_name(entry.filename)
        if name in seen:
            raise error(f"two members are named {name!r}")
        seen.add(name)
        if entry.flag_bits & 0x1:
            raise ParseError("encrypted member", file_name=f"{zip_name}/{name}")

    tables = []
    budget = max_uncompressed
    for entry in members:
        name = _base_name(entry.filename)
        member_data = _read_member(archive, entry, budget, f"{zip_name}/{name}", max_uncompressed)
        budget -= len(member_data)
        tables.append(_read_csv(name, member_data, error_name=f"{zip_name}/{name}"))
    return tables


def read_csv(file_name: str, data: bytes) -> Table:
    """Reads the metadata row and header of one hazard CSV now, and leaves the data rows to Table.rows()."""
    name = _base_name(file_name)
    return _read_csv(name, data, error_name=name)


# --- zip ------------------------------------------------------------------------------------

_CHUNK = 1 << 16


def _is_csv_member(entry: zipfile.ZipInfo) -> bool:
    if entry.is_dir() or not entry.filename.lower().endswith(".csv"):
        return False
    # Archives made on macOS carry AppleDouble '._x.csv' shadows (binary) under __MACOSX/.
    path = entry.filename.replace("\\", "/")
    return "__MACOSX/" not in f"/{path}" and not _base_name(path).startswith("._")


def _read_member(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, budget: int, label: str, limit: int) -> bytes:
    # The declared sizes were checked already, but they are the archive's word: count what the
    # decompressor actually produces, and stop as soon as it goes over.
    chunks = []
    size = 0
    try:
        with archive.open(entry) as member:
            while chunk := member.read(_CHUNK):
                size += len(chunk)
                if size > budget:
                    raise ParseError(f"the zip expands to more than the limit of {limit} bytes", file_name=label)
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
        raise ParseError(f"corrupt zip ({exc})", file_name=label) from None
    return b"".join(chunks)


# --- one CSV: metadata row and header ----------------------------------------------------------

_BOM = b"\xef\xbb\xbf"
_NON_SPACE = re.compile(rb"\S")
# Header-level grammar; used once per file, never in the row loop. Header cells come from
# uploads: every pattern here must match in linear time (no two quantifiers that can take the
# same characters), or one crafted cell stalls the worker.
_FLOAT = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_FLOAT_RE = re.compile(_FLOAT)
_IMT = r"[A-Z][A-Za-z0-9_]*(?:\([0-9.,eE+\-]+\))?"
_IMT_RE = re.compile(_IMT)
_KIND = r"mean|max|std|rlz-[0-9]+"
_NAME_RE = re.compile(r"(?:output-[0-9]+-)?(?P<prefix>hazard|quantile)_(?P<what>curve|map|uhs)-(?P<middle>.+)_(?P<calc_id>[0-9]+)\.csv")
_MIDDLE_RE = {
    # (prefix, what) -> grammar of the part between the prefix and the calc id
    ("hazard", "curve"): re.compile(rf"(?P<kind>{_KIND})-(?P<imt>{_IMT})"),
    ("quantile", "curve"): re.compile(rf"(?P<quantile>{_FLOAT})-(?P<imt>{_IMT})"),
    ("hazard", "map"): re.compile(rf"(?P<kind>{_KIND})(?:-(?P<return_period>[1-9][0-9]*)y)?"),
    ("quantile", "map"): re.compile(rf"(?P<quantile>{_FLOAT})(?:-(?P<return_period>[1-9][0-9]*)y)?"),
    ("hazard", "uhs"): re.compile(rf"(?P<kind>{_KIND})"),
    ("quantile", "uhs"): re.compile(rf"(?P<quantile>{_FLOAT})"),
}
_ARTIFACT_OF = {"curve": "hazard_curve", "map": "hazard_map", "uhs": "uhs"}
# key=value pairs of the metadata cell: values as Python repr() writes them, or bare numbers.
_PAIR_RE = re.compile(r"""\s*(?P<key>[A-Za-z_]\w*)\s*=(?P<value>\s*'(?:[^'\\]|\\.)*'\s*|\s*"(?:[^"\\]|\\.)*"\s*|[^,'"]*)(?:,|$)""")
_ENGINE_RE = re.compile(r"OpenQuake engine (\S+)")
_MAX_COLUMN_NAME = 200  # the engine's longest are ~25 characters ('SDi(1.0,0.5)-0.002105')


def _read_csv(name: str, data: bytes, *, error_name: str) -> Table:
    def error(message: str, line: int) -> ParseError:
        return ParseError(message, file_name=error_name, line=line)

    start = len(_BOM) if data.startswith(_BOM) else 0
    nul = data.find(b"\x00")
    if nul >= 0:
        raise error("not a CSV text file (it contains NUL bytes)", data.count(b"\n", 0, nul) + 1)
    if not _NON_SPACE.search(data, start):
        raise error("empty file", 1)

    reader, buffer = _reader(data, start)

    def next_row() -> list[str] | None:
        try:
            return next(reader, None)
        except UnicodeDecodeError as exc:
            raise error(_utf8_message(exc), reader.line_num + 1) from None
        except csv.Error as exc:
            raise error(_csv_message(exc), reader.line_num) from None

    first = next_row()
    pairs: dict = {}
    if first and first[0] == "#":
        pairs = _metadata_pairs(first, error)
        header = next_row()
        if header is None:
            raise error("no header row after the metadata row", reader.line_num + 1)
    else:
        header = first
    header_line = reader.line_num
    if not header:
        raise error("blank line where the header row should be", header_line)

    artifact_type, columns, bare_imts = _columns(header, lambda message: error(message, header_line))
    from_name = _name_parts(name)
    metadata = _metadata(pairs, from_name, artifact_type, bare_imts, error, header_line)
    if artifact_type == "hazard_curve":
        columns = [Column(c.name, c.quantity, metadata["imt"], c.iml, c.poe, c.is_text) if c.quantity == "poe" else c
                   for c in columns]

    body_offset = buffer.tell()
    if not _NON_SPACE.search(data, body_offset):
        raise error("no data rows", header_line + 1)
    return Table(name, artifact_type, metadata, columns,
                 _data=data, _body_offset=body_offset, _lines_before_body=header_line, _error_name=error_name)


def _metadata_pairs(row: list[str], error) -> dict:
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


def _metadata(pairs: dict, from_name: dict, artifact_type: str, bare_imts: bool, error, header_line: int) -> dict:
    """Merges what the metadata row and the file name say; they must not contradict each other."""
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

    if from_name and from_name["artifact_type"] != artifact_type:
        raise error(f"the file name says {from_name['artifact_type']} but the columns are those of {artifact_type}", header_line)
    for key in ("kind", "imt"):
        if key in metadata and key in from_name and metadata[key] != from_name[key]:
            raise error(f"the metadata row says {key}={metadata[key]!r} but the file name says {from_name[key]!r}", 1)
        if key not in metadata and key in from_name:
            metadata[key] = from_name[key]

    if artifact_type == "hazard_curve":
        if "imt" not in metadata:
            raise error("hazard curve without an IMT: neither the metadata row (imt=) nor the file name names it", 1)
        if not _IMT_RE.fullmatch(metadata["imt"]):
            raise error(f"metadata imt={metadata['imt']!r} is not an intensity measure type", 1)
    else:
        metadata.pop("imt", None)  # the IMTs of maps and spectra are in their columns

    # Bare-IMT map columns carry no PoE: the return period in the name is the only thing that
    # says which PoE the values are for, so one without the other cannot be read correctly.
    if bare_imts:
        if "return_period" not in from_name:
            raise error("hazard map columns without a PoE (PGA, SA(0.2)...) need the return period in the "
                        "file name, as in hazard_map-mean-475y_2.csv", header_line)
        metadata["return_period"] = from_name["return_period"]
    elif "return_period" in from_name:
        raise error("the file name has a return period but the columns are not bare IMTs", header_line)
    if "calc_id" in from_name:
        metadata["calc_id"] = from_name["calc_id"]
    return {key: metadata[key] for key in _METADATA_ORDER if key in metadata}


_METADATA_ORDER = ("generated_by", "engine_version", "start_date", "checksum", "kind", "investigation_time", "imt",
                   "return_period", "calc_id")


def _name_parts(name: str) -> dict:
    """What an engine file name says: artifact type, kind, IMT, return period, calc id ({} if not an engine name)."""
    match = _NAME_RE.fullmatch(name)
    if not match:
        return {}
    middle = _MIDDLE_RE[match["prefix"], match["what"]].fullmatch(match["middle"])
    if not middle:
        return {}
    parts = {"artifact_type": _ARTIFACT_OF[match["what"]], "calc_id": int(match["calc_id"])}
    found = middle.groupdict()
    parts["kind"] = found["kind"] if found.get("kind") else f"quantile-{found['quantile']}"
    if found.get("imt"):
        parts["imt"] = found["imt"]
    if found.get("return_period"):
        parts["return_period"] = int(found["return_period"])
    return parts


def _columns(header: list[str], error) -> tuple[str, list[Column], bool]:
    """Artifact type and property columns from the header row; also whether map columns are bare IMTs."""
    columns = []
    position = 0
    if header[0] == "custom_site_id":
        columns.append(Column("custom_site_id", "site_id", is_text=True))
        position = 1
    if header[position:position + 2] != ["lon", "lat"]:
        unexpected = next((cell for cell, want in zip(header[position:], ("lon", "lat")) if cell != want), None)
        raise error(f"unknown column {unexpected!r}: a hazard CSV starts with [custom_site_id,] lon, lat"
                    if unexpected is not None else "a hazard CSV needs lon and lat columns")
    position += 2
    if position < len(header) and header[position] == "depth":
        columns.append(Column("depth", "depth"))
        position += 1

    layouts = set()
    seen_names: set[str] = set()
    seen_keys: set[tuple] = set()
    for name in header[position:]:
        if len(name) > _MAX_COLUMN_NAME:
            # Splitting '<IMT>-<poe>' tries every '-': bounded names keep that cheap.
            raise error(f"column name of {len(name)} characters: {name[:40]!r}...")
        if name in seen_names or name in ("custom_site_id", "lon", "lat", "depth"):
            raise error(f"duplicate column {name!r}" if name in seen_names else f"unexpected column {name!r}")
        seen_names.add(name)
        layout, column = _data_column(name, error)
        if layouts and layout not in layouts:
            raise error(f"column {name!r} does not belong with the columns before it (mixed kinds of columns)")
        layouts.add(layout)
        key = (column.quantity, column.imt, column.iml, column.poe)
        if key in seen_keys:
            raise error(f"column {name!r} repeats the same quantity as an earlier column")
        seen_keys.add(key)
        columns.append(column)
    if not layouts:
        raise error("no data columns after lon, lat")
    layout = layouts.pop()
    artifact_type = "hazard_map" if layout == "bare_imt" else layout
    return artifact_type, columns, layout == "bare_imt"


def _data_column(name: str, error) -> tuple[str, Column]:
    if name.startswith("poe-"):
        level = _header_number(name[4:])
        if level is None or level <= 0:
            raise error(f"column {name!r}: the intensity level is not a positive number")
        return "hazard_curve", Column(name, "poe", iml=level)  # the IMT comes from the metadata
    if "~" in name:
        poe_text, _, imt = name.partition("~")
        return "uhs", Column(name, "iml", imt=imt, poe=_poe(name, poe_text, imt, error))
    if _IMT_RE.fullmatch(name):
        return "bare_imt", Column(name, "iml", imt=name)
    # '<IMT>-<poe>': the IMT may contain '-' itself (SA(1e-05)), so try the rightmost split first.
    dash = len(name)
    while (dash := name.rfind("-", 0, dash)) > 0:
        imt, poe_text = name[:dash], name[dash + 1:]
        if _IMT_RE.fullmatch(imt) and _FLOAT_RE.fullmatch(poe_text):
            return "hazard_map", Column(name, "iml", imt=imt, poe=_poe(name, poe_text, imt, error))
    raise error(f"unknown column {name!r}")


def _poe(name: str, text: str, imt: str, error) -> float:
    if not _IMT_RE.fullmatch(imt):
        raise error(f"unknown column {name!r}")
    poe = _header_number(text)
    if poe is None or not 0 < poe <= 1:
        raise error(f"column {name!r}: {text!r} is not a probability of exceedance")
    return poe


def _header_number(text: str) -> float | None:
    # Stricter than float(): no 'nan', 'inf', spaces or '1_0' in a column name.
    if not _FLOAT_RE.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


# --- shared helpers --------------------------------------------------------------------------

def _reader(data: bytes, start: int):
    """A csv reader over data[start:], and the buffer under it (its tell() is where the reader stopped)."""
    buffer = io.BytesIO(data)  # shares `data`, no copy
    buffer.seek(start)
    # Decoded line by line so a bad UTF-8 byte is reported on its own line.
    return csv.reader(map(bytes.decode, buffer), strict=True), buffer


def _csv_message(exc: csv.Error) -> str:
    if "new-line character" in str(exc):
        # Lines are split on '\n' only; a lone '\r' (old Mac line ends) lands inside a field, and
        # the csv module's own advice about "universal-newline mode" would only confuse a user.
        return "malformed CSV: a carriage return inside a field (lines must end with \\n or \\r\\n)"
    return f"malformed CSV: {exc}"


def _utf8_message(exc: UnicodeDecodeError) -> str:
    return f"not valid UTF-8 (byte 0x{exc.object[exc.start]:02x} at column {exc.start + 1})"


def _base_name(path: str) -> str:
    # Upload and zip-member names may carry directories, with either separator.
    return path.replace("\\", "/").rsplit("/", 1)[-1]
