"""The spatial kinds' tests: real engine exports from fixtures/ as Exports, and a reader of them
that shares nothing with the parsers (the csv module on the raw bytes), to check values against."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest

from kinds.base import Export, ExportFile, ParseError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
# Fixture names are '<job>_calc<N>_' + the engine's download name (fixtures/README.md).
_PREFIX = re.compile(r"[a-z0-9_]+?_calc[0-9]+_")


def engine_name(fixture: str) -> str:
    """The name the engine's download had: the fixture's name without its '<job>_calc<N>_' prefix."""
    match = _PREFIX.match(fixture)
    assert match, fixture
    return fixture[match.end():]


def export_of(fixture: str, output_type: str | None = None) -> Export:
    """A fixture as the registry hands it to a kind: a zip's members, or the one file."""
    data = (FIXTURES / fixture).read_bytes()
    name = engine_name(fixture)
    if name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            files = [ExportFile(info.filename, archive.read(info), f"{name}/{info.filename}") for info in archive.infolist()]
    else:
        files = [ExportFile(name, data)]
    return Export(files, output_type, name)


def member(fixture: str, name: str, output_type: str | None = None) -> tuple[ExportFile, Export]:
    export = export_of(fixture, output_type)
    file = export.file(name)
    assert file is not None, f"{fixture} has no {name}"
    return file, export


def records(data: bytes) -> tuple[list[str], list[dict]]:
    """(header, rows as dicts of the raw cells) of an engine CSV, skipping its '#' metadata row."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    if rows[0][0] == "#":
        rows = rows[1:]
    header, body = rows[0], [row for row in rows[1:] if row]
    return header, [dict(zip(header, row, strict=True)) for row in body]


def metadata_pairs(data: bytes) -> dict:
    """The metadata row's pairs, read with a different grammar than the parser's: split on ', ' and '='."""
    first = next(csv.reader(io.StringIO(data.decode("utf-8"))))
    if first[0] != "#":
        return {}
    pairs = {}
    for item in first[-1].split(", "):
        key, _, value = item.partition("=")
        pairs[key] = value[1:-1] if value.startswith("'") else value
    return pairs


def assert_points(table, data: bytes, *, lon: str, lat: str, dtypes: dict, place=None) -> list[dict]:
    """Every row of table.rows() against the raw file: geometry and every value, each of the given type.

    `dtypes` maps every property column the kind must give, in order, to int, float or str;
    `place(raw row)` gives the expected point when it does not come from the row's own lon/lat.
    """
    header, raw = records(data)
    assert [column.name for column in table.columns] == list(dtypes)
    assert [column.dtype for column in table.columns] == [{int: "int", float: "float", str: "text"}[t] for t in dtypes.values()]
    rows = list(table.rows())
    assert len(rows) == len(raw)
    for (geometry, values), cells in zip(rows, raw):
        expected_point = place(cells) if place else (float(cells[lon]), float(cells[lat]))
        assert geometry == expected_point
        assert len(values) == len(dtypes)
        for value, (name, kind) in zip(values, dtypes.items()):
            assert type(value) is kind, (name, value)
            assert value == kind(cells[name]), (name, value, cells[name])
    return raw


def parse_error(kind, file: ExportFile, export: Export) -> ParseError:
    """The ParseError of reading `file` with `kind`, rows included."""
    with pytest.raises(ParseError) as caught:
        for _ in kind.read(file, export).rows():
            pass
    return caught.value


def replaced(file: ExportFile, old: bytes, new: bytes, count: int = 1) -> ExportFile:
    assert file.data.count(old) >= count, old
    return ExportFile(file.name, file.data.replace(old, new, count), file.label)


def with_file(export: Export, file: ExportFile) -> Export:
    """The export with `file` in place of its namesake."""
    return Export([file if f.name == file.name else f for f in export.files], export.output_type, export.name)
