"""Engine CSVs whose columns are found by header name: the metadata row, the header, typed rows.

The spatial kinds (gmf, site_mesh, avg_gmf, site_model, ruptures, exposure, avg_losses, damages,
loss_maps) share one grammar: an optional `#,,,"key=value, ..."` metadata row, a header row, then
data rows whose cells are read by the type their column has. The engine moves columns around
between runs of the same job (api.md 5.6: site_model), so nothing here depends on positions: a kind
names the columns it needs and the dtype of each, and `HeaderRow.index()` finds them.

`typed_rows()` is the row loop every one of those kinds runs. A GMF export can have millions of
rows, so it keeps to one C-level pass per row (csv, map(call, converters, row), one sum for
finiteness) and goes back over a row cell by cell only once it is known to be bad.

Pure Python and stdlib only, like the rest of the package.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from functools import partial
from operator import call, itemgetter
from typing import Callable, Iterator

from kinds import engine_csv
from kinds.base import BOOL, FLOAT, INT, TEXT, CsvLayout, CsvRows, ExportFile, ParseError
from kinds.engine_csv import csv_message, reader, utf8_message

__all__ = ["HeaderRow", "file_metadata", "inferred_dtypes", "name_matcher", "read_header", "require_rows", "typed_rows"]

_CALC_ID_RE = re.compile(r"_(?P<calc_id>[0-9]+)\.csv\Z")
_MAX_COLUMN_NAME = 200


def name_matcher(pattern: str) -> Callable[[str], re.Match | None]:
    """fullmatch of an engine file name: `pattern` with the calc-id suffix, optionally behind a
    single-file download's `output-<id>-` prefix (`output-39-site_model_6.csv`)."""
    return re.compile(rf"(?:output-[0-9]+-)?(?:{pattern})_(?P<calc_id>[0-9]+)\.csv").fullmatch


def claims_by_name(output_types: tuple[str, ...], matcher, file: ExportFile, export: Export) -> bool:
    """The claims() of a kind that knows its files by name: within an engine export only of its own
    output types (another output's file of the same name pattern is not its), an upload by name."""
    if export.output_type is not None and export.output_type not in output_types:
        return False
    return matcher(file.name) is not None


@dataclass(frozen=True)
class HeaderRow:
    """What comes before the data rows of one engine CSV."""

    file: ExportFile
    pairs: dict  # the metadata row's key=value pairs, values as the engine wrote them
    cells: list  # the header row, exactly as written
    line: int  # the header's 1-based physical line number
    body_offset: int  # where the data rows start in file.data

    def error(self, message: str, line: int | None = None) -> ParseError:
        return ParseError(message, file_name=self.file.error_name, line=self.line if line is None else line)

    def index(self, name: str, required: bool = True) -> int | None:
        """The position of column `name` (ParseError naming it if required and absent)."""
        try:
            return self.cells.index(name)
        except ValueError:
            if required:
                raise self.error(f"no {name!r} column (the columns are {', '.join(self.cells)})") from None
            return None


def read_header(file: ExportFile) -> HeaderRow:
    """The metadata row (if any) and the header row (kinds/engine_csv.py), whose cells must be distinct names."""
    found = engine_csv.read_header(file.data, error_name=file.error_name)
    header = HeaderRow(file, found.pairs, found.cells, found.line, found.body_offset)
    seen = set()
    for cell in found.cells:
        if not cell.strip():
            raise header.error("empty column name in the header row")
        if len(cell) > _MAX_COLUMN_NAME:
            raise header.error(f"column name of {len(cell)} characters: {cell[:40]!r}...")
        if cell in seen:
            raise header.error(f"duplicate column {cell!r}")
        seen.add(cell)
    return header


def file_metadata(header: HeaderRow) -> dict:
    """The artifact's metadata: every pair of the metadata row, engine_version, and the calc id of the file name.

    The engine writes different keys in different files (investigation_time, risk_investigation_time,
    ses_per_logic_tree_path, kind, ...), so all of them are kept; those other code relies on are
    checked for their type.
    """
    pairs = header.pairs

    def error(message: str, line: int) -> ParseError:
        return header.error(message, line)

    metadata = {**pairs, **engine_csv.common_metadata(pairs, error)}
    if "risk_investigation_time" in pairs:
        value = pairs["risk_investigation_time"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise error(f"metadata risk_investigation_time={value!r} is not a positive number of years", 1)
        metadata["risk_investigation_time"] = float(value)
    if match := _CALC_ID_RE.search(header.file.name):
        metadata["calc_id"] = int(match["calc_id"])
    return metadata


_CONVERT = {FLOAT: float, INT: int, TEXT: str}
_DTYPE_WORDS = {FLOAT: "a number", INT: "an integer"}


def typed_rows(header: HeaderRow, dtypes: list, *, lon: int | None = None, lat: int | None = None,
               required: tuple = (), place: Callable | None = None,
               site: int | None = None, points: Callable[[], dict] | None = None,
               missing: Callable | None = None) -> Callable[[], Iterator]:
    """The rows() of a table whose cell i reads as dtypes[i].

    With `lon`/`lat` (column positions), each row's geometry is that point and the two cells are
    left out of the values. With `site` and `points`, the geometry is points()[value of cell
    `site`] (a GMF row's site in its mesh; `points` is called once per rows() call) and a value
    not in it raises missing(value, line). With `place(values, line)`, the geometry is what it
    returns. In the last two cases every cell is a value. `required` are positions of text cells
    that must not be empty (ids).
    """
    width = len(dtypes)
    if width != len(header.cells):
        raise ValueError("one dtype per header cell")
    if BOOL in dtypes:
        raise ValueError("no engine CSV of these kinds has boolean cells")
    converters = [_CONVERT[dtype] for dtype in dtypes]
    float_positions = [i for i, dtype in enumerate(dtypes) if dtype == FLOAT]
    floats = _getter(float_positions)
    keep = _getter([i for i in range(width) if i not in (lon, lat)]) if lon is not None else None
    data, offset, before = header.file.data, header.body_offset, header.line
    isfinite = math.isfinite

    def bad_row(row: list, line: int) -> ParseError | None:
        """Names the first bad cell of a row the fast path rejected (None if it was a false alarm)."""
        for name, dtype, cell in zip(header.cells, dtypes, row):
            if dtype == TEXT:
                continue
            if not cell.strip():
                return header.error(f"empty value in column {name!r}", line)
            try:
                value = _CONVERT[dtype](cell)
            except ValueError:
                return header.error(f"column {name!r}: {cell!r} is not {_DTYPE_WORDS[dtype]}", line)
            if dtype == FLOAT and not isfinite(value):
                return header.error(f"column {name!r}: {cell!r} is not a finite number", line)
        return None

    def rows() -> Iterator:
        lines, _ = reader(data, offset)
        get = points().get if points is not None else None
        try:
            for row in lines:
                if len(row) != width:
                    if not row:
                        continue  # a blank line carries no row
                    raise header.error(f"expected {width} values, found {len(row)}", before + lines.line_num)
                try:
                    values = tuple(map(call, converters, row))
                except ValueError:
                    raise bad_row(row, before + lines.line_num) from None
                # One sum tells whether every number is finite (nan and inf propagate); a false
                # alarm from two huge finite values overflowing is cleared by bad_row.
                if float_positions and not isfinite(sum(floats(values))):
                    error = bad_row(row, before + lines.line_num)
                    if error:
                        raise error
                for position in required:
                    if not values[position].strip():
                        raise header.error(f"empty {header.cells[position]!r}", before + lines.line_num)
                if get is not None:
                    # Inline, not a callback: this runs once per (event, site) of a GMF.
                    point = get(values[site])
                    if point is None:
                        raise missing(values[site], before + lines.line_num)
                    yield point, values
                elif place is not None:
                    yield place(values, before + lines.line_num), values
                elif keep is not None:
                    x = values[lon]
                    y = values[lat]
                    if not (-180.0 <= x <= 180.0 and -90.0 <= y <= 90.0):
                        raise header.error(f"lon {x:g}, lat {y:g} is not a point on the globe", before + lines.line_num)
                    yield (x, y), keep(values)
                else:
                    yield None, values
        except UnicodeDecodeError as exc:
            raise header.error(utf8_message(exc), before + lines.line_num + 1) from None
        except csv.Error as exc:
            raise header.error(csv_message(exc), before + lines.line_num) from None

    if place is not None:
        return rows  # the geometry is the kind's own Python: no layout can say it
    everything = tuple(range(width))
    layout = CsvLayout(
        open_body=partial(engine_csv.body_stream, data, offset),
        dtypes=tuple(dtypes),
        values=tuple(i for i in everything if i not in (lon, lat)) if keep is not None and points is None else everything,
        lon=lon if points is None else None,  # as in rows(): the site's point comes first
        lat=lat if points is None else None,
        site=site if points is not None else None,
        points=points,
        required=tuple(required),
    )
    return CsvRows(rows, layout)


def inferred_dtypes(header: HeaderRow, positions: list) -> dict:
    """{position: FLOAT or TEXT} for columns no kind knows: FLOAT if every cell of it is a finite number.

    For the small files only (site models, exposures): it reads the whole file once more.
    """
    numeric = set(positions)
    if not numeric:
        return {}
    lines, _ = reader(header.file.data, header.body_offset)
    try:
        for row in lines:
            for position in list(numeric):
                if position < len(row):
                    try:
                        if not math.isfinite(float(row[position])):
                            numeric.discard(position)
                    except ValueError:
                        numeric.discard(position)
            if not numeric:
                break
    except (UnicodeDecodeError, csv.Error):
        pass  # typed_rows reports it, with its line
    return {position: FLOAT if position in numeric else TEXT for position in positions}


def require_rows(header: HeaderRow) -> None:
    """ParseError if nothing but blank lines follows the header."""
    if not engine_csv.NON_SPACE.search(header.file.data, header.body_offset):
        raise header.error("no data rows", header.line + 1)


def _getter(positions: list) -> Callable[[tuple], tuple]:
    # itemgetter of one position returns the item, not a 1-tuple; of none it is not defined.
    if not positions:
        return lambda values: ()
    if len(positions) == 1:
        (position,) = positions
        return lambda values: (values[position],)
    return itemgetter(*positions)
