"""Exposure models of a job's inputs: the NRML `exposureModel`, its assets inline or in the CSV files it names.

    <exposureModel id="exposure" category="buildings" taxonomySource="GEM taxonomy">
      <conversions><costTypes><costType name="structural" type="aggregated" unit="USD"/></costTypes></conversions>
      <exposureFields><field oq="structural" input="total_repl_value"/></exposureFields>
      <occupancyPeriods>night</occupancyPeriods>
      <tagNames>NAME_1</tagNames>
      <assets>OQ_exposure_model.csv</assets>          (or <asset> elements)

One point per asset. From CSV files (relative to the XML, read from the same archive; `.csv.gz`
too), every column under its CSV name: `id`, `taxonomy`, the tags and what `exposureFields` maps
to id or taxonomy as text (risklib/asset.py: its strfields), every other column a number when
all its cells are numbers, else text (the engine leaves undeclared columns as text: a
`SETTLEMENT` of `Rural`); files with different columns are read as their union, a file's missing
columns null. The point is `lon`/`lat`, or the columns the `exposureFields` map to lon and lat.
Inline `<asset>` elements give `id`, `taxonomy`, `number` and `area` (when an asset has them),
one column per cost type (`structural`: its value), one per occupancy period (`night`: its
occupants) and one per tag, declared or only found on assets, null for an asset without it.
`metadata` has the model's attributes, cost types, occupancy periods, tag names, field map and
the CSV files.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import posixpath
import zlib

from kinds import nrml
from kinds.base import FLOAT, TEXT, Column, Export, ExportFile, ParseError, Table

NAME = "exposure_model"
TITLE = "Exposure model"
OUTPUT_TYPES: tuple[str, ...] = ()  # a job's inputs only: claimed by role
GEOMETRY = "point"
FILTERABLE = ("taxonomy",)
ROLE = "exposure"


def claims(file: ExportFile, export: Export) -> bool:
    return export.roles.get(file.name) == ROLE and nrml.peek_root(file.data) == "nrml"


def header(data: bytes, file_name: str) -> dict:
    """What the XML says before its assets (the engine's Exposure.read_headers), as JSON."""
    root = nrml.parse(data, file_name=file_name)
    model = root.only("exposureModel")
    conversions = model.find("conversions")
    cost_nodes = conversions.find("costTypes") if conversions is not None else None
    cost_types = [{"name": node.attr("name", required=True), "type": node.attr("type"), "unit": node.attr("unit")}
                  for node in (cost_nodes.all("costType") if cost_nodes is not None else [])]
    field_nodes = model.find("exposureFields")
    fields = {node.attr("input", required=True): node.attr("oq", required=True)
              for node in (field_nodes.all("field") if field_nodes is not None else [])}
    tag_names = (model.child_text("tagNames") or "").split()
    if set(tag_names) & {"taxonomy", "exposure"}:
        raise model.find("tagNames").error("taxonomy and exposure are reserved names, not tags")
    assets = model.find("assets")
    if assets is None:
        raise model.error("<exposureModel> has no <assets>")
    inline = [child for child in assets.children if child.tag == "asset"]
    files = [] if inline else assets.text.split()
    return {"nrml_version": root.version, "attributes": dict(model.attrib), "cost_types": cost_types,
            "occupancy_periods": (model.child_text("occupancyPeriods") or "").split(), "tag_names": ["taxonomy", *tag_names],
            "fields": fields, "csv_files": files, "assets_line": assets.line, "_model": model, "_inline": inline}


def csv_paths(head: dict, xml_path: str) -> list[tuple[str, int]]:
    """The CSV files of the assets, relative to the archive root, with the line of <assets>."""
    from kinds.job_ini import resolve  # noqa: PLC0415

    base = posixpath.dirname(xml_path)
    return [(resolve(name, base, lambda m: ParseError(m, file_name=xml_path, line=head["assets_line"])), head["assets_line"])
            for name in head["csv_files"]]


def read(file: ExportFile, export: Export) -> Table:
    head = header(file.data, file.error_name)
    metadata = {key: value for key, value in head.items() if not key.startswith("_") and key != "assets_line"}
    reader = _inline if head["_inline"] else _from_csv
    columns, rows, nullable = reader(head, file, export)
    # Numbers an asset does not give are null, which the loader's fast path for points (every number
    # a float) does not write: such a table takes its general path, still of points.
    return Table(file.name, NAME, metadata, columns, "mixed" if nullable else GEOMETRY, data=file.data,
                 content_type="application/xml", _rows=rows)


def _declared(names: list, found: list) -> list:
    """The names declared first, then those only found, in the order found."""
    return list(dict.fromkeys([*names, *found]))


def _inline(head: dict, file: ExportFile, export: Export):
    assets = head["_inline"]
    tags = head["tag_names"][1:]

    def found(group, item, key):
        return [node.attr(key, required=True) for asset in assets if asset.find(group) is not None
                for node in asset.find(group).all(item)]

    # Every cost type and occupancy period an asset gives is a column, declared or not: the engine
    # takes occupancy periods the header leaves out (classical_risk/case_1's 'day').
    costs = _declared([cost["name"] for cost in head["cost_types"]], found("costs", "cost", "type"))
    periods = _declared(head["occupancy_periods"], found("occupancies", "occupancy", "period"))
    tags = _declared(tags, [name for asset in assets if asset.find("tags") is not None for name in asset.find("tags").attrib])
    # number and area are optional attributes: a column when any asset has it.
    optional = [name for name in ("number", "area") if any(name in asset.attrib for asset in assets)]
    names = ["id", "taxonomy", *optional, *costs, *periods, *tags]
    if len(set(names)) < len(names):
        raise ParseError(f"two asset fields have one name ({', '.join(names)})", file_name=file.error_name,
                         line=head["assets_line"])
    columns = [Column("id", "asset_id", dtype=TEXT), Column("taxonomy", "tag", dtype=TEXT)]
    columns += [Column(name, name) for name in optional]
    columns += [Column(name, "value") for name in costs] + [Column(name, "occupants") for name in periods]
    columns += [Column(name, "tag", dtype=TEXT) for name in tags]

    def rows():
        for asset in assets:
            location = asset.only("location")
            lon, lat = location.number("lon"), location.number("lat")
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise location.error(f"({lon}, {lat}) is not a longitude and latitude")
            values = {"id": asset.attr("id", required=True), "taxonomy": asset.attr("taxonomy", required=True),
                      **{name: asset.number(name, required=False) for name in optional}}
            for group, item, key, value in (("costs", "cost", "type", "value"), ("occupancies", "occupancy", "period", "occupants")):
                container = asset.find(group)
                for node in container.all(item) if container is not None else ():
                    values[node.attr(key)] = node.number(value)
            tag_node = asset.find("tags")
            values.update(tag_node.attrib if tag_node is not None else {})
            yield (lon, lat), tuple(values.get(column.name) for column in columns)

    nullable = any(values is None for _, row in rows() for values in row)
    return columns, rows, nullable


# What one CSV of assets may expand to, gzipped (the engine reads `.csv.gz` assets too).
MAX_GZIP_BYTES = 1 << 30


def _text(member: ExportFile) -> str:
    data = member.data
    if member.name.lower().endswith(".gz"):
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as unzipped:
                data = unzipped.read(MAX_GZIP_BYTES + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise ParseError(f"not a readable gzip ({exc})", file_name=member.error_name) from None
        if len(data) > MAX_GZIP_BYTES:
            raise ParseError(f"expands to more than {MAX_GZIP_BYTES} bytes", file_name=member.error_name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError("not UTF-8 text", file_name=member.error_name, line=data[: exc.start].count(b"\n") + 1) from None


def _from_csv(head: dict, file: ExportFile, export: Export):
    paths = csv_paths(head, file.name)
    if not paths:
        raise ParseError("<assets> is empty: no asset and no CSV file", file_name=file.error_name, line=head["assets_line"])
    inputs = {oq: name for name, oq in head["fields"].items()}
    lon_name, lat_name = inputs.get("lon", "lon"), inputs.get("lat", "lat")
    text_names = set(head["tag_names"]) | {"id"} | {name for name, oq in head["fields"].items() if oq in ("id", "taxonomy")}
    members = []
    for path, line in paths:
        member = export.file(path)
        if member is None:
            raise ParseError(f"the assets file {path!r} is not in the archive", file_name=file.error_name, line=line)
        cells = next(csv.reader(io.StringIO(_text(member))), None)
        if not cells:
            raise ParseError("empty assets file", file_name=member.error_name, line=1)
        for required in (lon_name, lat_name, inputs.get("id", "id"), inputs.get("taxonomy", "taxonomy")):
            if required not in cells:
                raise ParseError(f"no {required!r} column (the columns are {', '.join(cells)})", file_name=member.error_name, line=1)
        members.append((member, cells))
    # Several files may have different columns (event_based_risk/case_08): the union, in order,
    # each file's missing ones null.
    names = [name for name in dict.fromkeys(c for _, cells in members for c in cells) if name not in (lon_name, lat_name)]
    # A column the engine does not read as text is a number when every cell is one, else kept as
    # text (the engine reads an undeclared column as text and leaves it: 'SETTLEMENT': 'Rural').
    numeric = {name: name not in text_names for name in names}
    nullable = any(cells != members[0][1] for _, cells in members)
    for member, cells in members:
        reader = csv.reader(io.StringIO(_text(member)))
        next(reader)
        for row in reader:
            if not row or row == [""]:
                continue
            for name, cell in zip(cells, row):
                if numeric.get(name) and not _is_number(cell):
                    numeric[name] = False
    columns = [Column(name, "asset_id" if name == "id" else "tag" if name in text_names else name,
                      dtype=FLOAT if numeric[name] else TEXT) for name in names]

    def rows():
        for member, cells in members:
            lon_at, lat_at = cells.index(lon_name), cells.index(lat_name)
            positions = [cells.index(name) if name in cells else None for name in names]
            reader = csv.reader(io.StringIO(_text(member)))
            next(reader)
            for row in reader:
                line = reader.line_num
                if not row or row == [""]:
                    continue
                if len(row) != len(cells):
                    raise ParseError(f"expected {len(cells)} values, found {len(row)}", file_name=member.error_name, line=line)
                lon, lat = _number(row[lon_at], lon_name, member, line), _number(row[lat_at], lat_name, member, line)
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    raise ParseError(f"({lon}, {lat}) is not a longitude and latitude", file_name=member.error_name, line=line)
                yield (lon, lat), tuple(None if at is None else float(row[at]) if column.dtype == FLOAT else row[at]
                                        for at, column in zip(positions, columns))

    return columns, rows, nullable


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _number(text: str, column: str, member: ExportFile, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ParseError(f"column {column!r}: {text!r} is not a number", file_name=member.error_name, line=line) from None
    if not math.isfinite(value):
        raise ParseError(f"column {column!r}: {text!r} is not a finite number", file_name=member.error_name, line=line)
    return value
