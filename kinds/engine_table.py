"""Engine CSVs that are plain tables: rows without coordinates (kind "table").

One kind for every such file, not one per engine output: realizations, events, aggrisk(-stats),
risk_by_event, event_based_mfd, loss_curves-rlzs/-stats, mean_rates_by_src, the disaggregation
CSVs (disagg-rlzs/-stats, mean_disagg_by_src), the sigma_epsilon_N.csv of a gmf_data zip and any
other engine CSV of the same shape share one grammar (an optional `#,,,"k=v, ..."` metadata row,
a header, rows) and one way of being served (rows as JSON, paged and filtered by equality), so a
module per output type would be a dozen copies of the same reader. What differs between them is
data, not code: the engine output type is kept in `metadata["output_type"]` (the export's type
for an import; the file name's stem for an upload), and the columns' types are read from the
values (`dtype` per column: ints stay ints).

Claimed: a CSV whose header has no coordinate column (lon/lat are the spatial kinds'; the lon/lat
of a disaggregation file are bin centres, so those are tables), which is an engine file: in an
engine output, one of OUTPUT_TYPES or a file with the engine's metadata row (not the job's own
input files); in an upload, a file named like an engine export (`<name>_<calc id>.csv`,
optionally `output-N-` first) or opening with the engine's metadata row.

Column types come from one pass over the values at read(): a column is `int` when every cell is
an integer in ASCII digits, `float` when every cell is a finite number, else `text`. Identifiers
(asset ids, source ids, branch paths...) are text whatever they look like (asset id `101` is the
exposure's name of an asset, and it joins the exposure's text `id`). A column with an empty cell,
or a `nan`, stays text, so that every value is the file's: JSON has no NaN.

Pure Python, stdlib only.
"""

from __future__ import annotations

import ast
import csv
import io
import math
import re

from kinds.base import FLOAT, INT, TEXT, Column, Export, ExportFile, ParseError, Table

NAME = "table"
TITLE = "Engine tables"
OUTPUT_TYPES = (
    "realizations",
    "events",
    "aggrisk",
    "aggrisk-stats",
    "agg_risk",
    "aggcurves",
    "aggcurves-stats",
    "risk_by_event",
    "event_based_mfd",
    "loss_curves-rlzs",
    "loss_curves-stats",
    "mean_rates_by_src",
    "disagg-rlzs",
    "disagg-stats",
    "mean_disagg_by_src",
    "src_loss_table",
)
GEOMETRY = None
# Keys a client selects rows by; each one a file has is indexed when it is loaded. Other columns
# (values: losses, weights, rates) are what is read, not what rows are looked up by.
FILTERABLE = (
    "event_id",
    "rlz_id",
    "rup_id",
    "ses_id",
    "year",
    "asset_id",
    "loss_type",
    "site_id",
    "sid",
    "custom_site_id",
    "source_id",
    "src_id",
    "imt",
    "stat",
    "kind",
    "agg_id",
    "return_period",
)
# The column that ties a row to an asset of the calculation's exposure (kind "exposure", column `id`).
ASSET_ID = "asset_id"

# Identifiers: text even when every value looks like a number.
_TEXT_COLUMNS = frozenset(
    {"asset_id", "custom_site_id", "source_id", "src_id", "source", "branch_path", "id", "taxonomy", "loss_type", "imt", "trt", "stat"}
)
# Where the table's rows are placed: a file with any of these is a spatial kind's.
_COORDINATES = frozenset({"lon", "lat", "centroid_lon", "centroid_lat", "longitude", "latitude"})

_BOM = b"\xef\xbb\xbf"
_INT_RE = re.compile(r"[+-]?[0-9]+")
_NAME_RE = re.compile(r"(?:output-[0-9]+-)?(?P<stem>[A-Za-z][A-Za-z0-9_.()~+\-]*?)_(?P<calc_id>[0-9]+)\.csv")
_KIND_RE = re.compile(r"-(?P<kind>mean|max|min|std|rlz-[0-9]+|quantile-[0-9.]+)$")
# Disaggregation and per-source rates are one file per site: `Mag_Dist-0_4.csv`, `mean_rates_by_src-1_4.csv`.
_SITE_RE = re.compile(r"-(?P<site>[0-9]+)$")
# A disaggregation file's name: its bins, then the site. Its lon/lat columns are bin centres, not
# places of rows, so it is a table whatever its columns.
_DISAGG_NAME_RE = re.compile(r"(?:output-[0-9]+-)?(?:Mag|Dist|Lon|Lat|Eps|TRT)(?:_(?:Mag|Dist|Lon|Lat|Eps|TRT))*-[0-9]+_[0-9]+\.csv")
_NOT_RESULTS = frozenset({"input", "job"})
_DISAGG_OUTPUTS = frozenset({"disagg-rlzs", "disagg-stats", "mean_disagg_by_src", "disagg_by_src"})
# Values: a quoted string, a flat list (`mag_bin_edges=[5.0, 6.0]`, `tectonic_region_types=['Active Shallow Crust']`), or a bare word/number.
_PAIR_RE = re.compile(
    r"""\s*(?P<key>[A-Za-z_]\w*)\s*=(?P<value>\s*'(?:[^'\\]|\\.)*'\s*|\s*"(?:[^"\\]|\\.)*"\s*"""
    r"""|\s*\[(?:[^\]'"]|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")*\]\s*|[^,'"\[]*)(?:,|$)"""
)
_ENGINE_RE = re.compile(r"OpenQuake engine (\S+)")
_MAX_COLUMN_NAME = 200
_MAX_COLUMNS = 10_000
_SNIFF_BYTES = 1 << 16


def claims(file: ExportFile, export: Export) -> bool:
    try:
        if not file.name.lower().endswith(".csv"):
            return False
        first_rows = _first_rows(file.head(_SNIFF_BYTES))
        if not first_rows:
            return False
        metadata_row = first_rows[0][:1] == ["#"]
        header = first_rows[1] if metadata_row and len(first_rows) > 1 else first_rows[0]
        if not header or header[0].startswith("#"):
            return False
        if _COORDINATES.intersection(header) and not _is_disagg(file.name, export):
            return False
        if export.output_type is not None:
            # An engine output: one of this kind's types, or a file the engine wrote its metadata row
            # into; the CSVs of an `input` zip are the job's own files, not tables of results.
            return export.output_type in OUTPUT_TYPES or (metadata_row and export.output_type not in _NOT_RESULTS)
        return bool(metadata_row or _NAME_RE.fullmatch(_base_name(file.name)))
    except Exception:  # claims() never raises: a file it cannot look at is not its
        return False


def read(file: ExportFile, export: Export) -> Table:
    name = _base_name(file.name)
    error_name = file.error_name
    data = file.data

    def error(message: str, line: int | None) -> ParseError:
        return ParseError(message, file_name=error_name, line=line)

    start = len(_BOM) if data.startswith(_BOM) else 0
    nul = data.find(b"\x00")
    if nul >= 0:
        raise error("not a CSV text file (it contains NUL bytes)", data.count(b"\n", 0, nul) + 1)
    if not data[start:].strip():
        raise error("empty file", 1)
    reader = _reader(data, start)

    def next_row():
        try:
            return next(reader, None)
        except UnicodeDecodeError as exc:
            raise error(_utf8_message(exc), reader.line_num + 1) from None
        except csv.Error as exc:
            raise error(f"malformed CSV: {exc}", reader.line_num) from None

    first = next_row()
    pairs: dict = {}
    if first and first[0] == "#":
        pairs = _metadata_pairs(first, lambda message: error(message, 1))
        header = next_row()
        if header is None:
            raise error("no header row after the metadata row", reader.line_num + 1)
    else:
        header = first
    header_line = reader.line_num
    if not header:
        raise error("blank line where the header row should be", header_line)
    _check_header(header, lambda message: error(message, header_line), coordinates_allowed=_is_disagg(name, export))

    dtypes = _column_types(data, start, header, header_line, error)
    columns = [Column(column, _quantity(column), dtype=dtype) for column, dtype in zip(header, dtypes)]
    metadata = _metadata(pairs, name, export)
    lines_before = header_line
    width = len(header)

    def rows():
        reader = _reader(data, start)
        converters = [_CONVERTERS[dtype] for dtype in dtypes]
        try:
            for row in reader:
                if reader.line_num <= lines_before:
                    continue
                if len(row) != width:
                    if not row:
                        continue
                    raise error(f"expected {width} values, found {len(row)}", reader.line_num)
                yield None, tuple([convert(cell) for convert, cell in zip(converters, row)])
        except UnicodeDecodeError as exc:
            raise error(_utf8_message(exc), reader.line_num + 1) from None
        except csv.Error as exc:
            raise error(f"malformed CSV: {exc}", reader.line_num) from None
        except ValueError as exc:  # the file changed under us? never: the types were read from it
            raise error(str(exc), reader.line_num) from None

    return Table(name, NAME, metadata, columns, None, data=data, content_type="text/csv", _rows=rows)


def _is_disagg(name: str, export: Export) -> bool:
    return export.output_type in _DISAGG_OUTPUTS or bool(_DISAGG_NAME_RE.fullmatch(_base_name(name)))


def _check_header(header: list[str], error, *, coordinates_allowed: bool) -> None:
    if len(header) > _MAX_COLUMNS:
        raise error(f"{len(header)} columns: more than {_MAX_COLUMNS}")
    seen = set()
    for column in header:
        if not column.strip():
            raise error("empty column name in the header row")
        if len(column) > _MAX_COLUMN_NAME:
            raise error(f"column name of {len(column)} characters: {column[:40]!r}...")
        if column in seen:
            raise error(f"duplicate column {column!r}")
        seen.add(column)
    if _COORDINATES.intersection(header) and not coordinates_allowed:
        raise error(f"column {sorted(_COORDINATES.intersection(header))[0]!r}: a table with coordinates is not a plain table")


def _column_types(data: bytes, start: int, header: list[str], header_line: int, error) -> list[str]:
    """int, float or text per column, from every value (see the module's docstring)."""
    width = len(header)
    # Candidates narrow as cells disprove them; text columns are decided from the start.
    can_int = [column not in _TEXT_COLUMNS for column in header]
    can_float = list(can_int)
    undecided = [i for i in range(width) if can_float[i]]
    reader = _reader(data, start)
    int_match = _INT_RE.fullmatch
    isfinite = math.isfinite
    found_rows = False
    try:
        for row in reader:
            if reader.line_num <= header_line:
                continue
            if len(row) != width:
                if not row:
                    continue
                raise error(f"expected {width} values, found {len(row)}", reader.line_num)
            found_rows = True
            if not undecided:
                continue
            for i in undecided:
                cell = row[i]
                if can_int[i] and int_match(cell):
                    continue
                can_int[i] = False
                try:
                    if isfinite(float(cell)) and cell.strip() == cell:
                        continue
                except ValueError:
                    pass
                can_float[i] = False
            undecided = [i for i in undecided if can_float[i]]
    except UnicodeDecodeError as exc:
        raise error(_utf8_message(exc), reader.line_num + 1) from None
    except csv.Error as exc:
        raise error(f"malformed CSV: {exc}", reader.line_num) from None
    if not found_rows:
        # A header alone is a valid engine table (sigma_epsilon of a calc without stations):
        # its columns type as text until rows say otherwise; there are none.
        return [TEXT] * width
    return [INT if can_int[i] else FLOAT if can_float[i] else TEXT for i in range(width)]


_CONVERTERS = {INT: int, FLOAT: float, TEXT: str}


def _quantity(column: str) -> str:
    """What a column holds, in the engine's terms: its own name (event_id, loss_type, weight, afoe...)."""
    return column


def _metadata(pairs: dict, name: str, export: Export) -> dict:
    metadata: dict = {}
    match = _NAME_RE.fullmatch(name)
    stem = match["stem"] if match else name.rsplit(".", 1)[0]
    site_match = _SITE_RE.search(stem)
    if site_match:
        stem = stem[: site_match.start()]
    kind_match = _KIND_RE.search(stem)
    # An import knows the output type; an upload has only the file name to say it
    # (`aggrisk-_1.csv`: the engine leaves a dash where a statistic's name would be).
    metadata["output_type"] = export.output_type or (stem[: kind_match.start()] if kind_match else stem).rstrip("-")
    for key, value in pairs.items():
        metadata[key] = value
    if isinstance(metadata.get("generated_by"), str) and (engine := _ENGINE_RE.fullmatch(metadata["generated_by"])):
        metadata["engine_version"] = engine[1]
    if kind_match and "kind" not in metadata:
        metadata["kind"] = kind_match["kind"]
    if site_match:
        metadata["site_index"] = int(site_match["site"])
    if match:
        metadata["calc_id"] = int(match["calc_id"])
    return metadata


def _metadata_pairs(row: list[str], error) -> dict:
    """The key=value pairs of the engine's metadata row: '#', empty cells, then one quoted cell."""
    if len(row) == 1:
        return {}
    if any(cell.strip() for cell in row[1:-1]):
        raise error('unexpected values in the metadata row (expected "#", empty cells, then key=value pairs)')
    text = row[-1]
    end = len(text.rstrip())
    pairs: dict = {}
    position = 0
    while position < end:
        match = _PAIR_RE.match(text, position)
        if not match or match.end() == position:
            raise error(f"cannot read the metadata row from {text[position:position + 40].strip()!r}")
        key, raw = match["key"], match["value"].strip()
        if key in pairs:
            raise error(f"metadata key {key!r} given twice")
        pairs[key] = _metadata_value(raw)
        position = match.end()
    return pairs


def _metadata_value(raw: str):
    if raw[:1] in ('"', "'", "["):
        # The engine writes repr() of its strings and lists; literal_eval of one literal runs nothing.
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            return raw
        return value if _json_safe(value) else raw
    for convert in (int, float):
        try:
            value = convert(raw)
        except ValueError:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            return raw  # JSON has no nan: keep the text
        return value
    return raw


def _json_safe(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_json_safe(item) for item in value)
    return isinstance(value, (str, int))


def _first_rows(head: bytes) -> list[list[str]]:
    start = len(_BOM) if head.startswith(_BOM) else 0
    if b"\x00" in head:
        return []
    lines = head[start:].split(b"\n", 2)[:2]
    return [row for row in csv.reader([line.decode("utf-8", "strict").rstrip("\r") for line in lines]) if row]


def _reader(data: bytes, start: int):
    buffer = io.BytesIO(data)
    buffer.seek(start)
    # Decoded line by line so a bad UTF-8 byte is reported on its own line.
    return csv.reader(map(bytes.decode, buffer), strict=True)


def _utf8_message(exc: UnicodeDecodeError) -> str:
    return f"not valid UTF-8 (byte 0x{exc.object[exc.start]:02x} at column {exc.start + 1})"


def _base_name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]
