"""Exposure models of a job's inputs: the NRML `exposureModel`, its assets inline or in the CSV files it names.

    <exposureModel id="exposure" category="buildings" taxonomySource="GEM taxonomy">
      <conversions><costTypes><costType name="structural" type="aggregated" unit="USD"/></costTypes></conversions>
      <exposureFields><field oq="structural" input="total_repl_value"/></exposureFields>
      <occupancyPeriods>night</occupancyPeriods>
      <tagNames>NAME_1</tagNames>
      <assets>OQ_exposure_model.csv</assets>          (or <asset> elements)

One point per asset. From CSV files (relative to the XML, read from the same archive), every column
under its CSV name: `id`, `taxonomy` and the tags as text, every other column a number, as the
engine's asset reader types them (risklib/asset.py: strfields are the tags and id); the point is
`lon`/`lat`, or the columns the `exposureFields` map to lon and lat. Inline `<asset>` elements give
`id`, `taxonomy`, `number` and `area` (when every asset has them), one column per cost type
(`structural`: its value, null for an asset without it), one per occupancy period (`night`: its
occupants) and one per tag. `metadata` has the model's attributes,
cost types, occupancy periods, tag names, field map and the CSV files.
"""

from __future__ import annotations

import csv
import io
import math
import posixpath

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
    if head["_inline"]:
        # Inline assets may lack a number (a cost): null, which the loader's fast path for points
        # (every number a float) does not write; their rows take its general path. Still points.
        columns, rows = _inline(head)
        geometry = "mixed"
    else:
        columns, rows = _from_csv(head, file, export)
        geometry = GEOMETRY
    return Table(file.name, NAME, metadata, columns, geometry, data=file.data, content_type="application/xml", _rows=rows)


def _inline(head: dict):
    assets = head["_inline"]
    costs = [cost["name"] for cost in head["cost_types"]]
    periods = list(head["occupancy_periods"])
    tags = head["tag_names"][1:]
    # number and area are optional attributes: a column when every asset has it.
    optional = [name for name in ("number", "area") if all(name in asset.attrib for asset in assets)]
    names = ["id", "taxonomy", *optional, *costs, *periods, *tags]
    columns = [Column("id", "asset_id", dtype=TEXT), Column("taxonomy", "tag", dtype=TEXT)]
    columns += [Column(name, name) for name in optional]
    columns += [Column(name, "value") for name in costs] + [Column(name, "occupants") for name in periods]
    columns += [Column(name, "tag", dtype=TEXT) for name in tags]
    if len(set(names)) < len(names):
        raise ParseError("two asset fields have one name", file_name=assets[0].file_name, line=head["assets_line"])

    def rows():
        for asset in assets:
            location = asset.only("location")
            lon, lat = location.number("lon"), location.number("lat")
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise location.error(f"({lon}, {lat}) is not a longitude and latitude")
            values = {"id": asset.attr("id", required=True), "taxonomy": asset.attr("taxonomy", required=True),
                      **{name: asset.number(name) for name in optional}}
            for group, item, key, value in (("costs", "cost", "type", "value"), ("occupancies", "occupancy", "period", "occupants")):
                container = asset.find(group)
                for node in container.all(item) if container is not None else ():
                    name = node.attr(key, required=True)
                    if name not in names:
                        raise node.error(f"{key} {name!r} is not declared in the exposure's header")
                    values[name] = node.number(value)
            tag_node = asset.find("tags")
            for name, text in (tag_node.attrib.items() if tag_node is not None else ()):
                if name not in tags:
                    raise tag_node.error(f"tag {name!r} is not in <tagNames>")
                values[name] = text
            # A cost or occupancy the asset does not give is null (the engine's ignore_missing_costs
            # drops such assets, or refuses them, when it runs the job).
            yield (lon, lat), tuple(values.get(column.name) for column in columns)

    return columns, rows


def _from_csv(head: dict, file: ExportFile, export: Export):
    paths = csv_paths(head, file.name)
    if not paths:
        raise ParseError("<assets> is empty: no asset and no CSV file", file_name=file.error_name, line=head["assets_line"])
    inputs = {oq: name for name, oq in head["fields"].items()}
    lon_name, lat_name = inputs.get("lon", "lon"), inputs.get("lat", "lat")
    text_names = set(head["tag_names"]) | {"id"} | {name for name, oq in head["fields"].items() if oq in ("id", "taxonomy")}
    headers = []
    for path, line in paths:
        member = export.file(path)
        if member is None:
            raise ParseError(f"the assets file {path!r} is not in the archive", file_name=file.error_name, line=line)
        text = _decode(member)
        reader = csv.reader(io.StringIO(text))
        cells = next(reader, None)
        if not cells:
            raise ParseError("empty assets file", file_name=member.error_name, line=1)
        for required in (lon_name, lat_name, inputs.get("id", "id"), inputs.get("taxonomy", "taxonomy")):
            if required not in cells:
                raise ParseError(f"no {required!r} column (the columns are {', '.join(cells)})", file_name=member.error_name, line=1)
        headers.append((member, cells))
    first = headers[0][1]
    for member, cells in headers[1:]:
        if cells != first:
            raise ParseError(f"its columns differ from those of {headers[0][0].name}", file_name=member.error_name, line=1)
    keep = [name for name in first if name not in (lon_name, lat_name)]
    columns = [Column(name, "asset_id" if name == "id" else "tag" if name in text_names else name,
                      dtype=TEXT if name in text_names else FLOAT) for name in keep]
    lon_at, lat_at = first.index(lon_name), first.index(lat_name)
    positions = [first.index(name) for name in keep]

    def rows():
        for member, _cells in headers:
            reader = csv.reader(io.StringIO(_decode(member)))
            next(reader)
            for row in reader:
                line = reader.line_num
                if not row or row == [""]:
                    continue
                if len(row) != len(first):
                    raise ParseError(f"expected {len(first)} values, found {len(row)}", file_name=member.error_name, line=line)
                lon, lat = _number(row[lon_at], lon_name, member, line), _number(row[lat_at], lat_name, member, line)
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    raise ParseError(f"({lon}, {lat}) is not a longitude and latitude", file_name=member.error_name, line=line)
                yield (lon, lat), tuple(row[i] if column.dtype == TEXT else _number(row[i], column.name, member, line)
                                        for i, column in zip(positions, columns))

    return columns, rows


def _decode(member: ExportFile) -> str:
    try:
        return member.data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError("not UTF-8 text", file_name=member.error_name, line=member.data[: exc.start].count(b"\n") + 1) from None


def _number(text: str, column: str, member: ExportFile, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ParseError(f"column {column!r}: {text!r} is not a number", file_name=member.error_name, line=line) from None
    if not math.isfinite(value):
        raise ParseError(f"column {column!r}: {text!r} is not a finite number", file_name=member.error_name, line=line)
    return value
