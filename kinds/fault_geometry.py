"""The geometry of NRML surfaces (sources and ruptures), computed as hazardlib computes it.

- a simple fault's trace is the gml:LineString of its simpleFaultGeometry; its surface
  projection is the outline of the fault plane seen from above: each trace point moved
  `depth / tan(dip)` km at right angles to the strike (the azimuth from the first to the last
  trace point, plus 90°), for the upper and the lower seismogenic depth (hazardlib
  SimpleFaultSurface.get_surface_vertexes, spherical earth of radius 6371 km: geodetic.point_at);
  the polygon is the top edge forward and the bottom edge back. (hazardlib's own
  surface_projection_from_fault_data returns the convex hull of those same vertices, which
  equals this outline for a straight trace and covers the bend of a curved one.)
- a complex fault's edges are its top, intermediate and bottom edges (lon lat depth);
- a planar surface is its four corners, closed.
"""

from __future__ import annotations

import math

from kinds import nrml
from kinds.base import Shape

EARTH_RADIUS = 6371.0


def azimuth(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """geodetic.azimuth: degrees clockwise from north, from point 1 to point 2."""
    lon1, lat1, lon2, lat2 = map(math.radians, (lon1, lat1, lon2, lat2))
    cos_lat2 = math.cos(lat2)
    true_course = math.degrees(math.atan2(math.sin(lon1 - lon2) * cos_lat2,
                                          math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * cos_lat2 * math.cos(lon1 - lon2)))
    return (360 - true_course) % 360


def point_at(lon: float, lat: float, bearing: float, distance: float) -> tuple[float, float]:
    """geodetic.point_at: the point `distance` km from (lon, lat) along the great circle of azimuth `bearing`."""
    lon, lat = math.radians(lon), math.radians(lat)
    tc = math.radians(360 - bearing)
    sin_dists, cos_dists = math.sin(distance / EARTH_RADIUS), math.cos(distance / EARTH_RADIUS)
    sin_lat, cos_lat = math.sin(lat), math.cos(lat)
    sin_lats = sin_lat * cos_dists + cos_lat * sin_dists * math.cos(tc)
    lats = math.degrees(math.asin(sin_lats))
    dlon = math.atan2(math.sin(tc) * sin_dists * cos_lat, cos_dists - sin_lat * sin_lats)
    lons = math.degrees((lon - dlon + math.pi) % (2 * math.pi) - math.pi)
    return lons, lats


def simple_fault(node: nrml.Node) -> dict:
    """A simpleFaultGeometry: its trace, dip, depths and surface projection."""
    trace = nrml.positions(node.only("LineString").only("posList"), 2)
    if len(trace) < 2:
        raise node.error("a fault trace needs at least two points")
    dip = node.child_value("dip")
    upper, lower = node.child_value("upperSeismoDepth"), node.child_value("lowerSeismoDepth")
    if not 0 < dip <= 90:
        raise node.find("dip").error(f"dip {dip} is not in (0, 90]")
    if not 0 <= upper < lower:
        raise node.error(f"upperSeismoDepth {upper} must be at least 0 and less than lowerSeismoDepth {lower}")
    return {"trace": trace, "dip": dip, "upperSeismoDepth": upper, "lowerSeismoDepth": lower,
            "projection": surface_projection(trace, upper, lower, dip)}


def surface_projection(trace: list[tuple], upper: float, lower: float, dip: float) -> Shape:
    dip_tan = math.tan(math.radians(dip))
    top_distance, bottom_distance = upper / dip_tan, lower / dip_tan
    strike = azimuth(trace[0][0], trace[0][1], trace[-1][0], trace[-1][1])
    across = (strike + 90.0) % 360
    top = [point_at(lon, lat, across, top_distance) for lon, lat in trace]
    bottom = [point_at(lon, lat, across, bottom_distance) for lon, lat in trace]
    ring = top + bottom[::-1] + [top[0]]
    return Shape("Polygon", (tuple(ring),))


def complex_fault_edges(node: nrml.Node) -> list[list[tuple]]:
    """A complexFaultGeometry's edges, top to bottom, each a list of (lon, lat, depth)."""
    edges = []
    for child in node.children:
        if child.tag in ("faultTopEdge", "intermediateEdge", "faultBottomEdge"):
            edge = nrml.positions(child.only("LineString").only("posList"), 3)
            if len(edge) < 2:
                raise child.error(f"<{child.tag}> needs at least two points")
            edges.append(edge)
    if node.find("faultTopEdge") is None or node.find("faultBottomEdge") is None:
        raise node.error("a complex fault needs a <faultTopEdge> and a <faultBottomEdge>")
    return edges


def planar(node: nrml.Node) -> list[tuple]:
    """A planarSurface (or a rupture's plane): its corners topLeft, topRight, bottomRight, bottomLeft, closed."""
    corners = []
    for name in ("topLeft", "topRight", "bottomRight", "bottomLeft"):
        corner = node.only(name)
        lon, lat, depth = corner.number("lon"), corner.number("lat"), corner.number("depth")
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise corner.error(f"({lon}, {lat}) is not a longitude and latitude")
        corners.append((lon, lat, depth))
    return corners + [corners[0]]


def lines_2d(edges: list[list[tuple]]) -> Shape:
    return Shape("MultiLineString", tuple(tuple((p[0], p[1]) for p in edge) for edge in edges))


def polygons_2d(rings: list[list[tuple]]) -> Shape:
    return Shape("MultiPolygon", tuple(((tuple((p[0], p[1]) for p in ring)),) for ring in rings))


SURFACES = ("planarSurface", "simpleFaultGeometry", "complexFaultGeometry", "kiteSurface", "griddedSurface")


def surface(owner: nrml.Node, children: list[nrml.Node]) -> dict:
    """What a surface is drawn as (a characteristic source's <surface>, a rupture's, a section's):

    {'parts': [(geometry, part)], 'depths': the depths beside the 2D geometry (JSON-able) or None,
     'fault': simple_fault()'s dict for a simple fault, else None}. Planar surfaces are a
    MultiPolygon ('surface'); a simple fault its 'trace' and 'surface_projection'; a complex fault
    its 'edges'; kite surfaces their 'profiles' (MultiLineString); a gridded surface its 'points'.
    """
    tags = {child.tag for child in children if child.tag in SURFACES}
    if len(tags) != 1:
        raise owner.error(f"a surface of {', '.join(sorted(tags)) or 'nothing'} (expected one of {', '.join(SURFACES)})")
    (tag,) = tags
    nodes = [child for child in children if child.tag == tag]
    if tag == "planarSurface":
        rings = [planar(node) for node in nodes]
        return {"parts": [(polygons_2d(rings), "surface")], "depths": [[p[2] for p in ring] for ring in rings], "fault": None}
    if len(nodes) != 1 and tag != "kiteSurface":
        raise owner.error(f"{len(nodes)} <{tag}> in one surface (expected one)")
    if tag == "simpleFaultGeometry":
        fault = simple_fault(nodes[0])
        return {"parts": [(Shape("LineString", tuple(fault["trace"])), "trace"), (fault["projection"], "surface_projection")],
                "depths": None, "fault": fault}
    if tag == "complexFaultGeometry":
        edges = complex_fault_edges(nodes[0])
        return {"parts": [(lines_2d(edges), "edges")], "depths": [[p[2] for p in edge] for edge in edges], "fault": None}
    if tag == "kiteSurface":
        profiles = [nrml.positions(profile.only("LineString").only("posList"), 3) for node in nodes for profile in node.all("profile")]
        if not profiles:
            raise nodes[0].error("a <kiteSurface> needs profiles")
        return {"parts": [(lines_2d(profiles), "profiles")], "depths": [[p[2] for p in profile] for profile in profiles],
                "fault": None}
    points = nrml.positions(nodes[0].only("posList"), 3)
    return {"parts": [(Shape("MultiPoint", tuple((p[0], p[1]) for p in points)), "points")], "depths": [p[2] for p in points],
            "fault": None}
