"""geo.csv_load (PostgreSQL parses the CSV) against the Python parser it stands in for.

The rule under test: a file the database path stores is one `Table.rows()` accepts, stored with
identical rows (idx, geometry bytes, properties text: jsonb keeps a number's scale, so the text is
compared, not jsonb equality); a file it cannot decide goes to rows(), whose message the user
gets. Checked on every real engine export in fixtures/ (all of which the database path must
decide itself) and on each input where PostgreSQL and Python read numbers or CSV differently.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test import override_settings

import kinds
from geo.csv_load import Undecided, load_csv
from geo.loading import fill_table
from kinds.base import ParseError
from tests.kinds.engine_exports import engine_name

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
LIMIT = 1 << 30
META = "generated_by='OpenQuake engine 3.26.2', start_date='2026-11-27T18:18:03', checksum=200182232, kind='mean', investigation_time=1.0"
HAZARD_HEADER = f'#,,,,"{META}"\r\nlon,lat,PGA-0.002105,SA(0.2)-0.002105,SA(1.0)-0.002105\r\n'
SITE_ID_HEADER = f'#,,,,"{META}"\r\ncustom_site_id,lon,lat,PGA-0.002105,SA(0.2)-0.002105\r\n'
GOOD_ROW = "-123.23738,49.27479,3.023842E-03,1.227869E-02,1.304541E-02"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def targets():
    with connection.cursor() as cursor:
        for name in ("via_sql", "via_python"):
            cursor.execute(f"CREATE TEMPORARY TABLE {name} (LIKE geo_feature INCLUDING DEFAULTS)")
            # As a partition's: the loader names the other columns, the partition key is the table's.
            cursor.execute(f"ALTER TABLE {name} ALTER COLUMN part SET DEFAULT 0")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS via_sql, via_python")


def stored(name: str) -> list[tuple]:
    """The rows loaded into `name`, emptied for the next load."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT artifact_id, idx, encode(ST_AsEWKB(geom), 'hex'), properties::text FROM {name} ORDER BY idx")
        rows = cursor.fetchall()
        cursor.execute(f"TRUNCATE {name}")
    return rows


def python_load(table):
    """What the Python parser makes of the table: ('error', message) or ('rows', count, bbox, rows)."""
    try:
        with override_settings(ICEBOX_PARSE_IN_DATABASE=False), transaction.atomic(), connection.cursor() as cursor:
            loaded = fill_table(cursor, target="via_python", artifact_id=7, table=table)
    except ParseError as exc:
        return ("error", str(exc))
    return ("rows", loaded.count, repr(loaded.bbox), stored("via_python"))  # repr: -0.0 is not 0.0


def database_load(table):
    """The same through fill_table with the database path on; and whether that path decided it."""
    decided = True
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            load_csv(cursor, target="via_sql", artifact_id=7, table=table)
            raise Undecided("only looking")  # roll back: fill_table below does it for real
    except Undecided as exc:
        decided = str(exc) == "only looking"
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            loaded = fill_table(cursor, target="via_sql", artifact_id=7, table=table)
    except ParseError as exc:
        return ("error", str(exc)), decided
    return ("rows", loaded.count, repr(loaded.bbox), stored("via_sql")), decided


def read(name: str, data: bytes):
    return kinds.read_export(name, data, max_uncompressed=LIMIT)


def tables_of_fixtures():
    for path in sorted(FIXTURES.iterdir()):
        if path.suffix not in (".csv", ".zip"):
            continue
        try:
            tables = read(engine_name(path.name) if "_calc" in path.name else path.name, path.read_bytes())
        except ParseError:
            continue  # a file no upload reads (realizations): no rows to compare
        for table in tables:
            yield path.name, table


def test_every_engine_export_in_the_fixtures_is_loaded_by_the_database_with_the_python_rows():
    kinds_seen = set()
    for fixture, table in tables_of_fixtures():
        if table.layout is None:
            continue
        expected = python_load(table)
        actual, decided = database_load(table)
        assert decided, f"{fixture} {table.file_name}: the database path left a real engine file to Python"
        assert expected[0] == "rows" and actual == expected, f"{fixture} {table.file_name}"
        kinds_seen.add(table.artifact_type)
    assert kinds_seen >= {"hazard_curve", "hazard_map", "uhs", "gmf", "site_mesh", "avg_gmf", "site_model", "exposure",
                          "avg_losses", "damages", "loss_maps", "ruptures"}


def hazard(rows: list[str], *, header: str = HAZARD_HEADER, end: str = "\r\n"):
    (table,) = read("hazard_map-mean_2.csv", (header + end.join(rows) + end).encode())
    return table


def same_outcome(table) -> tuple[tuple, bool]:
    expected = python_load(table)
    actual, decided = database_load(table)
    assert actual == expected
    return expected, decided


# Cells or rows where the two parsers could read apart: each must end as Python ends it.
TRICKY_CELLS = {
    "space around": " 3.5E-03 ",
    "tab before": "\t3.5E-03",
    "plus sign": "+3.5E-03",
    "no leading digit": ".5",
    "no fraction digit": "5.",
    "inf": "inf",
    "minus inf": "-inf",
    "Infinity": "Infinity",
    "nan": "nan",
    "NaN": "NaN",
    "nan with payload": "nan(12)",
    "underscores": "1_000",
    "arabic-indic digits": "\u0661\u0662",
    "fullwidth digits": "\uff11",
    "no-break space": "\u00a01.5",
    "overflow": "1e500",
    "underflow to zero": "1e-400",
    "denormal": "5e-324",
    "empty": "",
    "blank": "   ",
    "quoted empty": '""',
    "quoted number": '"1.5"',
    "quoted comma": '"1,5"',
    "quote inside": '1"5',
    "hex float": "0x1p3",
    "hex float after space": " 0X10",
    "signed hex": "-0x10",
    "BOM": "\ufeff1.5",
    "letters": "abc",
    "two points": "1.2.3",
    "zero": "0.000000E+00",
    "negative zero": "-0.0",
    "one": "1.000000E+00",
    "integral 1e15": "1e15",
    "integral below 1e16": "1234567890123456",
    "1e16": "1e16",
    "seventeen digits": "0.30000000000000004",
    "many digits": "3.14159265358979323846264338327950288",
    "small exponent": "1e-05",
}


@pytest.mark.parametrize("cell", TRICKY_CELLS.values(), ids=TRICKY_CELLS.keys())
def test_a_tricky_value_cell_ends_as_the_python_parser_ends_it(cell):
    same_outcome(hazard([GOOD_ROW, f"-123.2,49.2,{cell},1.0,2.0", GOOD_ROW]))


@pytest.mark.parametrize("cell", ["181", "-180.5", "nan", "inf", "1e500", " 12.5"], ids=["east", "west", "nan", "inf", "overflow", "spaced"])
def test_a_tricky_longitude_ends_as_the_python_parser_ends_it(cell):
    same_outcome(hazard([GOOD_ROW, f"{cell},49.2,1.0,1.0,2.0"]))


TRICKY_ROWS = {
    "extra cell": [GOOD_ROW + ",1.0"],
    "missing cell": [GOOD_ROW.rsplit(",", 1)[0]],
    "blank line inside": [GOOD_ROW, "", GOOD_ROW],
    "blank lines at the end": [GOOD_ROW, GOOD_ROW, "", ""],
    "end-of-data marker": [GOOD_ROW, "\\.", GOOD_ROW],
    "backslash-dot in a cell": [GOOD_ROW, "\\.5,49.2,1.0,1.0,2.0"],
    "a lone carriage return": [GOOD_ROW + "\r" + GOOD_ROW],
    "quoted line break": [GOOD_ROW, '-123.2,49.2,"1.0\r\n",1.0,2.0'],
    "mixed line ends": [GOOD_ROW + "\n" + GOOD_ROW, GOOD_ROW],
    "bad UTF-8": [GOOD_ROW, "-123.2,49.2,1.0,1.0,\udcff"],
}


@pytest.mark.parametrize("rows", TRICKY_ROWS.values(), ids=TRICKY_ROWS.keys())
def test_a_tricky_row_ends_as_the_python_parser_ends_it(rows):
    text = HAZARD_HEADER + "\r\n".join(rows) + "\r\n"
    (table,) = read("hazard_map-mean_2.csv", text.encode("utf-8", "surrogateescape"))
    same_outcome(table)


@pytest.mark.parametrize("end", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_either_line_end_and_no_final_one_are_read_by_the_database(end):
    (table,) = read("hazard_map-mean_2.csv", (HAZARD_HEADER + end.join([GOOD_ROW, GOOD_ROW])).encode())
    outcome, decided = same_outcome(table)
    assert outcome[0] == "rows" and outcome[1] == 2 and decided


def test_numbers_the_database_reads_like_python_are_decided_there():
    """The common harmless variants must not cost the slow path."""
    for cell in ("+3.5E-03", " 3.5E-03 ", ".5", "5.", "0.000000E+00", "-0.0", "1e15", "1234567890123456", "5e-324"):
        outcome, decided = same_outcome(hazard([GOOD_ROW, f"-123.2,49.2,{cell},1.0,2.0"]))
        assert outcome[0] == "rows" and decided, cell


def random_doubles(rng: random.Random, count: int, below: float) -> list[float]:
    """Doubles of every exponent (random bit patterns), and as many of every size below 1e6 (log-uniform)."""
    values: list[float] = []
    while len(values) < count:
        value = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if abs(value) < below:
            values.append(value)
    return values + [rng.choice((-1, 1)) * 10 ** rng.uniform(-12, 6) for _ in range(count)]


def test_any_double_below_2_to_the_53_is_stored_by_the_database_with_the_text_python_stores():
    """Written as repr, as %.17g and as the engine's %.6E: the stored jsonb text is identical."""
    values = [0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 1e15, 1e15 + 1, 2.0**53 - 1, 2.0**52 + 0.5, 123456789012345.0,
              1e-5, 1e-4, 5e-324, 2.2250738585072014e-308, 4.9406564584124654e-320, 0.30000000000000004]
    values += random_doubles(random.Random(8), 1500, 2.0**53)
    cells = [f(v) for v in values for f in (repr, lambda v: f"{v:.17g}", lambda v: f"{v:.6E}")]
    cells = [cell for cell in cells if abs(float(cell)) < 2.0**53]  # %.6E may round up past it
    rows = [f"{i % 359 - 179}.5,{i % 179 - 89}.25,{cell},{cell},1.0" for i, cell in enumerate(cells)]
    outcome, decided = same_outcome(hazard(rows))
    assert outcome[0] == "rows" and outcome[1] == len(rows) and decided, outcome[:2]


@pytest.mark.parametrize("cell", ["1e23", "9007199254740992", "-1e300", "1.7976931348623157e308"])
def test_a_number_from_2_to_the_53_up_is_left_to_python(cell):
    """PostgreSQL writes 1e23 as 9.999999999999999e+22 (not the shortest text repr finds): the
    database path does not store numbers that large, Python does."""
    outcome, decided = same_outcome(hazard([GOOD_ROW, f"-123.2,49.2,{cell},1.0,2.0"]))
    assert outcome[0] == "rows" and not decided


SITE_IDS = {
    "geohash": "ebpbxfpy",
    "with a 0x inside": "a0x1",
    "starting 0x": "0x12",
    "spaces around": " t_1 ",
    "blank": "   ",
    "empty": "",
    "no-break spaces only": "\u00a0\u00a0",
    "ideographic space": "\u3000",
    "non-ASCII": "東京",
    "quote": 'a"b',
    "backslash": "a\\b",
}


@pytest.mark.parametrize("site_id", SITE_IDS.values(), ids=SITE_IDS.keys())
def test_a_tricky_custom_site_id_ends_as_the_python_parser_ends_it(site_id):
    rows = ["7zzzzzzz,-123.23738,49.27479,3.023842E-03,1.227869E-02", f"{site_id},-123.2,49.2,1.0,2.0"]
    same_outcome(hazard(rows, header=SITE_ID_HEADER))


def gmf_zip(rows: list[str], *, mesh: list[str] | None = None, site_column: str = "custom_site_id") -> bytes:
    header = f'#,,,"generated_by=\'OpenQuake engine 3.26.2\', start_date=\'2026-12-01T12:09:48\', checksum=760729377"\r\n'
    mesh = mesh or ["7zzzzzzz,0.00000,0.00000", "ebpbxfpy,0.00000,0.10000", "ebpcpurv,0.00000,0.20000"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("gmf-data_5.csv", header + f"event_id,gmv_PGA,gmv_SA(0.1),{site_column}\r\n" + "\r\n".join(rows) + "\r\n")
        archive.writestr("sitemesh_5.csv", header.replace(",,,", ",,", 1) + f"{site_column},lon,lat\r\n" + "\r\n".join(mesh) + "\r\n")
    return buffer.getvalue()


def gmf(rows: list[str], **options):
    tables = read("output-41-gmf_data-csv.zip", gmf_zip(rows, **options))
    return next(table for table in tables if table.artifact_type == "gmf")


GMF_ROWS = {
    "plain": ["0,3.03680E-01,1.0E-01,7zzzzzzz", "1,2.91959E-01,2.0E-01,ebpcpurv"],
    "site not in the mesh": ["0,3.03680E-01,1.0E-01,7zzzzzzz", "1,2.91959E-01,2.0E-01,nowhere"],
    "event id with spaces": [" 7 ,3.0E-01,1.0E-01,7zzzzzzz"],
    "event id signed": ["+7,3.0E-01,1.0E-01,7zzzzzzz"],
    "event id with leading zeros": ["007,3.0E-01,1.0E-01,7zzzzzzz"],
    "event id with underscore": ["1_0,3.0E-01,1.0E-01,7zzzzzzz"],
    "event id in hex": ["0x10,3.0E-01,1.0E-01,7zzzzzzz"],
    "event id in binary": ["0b10,3.0E-01,1.0E-01,7zzzzzzz"],
    "event id in octal": ["0o10,3.0E-01,1.0E-01,7zzzzzzz"],
    "event id past bigint": ["100000000000000000000000,3.0E-01,1.0E-01,7zzzzzzz"],
    "event id a float": ["1.5,3.0E-01,1.0E-01,7zzzzzzz"],
    "event id empty": [",3.0E-01,1.0E-01,7zzzzzzz"],
    "gmv inf": ["0,inf,1.0E-01,7zzzzzzz"],
    "site id with 0b inside": ["0,3.0E-01,1.0E-01,s0bc"],
}


@pytest.mark.parametrize("rows", GMF_ROWS.values(), ids=GMF_ROWS.keys())
def test_a_tricky_gmf_row_ends_as_the_python_parser_ends_it(rows):
    mesh = ["7zzzzzzz,0.00000,0.00000", "ebpcpurv,0.00000,0.20000", "s0bc,1.5,2.5"]
    same_outcome(gmf(rows, mesh=mesh))


def test_gmf_rows_take_their_mesh_points_and_only_the_used_sites_make_the_extent():
    outcome, decided = same_outcome(gmf(["0,3.0E-01,1.0E-01,ebpbxfpy", "1,2.0E-01,1.0E-01,ebpbxfpy"]))
    assert decided and outcome[:3] == ("rows", 2, repr([0.0, 0.1, 0.0, 0.1]))


def test_gmf_rows_by_integer_site_id():
    rows = ["0,3.0E-01,1.0E-01,2", "0,2.0E-01,1.0E-01,0", "3,1.0E-01,1.0E-01,1"]
    outcome, decided = same_outcome(gmf(rows, mesh=["0,0.0,0.0", "1,0.0,0.1", "2,0.5,0.2"], site_column="site_id"))
    assert outcome[0] == "rows" and outcome[1] == 3 and decided


def test_a_broken_site_mesh_is_the_python_parsers_error():
    outcome, decided = same_outcome(gmf(["0,3.0E-01,1.0E-01,7zzzzzzz"], mesh=["7zzzzzzz,0.0,0.0", "7zzzzzzz,1.0,1.0"]))
    assert outcome[0] == "error" and "in the mesh twice" in outcome[1] and not decided


def test_a_site_id_that_starts_like_a_prefixed_number_is_still_read_by_the_database():
    """Only number cells are refused for a '0x'/'0b' start: a geohash site id may begin so."""
    mesh = ["0bcdefgh,0.0,0.0", "0xyzuvwt,0.0,0.1"]
    outcome, decided = same_outcome(gmf(["0,3.0E-01,1.0E-01,0bcdefgh", "1,2.0E-01,1.0E-01,0xyzuvwt"], mesh=mesh))
    assert outcome[0] == "rows" and decided


@pytest.mark.parametrize("first, second", [("0.00000", "-0.00000"), ("-0.00000", "0.00000")])
def test_the_extent_keeps_the_sign_of_zero_python_keeps(first, second):
    """The engine writes a longitude just west of Greenwich as -0.00000: the extent takes the first zero, as rows() does."""
    outcome, decided = same_outcome(hazard([f"{first},{second},1.0,1.0,2.0", f"{second},{first},1.0,1.0,2.0"]))
    assert outcome[0] == "rows" and decided
