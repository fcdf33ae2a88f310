"""Bulk loading of a parsed engine table into `geo_feature`: the shared partition, or one of its own.

A small artifact (at most ICEBOX_SHARED_PARTITION_MAX_ROWS rows) is copied straight into the
shared partition (part 0), which is indexed already: no DDL, so an upload neither slows with the
number of artifacts nor makes every other connection rebuild the table's partition descriptor.
Which one it is is decided while loading: the first rows are buffered, and only a table with more
rows than that gets a partition of its own (part = its id), created empty, filled with one COPY,
indexed after loading (3x faster than COPY into an indexed table, see shared/PERF-NOTES.md), then
attached to the parent. Everything runs in the caller's transaction: if anything fails, neither
the rows nor the partition ever existed.

Deleting a small artifact deletes its rows in the delete's transaction. A big one goes the other
way round: the artifact's row goes first (at once, for everyone), and its partition is dropped
afterwards, when no read holds the table (`drop_orphan_partitions`).
"""

from __future__ import annotations

import itertools
import json
import re
import struct
from dataclasses import dataclass
from typing import Iterable, Iterator

import psycopg2
from django.conf import settings
from django.db import OperationalError, connection, transaction
from psycopg2.errors import LockNotAvailable

from geo.csv_load import Undecided, load_csv
from geo.filters import index_statements, kind_filterable
from geo.models import SHARED_PART, Feature
from kinds.base import BOOL, FLOAT, INT, TEXT, ParseError, Shape, Table

# Little-endian EWKB header of a 2D Point carrying SRID 4326 (type 1 | the SRID flag 0x20000000).
_POINT_EWKB_HEADER = struct.pack("<BII", 1, 0x20000001, 4326).hex()
_pack_xy = struct.Struct("<dd").pack

SHARED_PARTITION = "geo_feature_shared"

# ANALYZE of a big artifact's partition samples 300 rows per unit of target. The server's default
# (100: 30,000 rows) took 210-280 ms of a 100k-site upload, most of it sorting the sample's jsonb
# properties; 10 (3,000 rows) takes 15-30 ms. The plans that depend on statistics (a nearest site
# by the GiST index, one event of a GMF by its filter index, bboxes) are tested on partitions
# analysed so (tests/geo/test_sites_api.py, test_filters_api.py, test_storage_layout.py); with no
# statistics at all the nearest-site plan turned into a sort of every site.
STATISTICS_TARGET = 10


@dataclass(frozen=True)
class LoadResult:
    count: int
    bbox: list[float] | None  # [minlon, minlat, maxlon, maxlat]
    part: int  # where the rows went: SHARED_PART, or the artifact's id (Artifact.feature_part)


def partition_name(artifact_id: int) -> str:
    return f"geo_feature_{int(artifact_id)}"


def load_features(*, artifact_id: int, table: Table, max_shared_rows: int | None = None) -> LoadResult:
    """Load the rows of `artifact_id`: into the shared partition if there are at most
    `max_shared_rows` (default ICEBOX_SHARED_PARTITION_MAX_ROWS), else into a partition of its
    own, created, filled, indexed and attached here. Must run inside a transaction."""
    if connection.get_autocommit():
        raise RuntimeError("load_features must run inside transaction.atomic()")
    limit = settings.ICEBOX_SHARED_PARTITION_MAX_ROWS if max_shared_rows is None else max_shared_rows
    if table.layout is not None and settings.ICEBOX_PARSE_IN_DATABASE:
        # PostgreSQL will parse the file (fill_table): count its lines to choose the partition. Only
        # where the rows go depends on the count; what is stored is what fill_table reads.
        if _body_lines_exceed(table, limit):
            return _load_own_partition(artifact_id, table)
        with connection.cursor() as cursor:
            return fill_table(cursor, target=connection.ops.quote_name(SHARED_PARTITION), artifact_id=artifact_id, table=table,
                              part=SHARED_PART)
    stats = _Stats()
    lines = _copy_lines(artifact_id, table, stats)
    # A parse error raised here is the parser's own, as it would be from within COPY.
    first = list(itertools.islice(lines, limit + 1))
    if len(first) <= limit:
        _copy(connection.ops.quote_name(SHARED_PARTITION), first, table)
        return LoadResult(count=stats.count, bbox=stats.bbox(), part=SHARED_PART)
    return _load_own_partition(artifact_id, table, lines=itertools.chain(first, lines), stats=stats)


def _body_lines_exceed(table: Table, limit: int) -> bool:
    """Whether the CSV body has more than `limit` lines (read in chunks, up to the answer)."""
    count = 0
    with table.layout.open_body() as body:
        while chunk := body.read(1 << 20):
            count += chunk.count(b"\n")
            if count > limit:
                return True
    return False


def _load_own_partition(artifact_id: int, table: Table, *, lines: Iterable[str] | None = None, stats: _Stats | None = None) -> LoadResult:
    """A partition of its own for a big artifact: created empty, filled (by fill_table, or with
    the COPY `lines` already begun), indexed, then attached."""
    qn = connection.ops.quote_name
    name = partition_name(artifact_id)
    part = qn(name)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {part} (LIKE {qn('geo_feature')} INCLUDING DEFAULTS)")
        # COPY and INSERT name the columns of `_copy_lines`; the partition key comes from here.
        cursor.execute(f"ALTER TABLE {part} ALTER COLUMN part SET DEFAULT %s", [int(artifact_id)])
        if lines is None:
            loaded = fill_table(cursor, target=part, artifact_id=artifact_id, table=table, part=int(artifact_id))
        else:
            _copy(part, lines, table)
            loaded = LoadResult(count=stats.count, bbox=stats.bbox(), part=int(artifact_id))
        cursor.execute(f"ALTER TABLE {part} ADD PRIMARY KEY (artifact_id, idx)")
        cursor.execute(f"CREATE INDEX {qn(name + '_geom')} ON {part} USING gist (geom)")
        # Only this partition's: one event of a million-row GMF is an index scan (geo.filters).
        for statement, params in index_statements(table=part, index_prefix=name, columns=filter_index_columns(table), quote_name=qn):
            cursor.execute(statement, params)
        # With this constraint in place ATTACH need not scan the rows to prove they belong here
        # (and there is no DEFAULT partition it would have to scan either).
        cursor.execute(f"ALTER TABLE {part} ADD CONSTRAINT {qn(name + '_part')} CHECK (part = %s)", [int(artifact_id)])
        cursor.execute(f"ALTER TABLE {qn('geo_feature')} ATTACH PARTITION {part} FOR VALUES IN (%s)", [int(artifact_id)])
        # Statistics from a sample of 300 x STATISTICS_TARGET rows (see the constant), not the
        # server's default 30,000: the planner needs the partition's rough shape, not fine histograms.
        cursor.execute(f"SET LOCAL default_statistics_target = {STATISTICS_TARGET}; ANALYZE {part}; SET LOCAL default_statistics_target TO DEFAULT")
    return loaded


def fill_table(cursor, *, target: str, artifact_id: int, table: Table, part: int = SHARED_PART) -> LoadResult:
    """Insert the rows of `table` for `artifact_id` into `target` (a quoted table name, whose
    `part` default is `part`); their count and extent.

    PostgreSQL parses the file when the kind says where its rows are (geo/csv_load.py), in a
    savepoint; when that path cannot decide, or with ICEBOX_PARSE_IN_DATABASE off, the kind's
    own rows() are formatted here and sent with one COPY, and its ParseError is what the user
    gets. Either way the rows stored are the ones rows() yields. Runs inside the caller's transaction.
    """
    if table.layout is not None and settings.ICEBOX_PARSE_IN_DATABASE:
        try:
            with transaction.atomic():
                loaded = load_csv(cursor, target=target, artifact_id=artifact_id, table=table)
            return LoadResult(count=loaded.count, bbox=loaded.bbox, part=part)
        except Undecided:
            pass  # rolled back to the savepoint: rows() decides, with its own message
    stats = _Stats()
    _copy(target, _copy_lines(artifact_id, table, stats), table)
    return LoadResult(count=stats.count, bbox=stats.bbox(), part=part)


def _copy(target: str, lines: Iterable[str], table: Table) -> None:
    """One COPY of `_copy_lines` output into `target` (a quoted name of a partition of geo_feature)."""
    reader = _CopyReader(lines)
    with connection.cursor() as cursor:
        try:
            cursor.cursor.copy_expert(f"COPY {target} (artifact_id, idx, geom, properties) FROM STDIN", reader, size=1 << 16)
        except psycopg2.Error as exc:
            # psycopg2 reports an exception raised by read() as a cancelled COPY; the parser's
            # error (file, line, problem) is the one the user needs.
            if reader.error is not None:
                raise reader.error from None
            refused = _refused_geometry(exc, table.file_name)
            if refused is not None:
                raise refused from None
            raise


def delete_features(*, artifact_id: int, part: int) -> None:
    """Remove the rows of a deleted artifact, in the caller's (the delete's) transaction: those in
    the shared partition now; a partition of its own is dropped after the commit (`drop_partition`)."""
    if connection.get_autocommit():
        raise RuntimeError("delete_features must run inside the delete's transaction")
    if part == SHARED_PART:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name('geo_feature')} WHERE part = %s AND artifact_id = %s", [SHARED_PART, artifact_id])
        return
    transaction.on_commit(lambda: drop_partition(artifact_id=artifact_id, lock_timeout_ms=settings.ICEBOX_PARTITION_DROP_LOCK_TIMEOUT_MS))


def filter_index_columns(table: Table) -> list[str]:
    """The columns of `table` its kind declares filterable: each gets an index on its partition."""
    filterable = set(kind_filterable(table.artifact_type))
    return [column.name for column in table.columns if column.name in filterable]


_COPY_LINE_RE = re.compile(r"COPY \S+, line ([0-9]+), column geom")


def _refused_geometry(exc: psycopg2.Error, file_name: str) -> ParseError | None:
    """PostGIS's refusal of a kind's Shape (an unclosed ring, too few points) as the file's error."""
    diag = getattr(exc, "diag", None)
    match = _COPY_LINE_RE.search(getattr(diag, "context", None) or "")
    if not match:
        return None
    message = (getattr(diag, "message_primary", None) or "invalid geometry").strip()
    return ParseError(f"row {int(match[1]) - 1}: PostGIS refused the geometry: {message}", file_name=file_name)


def drop_partition(*, artifact_id: int, lock_timeout_ms: int) -> bool:
    """Drop the partition of an artifact whose row is gone; False if reads kept it locked.

    Dropping a partition locks the whole parent table exclusively: it must wait for every read of
    any artifact in progress (a GeoJSON stream of minutes), and every read that starts meanwhile
    queues behind it. So it runs in its own short transaction, after the artifact's row is gone,
    waiting at most `lock_timeout_ms` (that long is the most it can delay a new read); when it
    gives up, the partition stays for the next try (`drop_orphan_partitions`). Nobody can read it
    meanwhile: every read looks the artifact up first, and ids are never reused.
    """
    if not connection.get_autocommit():
        raise RuntimeError("drop_partition must run outside a transaction: it would hold the parent's lock until that one ends")
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(lock_timeout_ms)}ms"])
                cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(partition_name(artifact_id))}")
    except OperationalError as exc:
        if isinstance(exc.__cause__, LockNotAvailable):
            return False
        raise
    return True


def orphan_partitions() -> list[int]:
    """Artifact ids that have a partition of their own in geo_feature but no artifact row (deleted, partition left)."""
    artifacts = connection.ops.quote_name(Feature._meta.get_field("artifact").related_model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.artifact_id FROM ("
            "  SELECT substring(c.relname FROM '^geo_feature_([0-9]+)$')::bigint AS artifact_id"
            "  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            "  WHERE i.inhparent = 'geo_feature'::regclass AND c.relname ~ '^geo_feature_[0-9]+$'"
            f") AS p WHERE NOT EXISTS (SELECT 1 FROM {artifacts} a WHERE a.id = p.artifact_id) ORDER BY 1"
        )
        return [row[0] for row in cursor.fetchall()]


def drop_orphan_partitions(*, lock_timeout_ms: int | None = None) -> int:
    """Drop every partition whose artifact is gone, as far as reads in progress allow; how many were dropped.

    Meant to run periodically (and cheap when there is nothing to do: one catalog query). While
    any read of any artifact is in progress no partition can be dropped; they wait for the next
    run, and each run delays new reads by one lock timeout at most. A partition being loaded is
    never seen here: its artifact row and its table become visible in the same commit.
    """
    timeout = settings.ICEBOX_PARTITION_DROP_LOCK_TIMEOUT_MS if lock_timeout_ms is None else lock_timeout_ms
    dropped = 0
    for artifact_id in orphan_partitions():
        if not drop_partition(artifact_id=artifact_id, lock_timeout_ms=timeout):
            # Every drop needs the same lock on the parent: the next would wait just as long, in vain.
            break
        dropped += 1
    return dropped


class _Stats:
    def __init__(self):
        self.count = 0
        self.minlon = self.minlat = float("inf")
        self.maxlon = self.maxlat = float("-inf")
        self.has_bbox = False

    def bbox(self) -> list[float] | None:
        # Rows without geometry (tables) have no extent.
        return [self.minlon, self.minlat, self.maxlon, self.maxlat] if self.has_bbox else None


def _copy_lines(artifact_id: int, table: Table, stats: _Stats) -> Iterator[str]:
    """COPY text-format lines: artifact_id, idx, geometry (EWKB hex, EWKT, or \\N), properties JSON."""
    keys = [json.dumps(column.name) + ":" for column in table.columns]
    # repr() of a float is the shortest text that reads back as the same double: the file's value.
    formats = [_FORMATS[column.dtype] for column in table.columns]
    has_text = any(column.dtype == TEXT for column in table.columns)
    prefix = f"{int(artifact_id)}\t"
    minlon = minlat = float("inf")
    maxlon = maxlat = float("-inf")
    idx = -1
    if table.geometry == "point":
        # The fast path, a million sites per map: every row's geometry is a (lon, lat) tuple.
        for idx, ((lon, lat), values) in enumerate(table.rows()):
            if lon < minlon:
                minlon = lon
            if lon > maxlon:
                maxlon = lon
            if lat < minlat:
                minlat = lat
            if lat > maxlat:
                maxlat = lat
            props = "{" + ",".join([k + f(v) for k, f, v in zip(keys, formats, values)]) + "}"
            if has_text:
                # COPY's text format reads backslashes as escapes; JSON escapes must survive it.
                props = props.replace("\\", "\\\\")
            yield f"{prefix}{idx}\t{_POINT_EWKB_HEADER}{_pack_xy(lon, lat).hex()}\t{props}\n"
    else:
        # These rows come from a job's inputs, where one row has a number another lacks (a fault's
        # dip, an asset's cost, a site's depth): null there. Not on the point path, which stays repr.
        formats = [_json_float if format is repr else format for format in formats]
        for idx, (geom, values) in enumerate(table.rows()):
            props = "{" + ",".join([k + f(v) for k, f, v in zip(keys, formats, values)]) + "}"
            if has_text:
                props = props.replace("\\", "\\\\")
            if geom is None:
                text = "\\N"
            elif type(geom) is tuple:
                lon, lat = geom
                box = (lon, lat, lon, lat)
                text = f"{_POINT_EWKB_HEADER}{_pack_xy(lon, lat).hex()}"
            else:
                text, box = _shape_ewkt(geom, idx, table.file_name)
            if geom is not None:
                minlon, minlat = min(minlon, box[0]), min(minlat, box[1])
                maxlon, maxlat = max(maxlon, box[2]), max(maxlat, box[3])
            yield f"{prefix}{idx}\t{text}\t{props}\n"
    stats.count = idx + 1
    stats.minlon, stats.minlat, stats.maxlon, stats.maxlat = minlon, minlat, maxlon, maxlat
    stats.has_bbox = minlon <= maxlon


def _json_text(value) -> str:
    return "null" if value is None else json.dumps(value)


def _json_float(value) -> str:
    return "null" if value is None else repr(value)


def _json_int(value) -> str:
    return "null" if value is None else str(int(value))


def _json_bool(value) -> str:
    return "null" if value is None else ("true" if value else "false")


# How a value of each Column.dtype is written into the row's JSON properties. Floats go through
# the builtin repr (no Python call of ours per cell: the map fast path), so they cannot be None.
_FORMATS = {FLOAT: repr, INT: _json_int, TEXT: _json_text, BOOL: _json_bool}

_SHAPE_TYPES = {"MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}


def _shape_ewkt(shape: Shape, idx: int, file_name: str) -> tuple[str, tuple[float, float, float, float]]:
    """EWKT of a Shape, 2D (a depth belongs in the properties), and its bounding box.

    PostGIS parses it on COPY and refuses a malformed one; the row's index names it in the error.
    """
    depth = _SHAPE_TYPES.get(shape.type) if isinstance(shape, Shape) else None
    if depth is None:
        raise ParseError(f"row {idx}: geometry {getattr(shape, 'type', type(shape).__name__)!r} is not one of {', '.join(_SHAPE_TYPES)}", file_name=file_name)
    xs: list[float] = []
    ys: list[float] = []

    def ring(points) -> str:
        parts = []
        for point in points:
            x, y = float(point[0]), float(point[1])
            xs.append(x)
            ys.append(y)
            parts.append(f"{x!r} {y!r}")
        return "(" + ",".join(parts) + ")"

    def nest(level, value) -> str:
        return ring(value) if level == 1 else "(" + ",".join(nest(level - 1, item) for item in value) + ")"

    body = nest(depth, shape.coordinates)
    if not xs:
        raise ParseError(f"row {idx}: empty {shape.type}", file_name=file_name)
    return f"SRID=4326;{shape.type.upper()}{body}", (min(xs), min(ys), max(xs), max(ys))


class _CopyReader:
    """A file-like object over an iterator of lines, read in blocks by psycopg2's copy_expert."""

    def __init__(self, lines: Iterable[str]):
        self._lines = iter(lines)
        self._buffer = ""
        self.error: Exception | None = None

    def read(self, size: int = -1) -> str:
        if size is None or size < 0:
            size = 1 << 62
        parts = [self._buffer]
        length = len(self._buffer)
        try:
            for line in self._lines:
                parts.append(line)
                length += len(line)
                if length >= size:
                    break
        except Exception as exc:
            self.error = exc
            raise
        data = "".join(parts)
        self._buffer = data[size:]
        return data[:size]

