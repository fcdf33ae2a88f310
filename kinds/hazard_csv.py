"""The grammar the three hazard kinds share (hazard_curve, hazard_map, uhs; seen on engine 3.26.2).

Not a kind itself: one reader, because the header row alone says which of the three a file is
(api.md section 5):

    hazard curves     lon,lat,depth,poe-0.0010197,...       values are PoEs of the IML in the name
    hazard maps       lon,lat,PGA-0.002105,SA(0.2)-0.002105  values are IMLs at the PoE in the name
    hazard map stats  lon,lat,PGA,SA(0.2)                   IMLs; the return period is in the file name
    UHS               lon,lat,0.002105~PGA,...               IMLs at the PoE in the name

each optionally preceded by a `custom_site_id` column and by the engine's metadata row. `read`
checks the metadata and header at once and leaves the data rows to `Table.rows()`, which
validates while it iterates so a million-site map is never held as Python objects.
"""

from __future__ import annotations

import csv
import math
import re
from functools import partial

from kinds import engine_csv
from kinds.base import FLOAT, TEXT, Column, CsvLayout, CsvRows, Export, ExportFile, ParseError, Table
from kinds.engine_csv import FLOAT_RE, IMT, IMT_RE, header_number

HAZARD_CURVE, HAZARD_MAP, UHS = "hazard_curve", "hazard_map", "uhs"

_KIND = r"mean|max|std|rlz-[0-9]+"
_NAME_RE = re.compile(r"(?:output-[0-9]+-)?(?P<prefix>hazard|quantile)_(?P<what>curve|map|uhs)-(?P<middle>.+)_(?P<calc_id>[0-9]+)\.csv")
_MIDDLE_RE = {
    # (prefix, what) -> grammar of the part between the prefix and the calc id
    ("hazard", "curve"): re.compile(rf"(?P<kind>{_KIND})-(?P<imt>{IMT})"),
    ("quantile", "curve"): re.compile(rf"(?P<quantile>{engine_csv.FLOAT})-(?P<imt>{IMT})"),
    ("hazard", "map"): re.compile(rf"(?P<kind>{_KIND})(?:-(?P<return_period>[1-9][0-9]*)y)?"),
    ("quantile", "map"): re.compile(rf"(?P<quantile>{engine_csv.FLOAT})(?:-(?P<return_period>[1-9][0-9]*)y)?"),
    ("hazard", "uhs"): re.compile(rf"(?P<kind>{_KIND})"),
    ("quantile", "uhs"): re.compile(rf"(?P<quantile>{engine_csv.FLOAT})"),
}
_ARTIFACT_OF = {"curve": HAZARD_CURVE, "map": HAZARD_MAP, "uhs": UHS}
_MAX_COLUMN_NAME = 200  # the engine's longest are ~25 characters ('SDi(1.0,0.5)-0.002105')
_METADATA_ORDER = ("generated_by", "engine_version", "start_date", "checksum", "kind", "investigation_time", "imt",
                   "return_period", "calc_id")
_SITE_CELLS = ("custom_site_id", "lon", "lat", "depth")


# The header rows of the widest hazard CSV fit in far less; a bigger file is never read whole to sniff it.
_PEEK_BYTES = 1 << 20


def sniff(file: ExportFile) -> str | None:
    """Which hazard kind `file` looks like, cheaply, or None: by its engine file name, else by its header. Never raises.

    A CSV with a lon or lat column and no engine name of another kind counts as hazard, so that a
    broken hazard header gets the reader's own message (which column, which line).
    """
    try:
        from_name = _name_parts(file.name)
    except Exception:  # noqa: BLE001 - claims never raise
        return None
    if from_name:
        return from_name["artifact_type"]
    cells = engine_csv.peek_header(file.head(_PEEK_BYTES))
    if not cells or not ({"lon", "lat"} & set(cells)):
        return None
    first = next((cell for cell in cells if cell not in _SITE_CELLS), "")
    if first.startswith("poe-"):
        return HAZARD_CURVE
    if "~" in first:
        return UHS
    return HAZARD_MAP


def claims(kind: str, output_types: tuple[str, ...], file: ExportFile, export: Export) -> bool:
    """The claims() of the hazard kinds: an engine export of their output types is theirs whole
    (every CSV in it: a broken one fails, as it should); an upload by its name or header."""
    if export.output_type is not None:
        return export.output_type in output_types and file.name.lower().endswith(".csv")
    return sniff(file) == kind


def read_as(kind: str, file: ExportFile, export: Export) -> Table:
    """The read() of the hazard kinds: the file's columns must be those of `kind` (an engine
    export of hcurves holding a map's columns is broken, not a map)."""
    table = read(file, export)
    if table.artifact_type != kind:
        raise ParseError(f"the columns are those of {table.artifact_type}, not of {kind}", file_name=file.error_name)
    return table


def read(file: ExportFile, export: Export) -> Table:
    """Reads the metadata row and header of one hazard CSV now, and leaves the data rows to Table.rows()."""
    name, data, error_name = file.name, file.data, file.error_name

    def error(message: str, line: int) -> ParseError:
        return ParseError(message, file_name=error_name, line=line)

    header = engine_csv.read_header(data, error_name=error_name)
    artifact_type, columns, bare_imts = _columns(header.cells, lambda message: error(message, header.line))
    from_name = _name_parts(name)
    metadata = _metadata(header.pairs, from_name, artifact_type, bare_imts, error, header.line)
    if artifact_type == HAZARD_CURVE:
        columns = [Column(c.name, c.quantity, metadata["imt"], c.iml, c.poe, c.dtype) if c.quantity == "poe" else c
                   for c in columns]
    if not engine_csv.NON_SPACE.search(data, header.body_offset):
        raise error("no data rows", header.line + 1)
    rows = CsvRows(partial(_rows, data, header.body_offset, header.line, tuple(columns), error_name),
                   _layout(data, header.body_offset, columns))
    return Table(name, artifact_type, metadata, columns, "point", data=data, content_type="text/csv", _rows=rows)


def _rows(data: bytes, body_offset: int, lines_before: int, columns: tuple, error_name: str):
    """Yields ((lon, lat), values) per data row, values aligned with `columns` (float, or str for custom_site_id).
    Validates lazily while iterating and raises ParseError with the 1-based physical line number."""
    width = len(columns) + 2
    has_site_id = bool(columns) and columns[0].is_text
    isfinite = math.isfinite

    def fail(message: str, line: int | None) -> ParseError:
        return ParseError(message, file_name=error_name, line=line)

    reader, _ = engine_csv.reader(data, body_offset)
    try:
        # This loop runs once per site (a million times for a big map): keep it to C calls
        # (csv, float, sum) and go back over a bad row only once it is known to be bad.
        for row in reader:
            if len(row) != width:
                if not row:
                    continue  # a blank line carries no site
                raise fail(f"expected {width} values, found {len(row)}", lines_before + reader.line_num)
            try:
                if has_site_id:
                    site_id = row[0]
                    numbers = tuple(map(float, row[1:]))
                else:
                    numbers = tuple(map(float, row))
            except ValueError:
                raise _bad_row(columns, row, lines_before + reader.line_num, fail) from None
            # One sum tells whether every value is finite (nan and inf propagate); a false
            # alarm from two huge finite values overflowing is cleared by _bad_row.
            if not isfinite(sum(numbers)):
                bad = _bad_row(columns, row, lines_before + reader.line_num, fail)
                if bad:
                    raise bad
            lon = numbers[0]
            lat = numbers[1]
            if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
                raise fail(f"lon {lon:g}, lat {lat:g} is not a point on the globe", lines_before + reader.line_num)
            if has_site_id:
                if not site_id.strip():
                    raise fail("empty custom_site_id", lines_before + reader.line_num)
                yield (lon, lat), (site_id,) + numbers[2:]
            else:
                yield (lon, lat), numbers[2:]
    except UnicodeDecodeError as exc:
        raise fail(engine_csv.utf8_message(exc), lines_before + reader.line_num + 1) from None
    except csv.Error as exc:
        raise fail(engine_csv.csv_message(exc), lines_before + reader.line_num) from None


def _layout(data: bytes, body_offset: int, columns: list[Column]) -> CsvLayout:
    """What _rows reads, as a CsvLayout: [custom_site_id,] lon, lat, then the value columns."""
    has_site_id = bool(columns) and columns[0].is_text
    lon = 1 if has_site_id else 0
    width = len(columns) + 2
    return CsvLayout(
        open_body=partial(engine_csv.body_stream, data, body_offset),
        dtypes=tuple(TEXT if has_site_id and i == 0 else FLOAT for i in range(width)),
        values=tuple(i for i in range(width) if i not in (lon, lon + 1)),
        lon=lon,
        lat=lon + 1,
        required=(0,) if has_site_id else (),
    )


def _bad_row(columns: tuple, row: list[str], line: int, fail) -> ParseError | None:
    """Names the first bad cell of a row the fast path rejected (None if it was a false alarm)."""
    names = ["lon", "lat"] + [column.name for column in columns]
    if columns and columns[0].is_text:
        names = [names[2]] + names[:2] + names[3:]  # custom_site_id comes first in the file
    for name, cell in zip(names, row):
        if name == "custom_site_id":
            continue
        if not cell.strip():
            return fail(f"empty value in column {name!r}", line)
        try:
            value = float(cell)
        except ValueError:
            return fail(f"column {name!r}: {cell!r} is not a number", line)
        if not math.isfinite(value):
            return fail(f"column {name!r}: {cell!r} is not a finite number", line)
    return None


def _metadata(pairs: dict, from_name: dict, artifact_type: str, bare_imts: bool, error, header_line: int) -> dict:
    """Merges what the metadata row and the file name say; they must not contradict each other."""
    metadata = engine_csv.common_metadata(pairs, error)

    if from_name and from_name["artifact_type"] != artifact_type:
        raise error(f"the file name says {from_name['artifact_type']} but the columns are those of {artifact_type}", header_line)
    for key in ("kind", "imt"):
        if key in metadata and key in from_name and metadata[key] != from_name[key]:
            raise error(f"the metadata row says {key}={metadata[key]!r} but the file name says {from_name[key]!r}", 1)
        if key not in metadata and key in from_name:
            metadata[key] = from_name[key]

    if artifact_type == HAZARD_CURVE:
        if "imt" not in metadata:
            raise error("hazard curve without an IMT: neither the metadata row (imt=) nor the file name names it", 1)
        if not IMT_RE.fullmatch(metadata["imt"]):
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
        columns.append(Column("custom_site_id", "site_id", dtype=TEXT))
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
        if name in seen_names or name in _SITE_CELLS:
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
    artifact_type = HAZARD_MAP if layout == "bare_imt" else layout
    return artifact_type, columns, layout == "bare_imt"


def _data_column(name: str, error) -> tuple[str, Column]:
    if name.startswith("poe-"):
        level = header_number(name[4:])
        if level is None or level <= 0:
            raise error(f"column {name!r}: the intensity level is not a positive number")
        return HAZARD_CURVE, Column(name, "poe", iml=level, dtype=FLOAT)  # the IMT comes from the metadata
    if "~" in name:
        poe_text, _, imt = name.partition("~")
        return UHS, Column(name, "iml", imt=imt, poe=_poe(name, poe_text, imt, error))
    if IMT_RE.fullmatch(name):
        return "bare_imt", Column(name, "iml", imt=name)
    # '<IMT>-<poe>': the IMT may contain '-' itself (SA(1e-05)), so try the rightmost split first.
    dash = len(name)
    while (dash := name.rfind("-", 0, dash)) > 0:
        imt, poe_text = name[:dash], name[dash + 1:]
        if IMT_RE.fullmatch(imt) and FLOAT_RE.fullmatch(poe_text):
            return HAZARD_MAP, Column(name, "iml", imt=imt, poe=_poe(name, poe_text, imt, error))
    raise error(f"unknown column {name!r}")


def _poe(name: str, text: str, imt: str, error) -> float:
    if not IMT_RE.fullmatch(imt):
        raise error(f"unknown column {name!r}")
    poe = header_number(text)
    if poe is None or not 0 < poe <= 1:
        raise error(f"column {name!r}: {text!r} is not a probability of exceedance")
    return poe
