"""What every artifact kind provides: the contract between a kind's module and the rest of Icebox.

A *kind* is one module in this package (`kinds/hazard_map.py`, `kinds/gmf.py`, ...) that knows
one family of engine files: which engine outputs and file names it reads, the file's grammar,
the geometry its rows carry and the columns a client may filter on. `kinds/__init__.py` is the
registry: the ordered tuple of kind modules, and everything else in Icebox (artifact types, the
OpenAPI enum, which engine outputs an import parses, upload recognition) is derived from it.

Pure Python and stdlib only: bytes in, plain data out. No Django import anywhere in this package,
so that the formats are tested on real files without a database.

The flow, for an upload or for one engine output:

    export = Export(output_type="gmf_data", files=[ExportFile(...), ...])  # the zip's members, or one file
    for file in export.files:
        kind = registry.kind_for(file, export)     # first kind whose claims() is true, else the raw kind
        table = kind.read(file, export)            # ParseError if the file is claimed but malformed
        -> one artifact per file: row, bytes (file.data), and table.rows() loaded into PostGIS

Every file of an export becomes exactly one artifact (nothing the engine exported is dropped).
A kind that needs a second file of the same export (GMF rows + the site mesh that places them)
reads it with `export.file(name)`; the second file is still an artifact of its own kind.
"""

from __future__ import annotations

import io
import os
from dataclasses import asdict, dataclass, field
from typing import BinaryIO, Callable, Iterator, Mapping, Protocol, Sequence, Union

__all__ = [
    "Column",
    "CsvLayout",
    "CsvRows",
    "Export",
    "ExportFile",
    "Geometry",
    "Kind",
    "ParseError",
    "Shape",
    "Table",
]


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


# Column value types: how a cell is read and how it is stored in the row's JSON properties.
FLOAT, INT, TEXT, BOOL = "float", "int", "text", "bool"
DTYPES = (FLOAT, INT, TEXT, BOOL)


@dataclass(frozen=True)
class Column:
    """One property column of a table. Coordinates that make the geometry are not columns.

    `name` is the header cell exactly as written; `quantity` says what the values are, in the
    engine's terms ('poe', 'iml', 'gmv', 'loss', 'damage', 'vs30', 'site_id', 'event_id', ...;
    free text, documented by the kind); `dtype` how the cell reads (float via float(), int via
    int() and stored as a JSON integer, text as a JSON string, bool from the engine's 0/1 or
    True/False). `imt`, `iml`, `poe` carry the hazard meaning where the header gives one.
    """

    name: str
    quantity: str
    imt: str | None = None
    iml: float | None = None
    poe: float | None = None
    dtype: str = FLOAT

    @property
    def is_text(self) -> bool:
        return self.dtype == TEXT

    def as_dict(self) -> dict:
        # `is_text` stays in the stored metadata: clients read it from `metadata.columns`.
        return {**asdict(self), "is_text": self.is_text}


@dataclass(frozen=True)
class Shape:
    """A geometry that is not a point, as GeoJSON's `type` and `coordinates` (lon, lat[, depth]).

    type: 'LineString' | 'MultiLineString' | 'Polygon' | 'MultiPolygon' | 'MultiPoint'.
    Coordinates are tuples of floats, nested as GeoJSON nests them; the loader writes them as
    EWKB with SRID 4326 and PostGIS checks validity.
    """

    type: str
    coordinates: tuple


# One row's geometry: (lon, lat) for a point (the fast path: a million of them per map), a Shape
# for anything else, None for a row of a table without coordinates (realizations, events, ...).
Geometry = Union[tuple, Shape, None]


@dataclass(frozen=True)
class CsvLayout:
    """Where a table's rows are in its CSV, for a loader that lets the database parse the file.

    `Table.rows()` is the definition of what a file holds; a CsvLayout says how the same rows
    are laid out, so that a loader (geo/csv_load.py) can read them without Python touching
    every cell. The loader must end up with exactly the rows rows() yields, or fall back to it.

    Each data row of the body has one cell per `dtypes` entry (FLOAT read by float(), INT by
    int(), TEXT as is); `values` are the positions of the cells that are the row's values, in
    `Table.columns` order. The row's point is the cells at `lon`/`lat`, or, with `site`, the
    point `points()` (called once; {site id: (lon, lat)}, ParseError for a bad mesh) gives for
    the cell at `site`; neither: the row has no geometry. `required` are TEXT cells that must not
    be blank (str.strip()). Every value that is not a finite number, a point off the globe, a
    blank required cell or a site not in `points()` is an error of rows().
    """

    # The bytes of the data rows, from the first one on (a fresh stream at each call): UTF-8,
    # lines ending in \n or \r\n, as rows() reads them.
    open_body: Callable[[], BinaryIO]
    dtypes: tuple[str, ...]
    values: tuple[int, ...]
    lon: int | None = None
    lat: int | None = None
    site: int | None = None
    points: Callable[[], dict] | None = None
    required: tuple[int, ...] = ()


@dataclass(frozen=True)
class CsvRows:
    """A Table's rows() that also says where its rows are in the CSV (see CsvLayout)."""

    read: Callable[[], Iterator]
    layout: CsvLayout

    def __call__(self) -> Iterator:
        return self.read()


@dataclass
class Table:
    """One file read by a kind: what its header says, and its data rows on demand.

    `rows()` yields (geometry, values) per data row, `values` aligned with `columns`, validating
    while it iterates (a million-row file is never held as Python objects) and raising ParseError
    with the 1-based physical line number. It can be called more than once.
    """

    file_name: str
    artifact_type: str  # the kind's name
    metadata: dict  # from the engine's header row and the file name (kind, imt, investigation_time, ...)
    columns: list[Column]
    # 'point' | 'line' | 'polygon' | 'mixed' | None: what rows() yields. With 'point' every row's
    # geometry must be a (lon, lat) tuple (the loader's fast path unpacks it unchecked); otherwise a
    # row may carry a (lon, lat) tuple, a Shape or None ('mixed': a source model's points, lines and
    # polygons in one file).
    geometry: str | None
    data: bytes = field(repr=False, compare=False, default=b"")  # the file's exact bytes (a parsed file)
    content_type: str = "text/csv"
    _rows: object = field(repr=False, compare=False, default=None)  # () -> Iterator, set by the kind
    # The file itself, for a file kept without parsing (the raw kind): its bytes are stored from
    # it, in chunks, and never held whole (they may be gigabytes).
    source: "ExportFile | None" = field(repr=False, compare=False, default=None)

    def __post_init__(self):
        if self.source is not None and not self.data and self.source.path is None:
            self.data = self.source.data

    @property
    def size(self) -> int:
        return self.source.size if self.source is not None and self.source.path is not None else len(self.data)

    @property
    def sha256(self) -> str | None:
        """The bytes' sha256 when whoever read them computed it already (an upload, a download), else None."""
        return self.source.sha256 if self.source is not None else None

    def open(self) -> BinaryIO:
        """The file's bytes as a binary stream (from the file on disk when there is one)."""
        if self.source is not None and self.source.path is not None:
            return self.source.open()
        return io.BytesIO(self.data)

    @property
    def layout(self) -> CsvLayout | None:
        """How the rows sit in the CSV when the kind can say (CsvRows), else None: read only by rows()."""
        return getattr(self._rows, "layout", None)

    @property
    def has_rows(self) -> bool:
        """False for a file kept without rows (the raw kind): no feature partition is made for it."""
        return self._rows is not None

    def rows(self) -> Iterator[tuple[Geometry, tuple]]:
        if self._rows is None:
            return iter(())
        return self._rows()


class ExportFile:
    """One file of an export: a zip member (decompressed) or the single file the engine sent.

    Held as bytes, or backed by a file on disk (`path`): an upload or a download of any size is
    never read whole unless a kind parses it (`data`, read on first use and bounded by the
    caller's limit on what is parsed); `head()` and `open()` read it in part or as a stream.
    `sha256` is the bytes' digest when the caller computed it while receiving them.
    """

    def __init__(self, name: str, data: bytes | None = None, label: str = "", *, path: str | os.PathLike | None = None,
                 sha256: str | None = None):
        if (data is None) == (path is None):
            raise TypeError("an ExportFile has either data or a path")
        self.name = name  # base name: 'gmf-data_6.csv'
        # How the zip or the download names the whole, for error messages: 'output-38-gmf_data-csv.zip/gmf-data_6.csv'.
        self.label = label
        self.path = os.fspath(path) if path is not None else None
        self.sha256 = sha256
        self._data = data

    def __repr__(self) -> str:
        return f"ExportFile({self.name!r}, size={self.size})"

    @property
    def error_name(self) -> str:
        return self.label or self.name

    @property
    def size(self) -> int:
        return len(self._data) if self._data is not None else os.stat(self.path).st_size

    @property
    def data(self) -> bytes:
        if self._data is None:
            with open(self.path, "rb") as handle:
                self._data = handle.read()
        return self._data

    def head(self, count: int) -> bytes:
        """The first `count` bytes (fewer if the file is shorter), without reading the rest."""
        if self._data is not None:
            return self._data[:count]
        with open(self.path, "rb") as handle:
            return handle.read(count)

    def open(self) -> BinaryIO:
        return open(self.path, "rb") if self._data is None else io.BytesIO(self._data)


@dataclass(frozen=True)
class Export:
    """What one upload or one engine output holds: its files, and the engine output type when known."""

    files: Sequence[ExportFile]
    output_type: str | None = None  # 'gmf_data', 'hcurves', ...; None for an upload
    name: str = ""  # the download's or upload's file name
    # A job's inputs (an input archive, or the engine's `input` output): file name -> its role, as
    # the job.ini and the files it names say ('source_model', 'gsim_logic_tree', 'exposure', ...;
    # kinds/input_archive.py). The input kinds claim files by it. Empty for every other export.
    roles: Mapping[str, str] = field(default_factory=dict)

    def file(self, name: str) -> ExportFile | None:
        for candidate in self.files:
            if candidate.name == name:
                return candidate
        return None


class Kind(Protocol):
    """A kind module provides these names at module level (the registry holds the modules)."""

    NAME: str  # artifact_type, e.g. 'gmf'; unique; [a-z_]+
    TITLE: str  # 'Ground-motion fields'
    OUTPUT_TYPES: tuple[str, ...]  # engine output types whose exports it reads (() for upload-only kinds)
    GEOMETRY: str | None  # 'point' | 'line' | 'polygon' | 'mixed' | None
    # Columns a client may filter on by equality (?event_id=3 on GeoJSON, tiles, OGC items, rows).
    FILTERABLE: tuple[str, ...]

    def claims(self, file: ExportFile, export: Export) -> bool:
        """True if this kind reads `file` (by its name and, cheaply, its first bytes). Never raises."""

    def read(self, file: ExportFile, export: Export) -> Table:
        """Read the header now (ParseError if malformed) and leave the rows to Table.rows()."""
