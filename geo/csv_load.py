"""PostgreSQL parses the CSV: a table's rows loaded without Python touching every cell.

Python reading a million-site map cell by cell (csv, float(), repr, JSON text) was most of an
upload's time, on one core. Here the file's data rows go as they are to `COPY ... (FORMAT csv)`
into a temporary staging table (one typed column per cell), and one `INSERT ... SELECT` builds
each row's point and properties in C. The kind's `Table.rows()` stays the definition of what a
file holds: this path only runs for a table whose kind describes its rows (`kinds.base.CsvLayout`),
and only stores a file when it can prove that rows() would accept it with the same values.
Whenever it cannot (the file breaks a rule, or is one PostgreSQL and Python might read apart) it
raises `Undecided` before anything is kept, and the caller runs the Python parser, which raises
its own error (file, line, column, problem) or loads what it accepts. So messages never change.

Where the two parsers could disagree, and what settles it:

- CSV: PostgreSQL starts a quoted section at a quote anywhere in a field, reads a line `\\.` as
  the end of the data, and treats a lone carriage return as a line end; Python's csv does none of
  these. A body with a quote, a `\\.` or a CR not followed by LF is not loaded here (`_Gate`).
  Extra or missing cells, blank lines, mixed line ends, bad UTF-8: COPY refuses them.
- Numbers: PostgreSQL's float8 input is C's strtod, which also reads hexadecimal ('0x1p3'), and
  from PostgreSQL 16 its integer input reads '0x', '0o' and '0b' prefixes; Python's float() and
  int() read neither: a cell starting with one is not loaded here. Both read decimal numbers,
  surrounding ASCII whitespace included, to the same (correctly rounded) double; what only Python
  reads ('1_000', non-ASCII digits or spaces, '1e-400' as 0.0) COPY refuses. 'inf', 'nan',
  'Infinity' read in both and are refused by the check below, as rows() refuses them.
- Empty cells: an unquoted empty cell is NULL in COPY: refused (NOT NULL) for numbers, read as ''
  for text (FORCE_NOT_NULL), as Python's csv reads it.
- Values: rows() stores repr(float) in the JSON; jsonb keeps a number's digits and scale, so the
  properties must be built from the same text. PostgreSQL's shortest float output has the same
  digits as repr below 2**53 (`_EXACT_DIGITS`; a file with a larger number is left to Python)
  but writes integral values without '.0' (and from 1e15 in exponent form): `_FLOAT_JSON` adds
  the '.0', so that the stored jsonb is the one Python would have stored.
- The rules rows() checks after parsing (finite numbers, a point on the globe, a non-blank site
  id, every site in the mesh) are checked in one pass over the staging table before inserting.

Pure SQL with bound parameters and quoted identifiers; the caller holds the transaction and wraps
this in a savepoint, so an Undecided or refused load leaves nothing behind.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from typing import BinaryIO

import psycopg2

from kinds.base import FLOAT, INT, TEXT, ParseError, Table

__all__ = ["Undecided", "load_csv"]

# Staging column types: PostgreSQL's readers of each kind of cell.
_SQL_TYPE = {FLOAT: "double precision", INT: "bigint", TEXT: "text"}
# Bytes COPY reads per call of the gate's read(); whole lines only, so a bit more.
_READ_SIZE = 1 << 20


class Undecided(Exception):
    """This path cannot tell whether rows() accepts the file, or how: the Python parser must."""


@dataclass(frozen=True)
class Loaded:
    count: int
    bbox: list[float] | None


def load_csv(cursor, *, target: str, artifact_id: int, table: Table) -> Loaded:
    """Insert the rows of `table` into `target` (a quoted table name) for `artifact_id`, parsed by PostgreSQL.

    Raises Undecided (having maybe written to `target` and to temporary tables: run it in a
    savepoint) when the Python parser must decide. `cursor` is a Django cursor inside a transaction.
    """
    layout = table.layout
    if layout is None or len(layout.values) != len(table.columns):
        raise Undecided("no layout")
    if any(layout.dtypes[position] != column.dtype for position, column in zip(layout.values, table.columns)):
        raise ValueError(f"{table.artifact_type}: the layout's cell types are not its columns' types")  # a kind's bug
    if layout.site is None and table.geometry == "point" and layout.lon is None:
        raise Undecided("rows without a point")
    qn = cursor.db.ops.quote_name
    stage = qn(f"icebox_stage_{int(artifact_id)}")
    cells = [qn(f"c{i}") for i in range(len(layout.dtypes))]

    # float8 output must be the shortest exact text (what _FLOAT_JSON relies on); restored below.
    cursor.execute("SELECT current_setting('extra_float_digits')")
    (saved_digits,), = cursor.fetchall()
    cursor.execute("SET LOCAL extra_float_digits = 1")

    columns_sql = ", ".join(f"{cell} {_SQL_TYPE[dtype]} NOT NULL" for cell, dtype in zip(cells, layout.dtypes))
    # n: the row's position in the file, in the order COPY reads the rows (1, 2, ...: one session
    # draws from the sequence, so a cache only saves its updates).
    cursor.execute(f"CREATE TEMPORARY TABLE {stage} (n bigint GENERATED ALWAYS AS IDENTITY (CACHE 1000), {columns_sql}) ON COMMIT DROP")
    text_cells = [cell for cell, dtype in zip(cells, layout.dtypes) if dtype == TEXT]
    options = "FORMAT csv, ENCODING 'UTF8'" + (f", FORCE_NOT_NULL ({', '.join(text_cells)})" if text_cells else "")
    with layout.open_body() as body:
        gate = _Gate(body, dtypes=layout.dtypes)
        try:
            cursor.cursor.copy_expert(f"COPY {stage} ({', '.join(cells)}) FROM STDIN WITH ({options})", gate, size=_READ_SIZE)
        except psycopg2.Error as exc:
            # A data error is a file COPY reads otherwise than rows() may (or refuses): rows() says.
            if gate.refused or isinstance(exc, (psycopg2.DataError, psycopg2.IntegrityError)):
                raise Undecided(gate.refused or str(exc).strip()) from None
            raise

    source = joined = f"{stage} AS s"
    if layout.site is not None:
        mesh = qn(f"icebox_stage_{int(artifact_id)}_sites")
        _load_sites(cursor, mesh, layout)
        # LEFT JOIN to count the rows whose site is missing; the insert takes the matches.
        source += f" LEFT JOIN {mesh} AS m ON m.site = s.{cells[layout.site]}"
        joined += f" JOIN {mesh} AS m ON m.site = s.{cells[layout.site]}"
        x, y = "m.lon", "m.lat"
    elif layout.lon is not None:
        x, y = f"s.{cells[layout.lon]}", f"s.{cells[layout.lat]}"
    else:
        x = y = None

    # Everything rows() checks once a row is parsed, in one pass; and the count and extent.
    # Below 2**53 (so neither inf nor NaN) float8's shortest text has repr's digits (_FLOAT_JSON).
    checks = [f"abs(s.{cell}) < {_EXACT_DIGITS}" for cell, dtype in zip(cells, layout.dtypes) if dtype == FLOAT]
    if layout.site is not None:
        checks.append("m.site IS NOT NULL")
    elif x is not None:
        checks.append(f"{x} BETWEEN -180 AND 180 AND {y} BETWEEN -90 AND 90")
    # Non-blank by str.strip(): holding a printable ASCII character is enough (never whitespace);
    # a cell of other characters only is left to Python's own test.
    checks += [f"s.{cells[position]} ~ '[!-~]'" for position in layout.required]
    extent = f"min({x}), min({y}), max({x}), max({y})" if x is not None else "NULL, NULL, NULL, NULL"
    cursor.execute(f"SELECT count(*), bool_and({' AND '.join(checks) or 'true'}), {extent} FROM {source}")
    (count, valid, minx, miny, maxx, maxy), = cursor.fetchall()
    if not count or not valid:
        raise Undecided("a row rows() refuses")

    pieces, values = [], []
    for i, (position, column) in enumerate(zip(layout.values, table.columns)):
        pieces.append(("{" if i == 0 else ",") + json.dumps(column.name) + ":")
        values.append(_JSON[column.dtype].format(f"s.{cells[position]}"))
    properties = "(" + " || ".join(f"%s || {value}" for value in values) + " || '}')::jsonb" if values else "'{}'::jsonb"
    geometry = f"ST_SetSRID(ST_MakePoint({x}, {y}), 4326)" if x is not None else "NULL"
    cursor.execute(
        f"INSERT INTO {target} (artifact_id, idx, geom, properties) SELECT %s, s.n - 1, {geometry}, {properties} FROM {joined}",
        [int(artifact_id), *pieces],
    )
    if cursor.rowcount != count:
        raise Undecided("rows lost in the insert")  # cannot happen after the checks above; never store fewer
    bbox = [minx, miny, maxx, maxy] if x is not None else None
    for i, coordinate in enumerate((x, y, x, y) if bbox else ()):
        if bbox[i] == 0:
            # rows() keeps the first extreme it meets (strict comparisons), min() here the last:
            # at 0 that decides between 0.0 and -0.0, which the extent keeps.
            cursor.execute(f"SELECT {coordinate} FROM {joined} WHERE {coordinate} = 0 ORDER BY s.n LIMIT 1")
            (bbox[i],), = cursor.fetchall()
    cursor.execute(f"DROP TABLE {stage}" + (f", {mesh}" if layout.site is not None else ""))
    cursor.execute("SELECT set_config('extra_float_digits', %s, true)", [saved_digits])
    return Loaded(count=count, bbox=bbox)


# The JSON text of one cell, as rows() + geo.loading._FORMATS write it (see the module's docstring):
# repr(float) is float8's shortest text, with '.0' on integral values below 1e16. Both are the
# shortest text that reads back as the double, and the closest one of that length, with one
# exception: PostgreSQL's (Ryu) never picks a text lying exactly on the edge of the double's
# rounding interval (1e23 comes out as 9.999999999999999e+22, repr says 1e+23). Such an edge is
# a short decimal only from 2**53 up (below it, the edges have more than 16 digits), so larger
# numbers are left to Python.
_EXACT_DIGITS = 2**53
_FLOAT_JSON = (
    "(CASE WHEN {0} <> trunc({0}) OR abs({0}) >= 1e16 THEN {0}::text"
    " WHEN abs({0}) < 1e15 THEN {0}::text || '.0'"
    " ELSE round({0}::text::numeric, 1)::text END)"
)
_JSON = {FLOAT: _FLOAT_JSON, INT: "{0}::text", TEXT: "to_json({0})::text"}


def _load_sites(cursor, mesh: str, layout) -> None:
    """The site mesh's points, as parsed by Python (a mesh is small), into a temporary table."""
    try:
        points = layout.points()
    except ParseError:
        raise Undecided("the site mesh") from None  # rows() raises it first
    key = _SQL_TYPE[layout.dtypes[layout.site]]
    cursor.execute(f"CREATE TEMPORARY TABLE {mesh} (site {key} PRIMARY KEY, lon double precision NOT NULL, lat double precision NOT NULL) ON COMMIT DROP")
    text = io.StringIO()
    # Quoted: every site id reads back exactly (an empty one is not NULL); repr() is the exact double.
    writer = csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerows((site, repr(lon), repr(lat)) for site, (lon, lat) in points.items())
    text.seek(0)
    try:
        cursor.cursor.copy_expert(f"COPY {mesh} (site, lon, lat) FROM STDIN WITH (FORMAT csv)", text, size=_READ_SIZE)
    except psycopg2.DataError:
        raise Undecided("a site id the database cannot hold") from None  # an integer past bigint
    cursor.execute(f"ANALYZE {mesh}")  # the join's plan: the mesh is the small side


# A number cell that starts (after ASCII spaces and signs) with one of these is read by
# PostgreSQL and not by Python: hexadecimal floats (strtod), and integer prefixes (PostgreSQL 16).
_PREFIXES = re.compile(rb"0[xXoObB]")
_READ_BY_POSTGRESQL_ONLY = {FLOAT: b"xX", INT: b"xXoObB"}
_CELL_LEAD = b" \t\x0b\x0c+-"


class _Gate:
    """A binary stream for COPY that refuses (sets `refused`, raises) a body PostgreSQL and
    Python's csv could read apart. It hands COPY whole lines, so that every check sees a line
    whole; the checks are scans of the buffer in C, not a loop over cells."""

    def __init__(self, stream: BinaryIO, *, dtypes: tuple[str, ...]):
        self._stream = stream
        self._dtypes = dtypes
        self._carry = b""
        self.refused: str | None = None

    def read(self, size: int = _READ_SIZE) -> bytes:
        while True:
            chunk = self._stream.read(size)
            data = self._carry + chunk if self._carry else chunk
            if not chunk:
                self._carry = b""
                break
            end = data.rfind(b"\n") + 1
            if end:
                self._carry = data[end:]
                data = data[:end]
                break
            self._carry = data  # no line end yet: read on
        if data:
            self._check(data)
        return data

    def _check(self, data: bytes) -> None:
        if b'"' in data:
            self._refuse("a quote")
        if b"\\." in data:
            self._refuse("a backslash-dot")
        if data.count(b"\r") != data.count(b"\r\n"):
            self._refuse("a carriage return that does not end a line")
        # Rare in a file (a site id may hold '0b'): each one found is looked at in Python.
        for match in _PREFIXES.finditer(data):
            start = match.start()
            while start and data[start - 1] in _CELL_LEAD:
                start -= 1
            if start and data[start - 1] not in b",\n":
                continue  # inside a cell, not at its start
            line = data.rfind(b"\n", 0, start) + 1
            column = data.count(b",", line, start)
            dtype = self._dtypes[column] if column < len(self._dtypes) else None  # an extra cell: COPY refuses it
            if match[0][1] in _READ_BY_POSTGRESQL_ONLY.get(dtype, b""):
                self._refuse(f"a number cell starting with {match[0].decode()!r}")

    def _refuse(self, why: str) -> None:
        self.refused = why
        raise Undecided(why)
