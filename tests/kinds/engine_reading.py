"""Run by the REAL engine's Python (its own virtualenv), never imported by Icebox's tests.

    <engine venv>/bin/python tests/kinds/engine_reading.py <job.ini>...

Prints JSON: per job.ini (or zip of a job, which the engine unpacks itself), what the engine reads of it, through its own functions:
`params` (readinput.get_params, the file keys removed), `inputs` (its input types and absolute
paths), `files` (readinput.get_input_files: every file the job uses), `faults` (for every simple
fault geometry of its XML files: SimpleFaultSurface.get_surface_vertexes) and `assets` (the exposure's
assets, via readinput.get_exposure: id, lon, lat).
"""

import json
import os
import sys

from openquake.commonlib import readinput
from openquake.hazardlib import nrml
from openquake.hazardlib.geo import Line, Point
from openquake.hazardlib.geo.surface.simple_fault import SimpleFaultSurface


def _walk(node):
    yield node
    for child in node:
        yield from _walk(child)


def simple_faults(path):
    found = []
    for node in (n for n in _walk(nrml.read(path)) if n.tag.endswith("simpleFaultGeometry")):
        coords = [float(x) for x in (~node.LineString.posList)]
        trace = Line([Point(coords[i], coords[i + 1]) for i in range(0, len(coords), 2)])
        lons, lats = SimpleFaultSurface.get_surface_vertexes(trace, ~node.upperSeismoDepth, ~node.lowerSeismoDepth, ~node.dip)
        found.append({"vertices": [[float(lon), float(lat)] for lon, lat in zip(lons, lats)]})
    return found


def main(paths):
    out = {}
    for ini in paths:
        params = readinput.get_params(ini)
        inputs = params.pop("inputs")
        params.pop("base_path", None)
        oq = readinput.get_oqparam(ini)
        entry = {"params": params, "inputs": inputs, "files": sorted(readinput.get_input_files(oq))}
        files = entry["files"]
        entry["faults"] = {os.path.basename(path): simple_faults(path) for path in files if path.endswith(".xml")}
        if "exposure" in inputs:
            exposure = readinput.get_exposure(oq)
            entry["assets"] = [{"id": a["id"].decode(), "lon": float(a["lon"]), "lat": float(a["lat"]),
                                "value-structural": float(a["value-structural"]) if "value-structural" in a.dtype.names else None}
                               for a in exposure.assets]
        out[ini] = entry
    json.dump(out, sys.stdout, default=str)


if __name__ == "__main__":
    main(sys.argv[1:])
