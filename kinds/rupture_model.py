"""The rupture of a scenario (a job's `rupture_model_file`, NRML 0.4 or 0.5): its surface on the map.

    <simpleFaultRupture>
      <magnitude>6.5</magnitude> <rake>90</rake> <hypocenter lon="41.8677" lat="41.9635" depth="10"/>
      <simpleFaultGeometry> <gml:LineString><gml:posList>...</gml:posList></gml:LineString>
        <dip>45</dip> <upperSeismoDepth>5.5</upperSeismoDepth> <lowerSeismoDepth>14.5</lowerSeismoDepth>

Rows, each with the rupture's `rupture_type` (the element), `part`, `magnitude`, `rake`,
`hypocenter_lon`, `hypocenter_lat`, `hypocenter_depth`, `dip`, `upperSeismoDepth`,
`lowerSeismoDepth` (null where the surface has none), `strike` (planes), `depths` (JSON text):
a simple fault rupture's `trace` (LineString) and `surface_projection` (Polygon,
kinds/fault_geometry.py); a complex fault rupture's `edges` (MultiLineString); a single or
multi-plane rupture's `surface` (MultiPolygon of its planes, or the `profiles` of kite surfaces);
a gridded rupture's `points` (MultiPoint); the `hypocenter` (a point) always. A rupture given as CSV (the engine's ruptures
format) stays a file.
"""

from __future__ import annotations

import json

from kinds import fault_geometry, nrml
from kinds.base import FLOAT, TEXT, Column, Export, ExportFile, Table

NAME = "rupture_model"
TITLE = "Scenario rupture"
OUTPUT_TYPES: tuple[str, ...] = ()  # a job's inputs only: claimed by role
GEOMETRY = "mixed"
FILTERABLE = ("part",)
ROLE = "rupture_model"
RUPTURES = ("simpleFaultRupture", "complexFaultRupture", "singlePlaneRupture", "multiPlanesRupture", "griddedRupture")

_TEXT = ("rupture_type", "part")
_NUMBERS = ("magnitude", "rake", "hypocenter_lon", "hypocenter_lat", "hypocenter_depth", "dip", "strike",
            "upperSeismoDepth", "lowerSeismoDepth")
COLUMNS = ([Column(name, name, dtype=TEXT) for name in _TEXT] + [Column(name, name, dtype=FLOAT) for name in _NUMBERS]
           + [Column("depths", "depth", dtype=TEXT)])
NAMES = [column.name for column in COLUMNS]


def claims(file: ExportFile, export: Export) -> bool:
    return export.roles.get(file.name) == ROLE and nrml.peek_root(file.data) == "nrml"


def read(file: ExportFile, export: Export) -> Table:
    root = nrml.parse(file.data, file_name=file.error_name)
    candidates = [child for child in root.children if child.tag in RUPTURES]
    if len(candidates) != 1:
        raise root.error(f"expected one rupture ({', '.join(RUPTURES)}), found "
                         f"{', '.join(f'<{c.tag}>' for c in root.children) or 'nothing'}")
    rupture = candidates[0]
    hypocenter = rupture.only("hypocenter")
    values = dict.fromkeys(NAMES)
    values.update(rupture_type=rupture.tag, magnitude=rupture.child_value("magnitude"), rake=rupture.child_value("rake"),
                  hypocenter_lon=hypocenter.number("lon"), hypocenter_lat=hypocenter.number("lat"),
                  hypocenter_depth=hypocenter.number("depth"))
    drawn = fault_geometry.surface(rupture, rupture.children)
    if drawn["fault"] is not None:
        fault = drawn["fault"]
        values.update(dip=fault["dip"], upperSeismoDepth=fault["upperSeismoDepth"], lowerSeismoDepth=fault["lowerSeismoDepth"])
    planes = rupture.all("planarSurface")
    if len(planes) == 1:
        values.update(dip=planes[0].number("dip", required=False), strike=planes[0].number("strike", required=False))
    if drawn["depths"] is not None:
        values["depths"] = json.dumps(drawn["depths"])
    parts = list(drawn["parts"])
    lon, lat = values["hypocenter_lon"], values["hypocenter_lat"]
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise hypocenter.error(f"({lon}, {lat}) is not a longitude and latitude")
    parts.append(((lon, lat), "hypocenter"))
    rows = [(geometry, tuple({**values, "part": part}[name] for name in NAMES)) for geometry, part in parts]
    metadata = {"nrml_version": root.version, "rupture_type": rupture.tag, "magnitude": values["magnitude"],
                "rake": values["rake"], "hypocenter": [lon, lat, values["hypocenter_depth"]]}
    return Table(file.name, NAME, metadata, COLUMNS, GEOMETRY, data=file.data, content_type="application/xml",
                 _rows=lambda: iter(rows))
