"""Seismic source models of a job's inputs (NRML 0.4 and 0.5 `sourceModel`), their sources on the map.

One row per source and drawn part, every attribute under its NRML name:

| source (NRML element, engine code) | rows: `part` and geometry |
|---|---|
| `pointSource` (P) | `point`: the point |
| `multiPointSource` (M) | `points`: a MultiPoint |
| `areaSource` (A) | `area`: the polygon (closed) |
| `simpleFaultSource` (S) | `trace`: the fault trace (LineString); `surface_projection`: the fault plane seen from above (Polygon, from dip and seismogenic depths, kinds/fault_geometry.py) |
| `complexFaultSource` (C) | `edges`: top, intermediate and bottom edges (MultiLineString; depths in `edges_depths`) |
| `characteristicFaultSource` (X) | `surface`: planar surfaces (MultiPolygon), or a simple fault's `trace` and `surface_projection`, or a complex fault's `edges` (kinds/fault_geometry.py `surface`) |
| `kiteFaultSource` (K) | `profiles` (MultiLineString), or a simple fault's `trace` and `surface_projection` |
| `nonParametricSeismicSource` (N), `multiFaultSource` (F) | `none`: no geometry of their own here (a row, so that every source is counted) |
| a `geometryModel`'s `section` (the sections of multi-fault sources), `source_type` `section` | its surface, drawn as a characteristic source's |

A characteristic source's surface may also be a gridded surface (`points`: MultiPoint) or kite
surfaces (`profiles`); depths beside a 2D geometry are in `edges_depths`.

Columns: `id`, `name`, `source_type` (the element), `code` (the engine's letter), `part`,
`sourceGroup` (0.5: the group's name), `tectonicRegion` (the source's, else its group's),
`magScaleRel`, `ruptAspectRatio`, `upperSeismoDepth`, `lowerSeismoDepth`, `dip`, `rake`
(numbers, null where the source has none), `mfd` (the MFD element: `truncGutenbergRichterMFD`,
`incrementalMFD`, ...), `aValue`, `bValue`, `minMag`, `maxMag`, `binWidth` (numbers where the MFD
has them), and as JSON text: `mfd_params` (the MFD's every attribute and child: `occurRates`...),
`nodalPlaneDist` ([{probability, strike, dip, rake}]), `hypoDepthDist` ([{probability, depth}]),
`aspectRatioFunction`, `hypoList`, `slipList`, `edges_depths`. Claimed in a job's inputs (role
`source_model`, from the source model logic tree).
"""

from __future__ import annotations

import json

from kinds import fault_geometry, nrml
from kinds.base import TEXT, Column, Export, ExportFile, Shape, Table

NAME = "source_model"
TITLE = "Seismic source model"
OUTPUT_TYPES: tuple[str, ...] = ()  # a job's inputs only: claimed by role
GEOMETRY = "mixed"
FILTERABLE = ("id", "source_type", "tectonicRegion", "part")
ROLE = "source_model"

CODES = {"pointSource": "P", "multiPointSource": "M", "areaSource": "A", "simpleFaultSource": "S",
         "complexFaultSource": "C", "characteristicFaultSource": "X", "kiteFaultSource": "K",
         "nonParametricSeismicSource": "N", "multiFaultSource": "F"}
MFDS = ("incrementalMFD", "truncGutenbergRichterMFD", "arbitraryMFD", "YoungsCoppersmithMFD", "multiMFD",
        "taperedGutenbergRichterMFD", "alternativeCharacteristicMFD")
MFD_NUMBERS = ("aValue", "bValue", "minMag", "maxMag", "binWidth")
_TEXT = ("id", "name", "source_type", "code", "part", "sourceGroup", "tectonicRegion", "magScaleRel")
_NUMBERS = ("ruptAspectRatio", "upperSeismoDepth", "lowerSeismoDepth", "dip", "rake")
_JSON = ("mfd_params", "nodalPlaneDist", "hypoDepthDist", "aspectRatioFunction", "hypoList", "slipList", "edges_depths")
QUANTITIES = {"id": "source_id", "tectonicRegion": "tectonic_region_type", "upperSeismoDepth": "depth",
              "lowerSeismoDepth": "depth", "minMag": "magnitude", "maxMag": "magnitude"}
COLUMNS = ([Column(name, QUANTITIES.get(name, name), dtype=TEXT) for name in _TEXT]
           + [Column(name, QUANTITIES.get(name, name)) for name in _NUMBERS]
           + [Column("mfd", "mfd", dtype=TEXT)] + [Column(name, QUANTITIES.get(name, name)) for name in MFD_NUMBERS]
           + [Column(name, name, dtype=TEXT) for name in _JSON])
NAMES = [column.name for column in COLUMNS]


def claims(file: ExportFile, export: Export) -> bool:
    return export.roles.get(file.name) == ROLE


def read(file: ExportFile, export: Export) -> Table:
    root = nrml.parse(file.data, file_name=file.error_name)
    if root.find("geometryModel") is not None and root.find("sourceModel") is None:
        return _geometry_model(file, root)
    model = root.only("sourceModel")
    groups = []
    rows: list = []
    ids: dict[str, str] = {}  # source id -> its element
    if root.version == "0.5" or any(child.tag == "sourceGroup" for child in model.children):
        for index, group in enumerate(model.children):
            if group.tag != "sourceGroup":
                raise group.error(f"<{group.tag}> in an NRML 0.5 <sourceModel> (expected <sourceGroup>)")
            groups.append({**group.attrib, "name": group.attr("name", str(index)), "sources": len(group.children)})
            for source in group.children:
                rows.extend(_source(source, group.attr("name", str(index)), group.attr("tectonicRegion"), ids))
    else:
        for source in model.children:
            rows.extend(_source(source, "", None, ids))
    counts: dict[str, int] = {}
    for source_type in ids.values():
        counts[source_type] = counts.get(source_type, 0) + 1
    metadata = {"nrml_version": root.version, "source_model": dict(model.attrib), "source_groups": groups,
                "sources": len(ids), "source_types": counts}
    return Table(file.name, NAME, metadata, COLUMNS, GEOMETRY, data=file.data, content_type="application/xml",
                 _rows=lambda: iter(rows))


def _geometry_model(file: ExportFile, root: nrml.Node) -> Table:
    """The fault sections multi-fault sources are made of (a logic tree's `geometryModel` file)."""
    model = root.only("geometryModel")
    rows, ids = [], set()
    for section in model.all("section"):
        section_id = section.attr("id", required=True)
        if section_id in ids:
            raise section.error(f"section id {section_id!r} is given twice")
        ids.add(section_id)
        values = dict.fromkeys(NAMES)
        values.update(id=section_id, name=section.attr("name"), source_type="section", sourceGroup="")
        parts = _surface(section, section.children, values)
        rows.extend((geometry, tuple({**values, **extra}[name] for name in NAMES)) for geometry, extra in parts)
    metadata = {"nrml_version": root.version, "geometry_model": dict(model.attrib), "sections": len(ids)}
    return Table(file.name, NAME, metadata, COLUMNS, GEOMETRY, data=file.data, content_type="application/xml",
                 _rows=lambda: iter(rows))


def _source(node: nrml.Node, group: str, group_trt: str | None, ids: dict) -> list:
    code = CODES.get(node.tag)
    if code is None:
        raise node.error(f"<{node.tag}> is not a seismic source ({', '.join(CODES)})")
    source_id = node.attr("id", required=True)
    if source_id in ids:
        raise node.error(f"source id {source_id!r} is given twice")
    ids[source_id] = node.tag
    values = dict.fromkeys(NAMES)
    values.update(id=source_id, name=node.attr("name", required=True), source_type=node.tag, code=code,
                  sourceGroup=group, tectonicRegion=node.attr("tectonicRegion") or group_trt)
    values["magScaleRel"] = node.child_text("magScaleRel")
    values["ruptAspectRatio"] = node.child_value("ruptAspectRatio", required=False)
    values["rake"] = node.child_value("rake", required=False)
    function = node.find("aspectRatioFunction")
    values["aspectRatioFunction"] = _json(nrml.element_dict(function)) if function is not None else None
    mfd = next((child for child in node.children if child.tag in MFDS), None)
    if mfd is not None:
        values["mfd"] = mfd.tag
        for name in MFD_NUMBERS:
            values[name] = mfd.number(name, required=False)
        values["mfd_params"] = _json(nrml.element_dict(mfd))
    elif code not in ("N", "F"):
        raise node.error(f"source {source_id!r} has no magnitude-frequency distribution ({', '.join(MFDS)})")
    planes = node.find("nodalPlaneDist")
    if planes is not None:
        values["nodalPlaneDist"] = _json([{"probability": plane.number("probability"), "strike": plane.number("strike"),
                                           "dip": plane.number("dip"), "rake": plane.number("rake")}
                                          for plane in planes.all("nodalPlane")])
    depths = node.find("hypoDepthDist")
    if depths is not None:
        values["hypoDepthDist"] = _json([{"probability": depth.number("probability"), "depth": depth.number("depth")}
                                         for depth in depths.all("hypoDepth")])
    for name in ("hypoList", "slipList"):
        child = node.find(name)
        if child is not None:
            values[name] = _json([{**{k: nrml.number_or_text(v) for k, v in item.attrib.items()},
                                   **({"value": nrml.number_or_text(item.text.strip())} if item.text.strip() else {})}
                                  for item in child.children])
    parts = _parts(node, code, values)  # fills in the depths and the dip first
    return [(geometry, tuple({**values, **extra}[name] for name in NAMES)) for geometry, extra in parts]


def _parts(node: nrml.Node, code: str, values: dict) -> list:
    """[(geometry, {column: value, 'part': ...})] for one source; values gets the depths and dip."""
    if code == "P":
        geometry = node.only("pointGeometry")
        _depths(geometry, values)
        (point,) = nrml.positions(geometry.only("Point").only("pos"), 2) or [None]
        return [(point, {"part": "point"})]
    if code == "M":
        geometry = node.only("multiPointGeometry")
        _depths(geometry, values)
        points = nrml.positions(geometry.only("posList"), 2)
        return [(Shape("MultiPoint", tuple(points)), {"part": "points"})]
    if code == "A":
        geometry = node.only("areaGeometry")
        _depths(geometry, values)
        ring_node = geometry.only("Polygon").only("exterior").only("LinearRing").only("posList")
        ring = nrml.positions(ring_node, 2)
        if ring[0] != ring[-1]:
            ring = ring + [ring[0]]
        if len(set(ring)) < 3:
            raise ring_node.error("an area needs at least three distinct points")
        return [(Shape("Polygon", (tuple(ring),)), {"part": "area"})]
    if code == "S":
        return _surface(node, [node.only("simpleFaultGeometry")], values)
    if code == "C":
        return _surface(node, [node.only("complexFaultGeometry")], values)
    if code == "X":
        return _surface(node, node.only("surface").children, values)
    if code == "K":
        # A kite fault is given by its profiles, or by a simple fault's trace and depths
        # (classical/case_61), which the engine turns into profiles.
        return _surface(node, [child for child in node.children if child.tag in ("kiteSurface", "simpleFaultGeometry")], values)
    return [(None, {"part": "none"})]


def _depths(geometry: nrml.Node, values: dict) -> None:
    values["upperSeismoDepth"] = geometry.child_value("upperSeismoDepth")
    values["lowerSeismoDepth"] = geometry.child_value("lowerSeismoDepth")
    # A negative upper depth is above sea level, which the engine takes (classical/case_25).
    if values["upperSeismoDepth"] > values["lowerSeismoDepth"]:
        raise geometry.error(f"upperSeismoDepth {values['upperSeismoDepth']} is below lowerSeismoDepth "
                             f"{values['lowerSeismoDepth']}")


def _surface(node: nrml.Node, children: list, values: dict) -> list:
    drawn = fault_geometry.surface(node, children)
    if drawn["fault"] is not None:
        fault = drawn["fault"]
        values.update(dip=fault["dip"], upperSeismoDepth=fault["upperSeismoDepth"], lowerSeismoDepth=fault["lowerSeismoDepth"])
    if drawn["depths"] is not None:
        values["edges_depths"] = _json(drawn["depths"])
    return [(geometry, {"part": part}) for geometry, part in drawn["parts"]]


def _json(value) -> str:
    return json.dumps(value, separators=(",", ":"))
