"""Hazard at a site: the stored sites nearest a point, and every value a calculation has there.

The sites are found by one nearest-neighbour statement on the artifact's partition: its GiST
index yields the sites in order of `geom <-> point` (planar, in degrees), and of the first
CANDIDATES of those (and of the point's image across the antimeridian) PostGIS keeps the nearest
on the sphere (ST_DistanceSphere): a degree of longitude is shorter than a degree of latitude
away from the equator, so the planar first is not always the nearest. A calculation's sites are those of its largest hazard artifact (the engine writes
every output of a calc for the same sites, with the same lon/lat text), and the same statement
joins the features of every artifact at exactly those points (`~=`, the same index).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import connection

import kinds
from core.exceptions import InvalidParameter, NotFound
from geo import interpolation, site_values
from geo.models import READ_PLANNER, planner_for
from icebox.selectors import ReadableArtifact, readable_row

# Sites ordered by planar distance among which the spherical nearest is chosen.
CANDIDATES = 64
# Sites an interpolation weighs (within max_distance_km).
INTERPOLATION_SITES = 4
DEFAULT_MAX_DISTANCE_KM = 100.0
# Half the Earth's circumference: every point of the globe is within it.
MAX_DISTANCE_KM = 20_016.0

_POINT = "ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)"
# The partition key (geo.models.features_of) first: PostgreSQL plans on that one partition.
_KNN = "(SELECT idx, geom, properties FROM geo_feature WHERE part = %(part)s AND artifact_id = %(artifact)s ORDER BY geom <-> {point} LIMIT {limit})"
# The nearest `k` sites of one artifact within `metres`: idx, geom, m (metres on the sphere), props.
# Candidates come from both sides of the antimeridian: in degrees, a site at 179.99 is 359.98
# from a point at -179.99, on the sphere a kilometre or two; ST_DistanceSphere then decides.
_NEAREST = (
    "SELECT s.idx, s.geom, s.m, s.props FROM ("
    f" SELECT DISTINCT ON (c.idx) c.idx, c.geom, ST_DistanceSphere(c.geom, {_POINT}) AS m, c.properties AS props FROM ("
    + _KNN.format(point=_POINT, limit=CANDIDATES)
    + " UNION ALL "
    + _KNN.format(point="ST_SetSRID(ST_MakePoint(%(wrapped_lon)s, %(lat)s), 4326)", limit=CANDIDATES)
    + " ) AS c ORDER BY c.idx) AS s WHERE s.m <= %(metres)s ORDER BY s.m, s.idx LIMIT %(k)s"
)
ARTIFACT_SITE_SQL = (
    "SELECT n.idx, ST_X(n.geom), ST_Y(n.geom), n.m, n.props::text FROM (" + _NEAREST + ") AS n ORDER BY n.m, n.idx"
)
CALCULATION_SITE_SQL = (
    "SELECT n.idx, ST_X(n.geom), ST_Y(n.geom), n.m, f.artifact_id, f.properties::text FROM (" + _NEAREST + ") AS n"
    # Each artifact's rows at the site through its own partition's GiST index (the shared one leads
    # with artifact_id, which `= ANY` could not use): pruned to the artifacts' partitions when
    # planned, to the one of each artifact when run.
    " CROSS JOIN unnest(%(artifact_ids)s::bigint[], %(parts)s::bigint[]) AS v(artifact_id, part)"
    " JOIN geo_feature AS f ON f.part = ANY(%(parts)s) AND f.part = v.part AND f.artifact_id = v.artifact_id AND f.geom ~= n.geom"
    " ORDER BY n.m, n.idx, f.artifact_id"
)


@dataclass(frozen=True)
class Site:
    idx: int
    lon: float
    lat: float
    distance_km: float

    def as_dict(self) -> dict:
        return {"id": self.idx, "lon": self.lon, "lat": self.lat, "distance_km": self.distance_km}


def _query(sql: str, *, artifacts: list, **params) -> list[tuple]:
    # In autocommit the statements of one query string are one transaction: SET LOCAL holds for the SELECT.
    with connection.cursor() as cursor:
        cursor.execute(READ_PLANNER + planner_for(*artifacts) + sql, params)
        return cursor.fetchall()


def _params(*, artifact, lon: float, lat: float, max_distance_km: float, k: int) -> dict:
    wrapped_lon = lon - 360.0 if lon > 0 else lon + 360.0
    return {"artifact": artifact.pk, "part": artifact.feature_part, "lon": lon, "wrapped_lon": wrapped_lon, "lat": lat, "metres": max_distance_km * 1000.0, "k": k}


def _none_within(what: str, lon: float, lat: float, max_distance_km: float) -> NotFound:
    return NotFound(f"{what} has no site within {max_distance_km:g} km of lon {lon:g}, lat {lat:g} (max_distance_km)")


def artifact_site(readable: ReadableArtifact, *, lon: float, lat: float, max_distance_km: float = DEFAULT_MAX_DISTANCE_KM, interpolate: bool = False) -> dict:
    """The artifact's feature nearest the point (GeoJSON Feature with `distance_km`), or with
    `interpolate` the properties at the point itself from the sites around it."""
    artifact = readable_row(readable)
    if kinds.kind_named(artifact.artifact_type).GEOMETRY != "point":
        # A source model's or a rupture's lines and polygons have no site (ST_X of one fails).
        raise InvalidParameter(f"artifact {artifact.pk} is a {kinds.title(artifact.artifact_type).lower()}, not a map of sites: "
                               "/site answers for artifacts of points")
    k = INTERPOLATION_SITES if interpolate else 1
    rows = _query(ARTIFACT_SITE_SQL, artifacts=[artifact], **_params(artifact=artifact, lon=lon, lat=lat, max_distance_km=max_distance_km, k=k))
    if not rows:
        raise _none_within(f"artifact {artifact.pk}", lon, lat, max_distance_km)
    sites = [Site(idx, x, y, m / 1000.0) for idx, x, y, m, _ in rows]
    properties = [json.loads(props) for *_, props in rows]
    if not interpolate:
        site = sites[0]
        return {
            "type": "Feature",
            "id": site.idx,
            "geometry": {"type": "Point", "coordinates": [site.lon, site.lat]},
            "properties": properties[0],
            "artifact": artifact.pk,
            "distance_km": site.distance_km,
        }
    weights = interpolation.idw_weights([s.distance_km for s in sites])
    return {
        "type": "Feature",
        "id": None,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": interpolation.interpolate_properties(artifact.metadata.get("columns", []), properties, weights),
        "artifact": artifact.pk,
        "interpolation": _interpolation(sites, weights),
    }


HAZARD_KINDS = ("hazard_curve", "uhs", "hazard_map")
SITE_MODEL_KIND = "site_model"


def calculation_site(
    *,
    calculation_id: int,
    readables: list[ReadableArtifact],
    oqparam: dict | None,
    lon: float,
    lat: float,
    max_distance_km: float = DEFAULT_MAX_DISTANCE_KM,
    interpolate: bool = False,
) -> dict:
    """Every value the calculation's artifacts hold at the site nearest the point (curves, UHS,
    map values, site model), or with `interpolate` at the point itself: one statement."""
    # Only the hazard kinds answer here: a GMF, its mesh, assets or ruptures are not the calc's
    # hazard sites (a GMF stacks one feature per event on each site, so its "nearest sites" would
    # be one site many times over, and as the largest artifact it would have been chosen).
    artifacts = [a for a in (readable_row(r) for r in readables) if a.artifact_type in HAZARD_KINDS]
    if not artifacts:
        raise _none_within(f"calculation {calculation_id}", lon, lat, max_distance_km)
    sites_of = max(artifacts, key=lambda a: (a.feature_count, -a.pk))
    k = INTERPOLATION_SITES if interpolate else 1
    rows = _query(
        CALCULATION_SITE_SQL,
        artifacts=artifacts,
        artifact_ids=[a.pk for a in artifacts],
        parts=[a.feature_part for a in artifacts],
        **_params(artifact=sites_of, lon=lon, lat=lat, max_distance_km=max_distance_km, k=k),
    )
    if not rows:
        raise _none_within(f"calculation {calculation_id}", lon, lat, max_distance_km)
    sites: dict[int, Site] = {}
    values: dict[int, dict[int, dict]] = {}  # artifact id -> site idx -> properties
    for idx, x, y, m, artifact_id, props in rows:
        sites.setdefault(idx, Site(idx, x, y, m / 1000.0))
        values.setdefault(artifact_id, {})[idx] = json.loads(props)
    ordered = list(sites.values())
    body: dict = {"calculation": calculation_id, "point": {"lon": lon, "lat": lat}}
    if interpolate:
        weights = interpolation.idw_weights([s.distance_km for s in ordered])
        body["site"] = None
        body["interpolation"] = _interpolation(ordered, weights)
        at_point = {
            a.pk: interpolation.interpolate_properties(a.metadata.get("columns", []), [values[a.pk][s.idx] for s in ordered], weights)
            for a in artifacts
            # An artifact missing at one of the sites cannot be interpolated from all of them.
            if all(s.idx in values.get(a.pk, {}) for s in ordered)
        }
    else:
        site = ordered[0]
        at_point = {a.pk: values[a.pk][site.idx] for a in artifacts if site.idx in values.get(a.pk, {})}
        body["site"] = {**site.as_dict(), **_site_columns(at_point.values())}
    body.update(_sections(artifacts, at_point))
    body["site_model"] = _site_model(readables, oqparam, lon=lon, lat=lat, max_distance_km=max_distance_km)
    return body


def _site_model(readables: list[ReadableArtifact], oqparam: dict | None, *, lon: float, lat: float, max_distance_km: float) -> dict | None:
    """The site parameters the engine used at the point: the stored site model's site nearest it
    (the engine reads those, not the reference conditions, when a job has a site model), else the
    job's reference site conditions. Site parameters are not interpolated (vs30measured, geology
    are categories): the nearest site model site answers, also for an interpolated point."""
    models = sorted((r for r in readables if readable_row(r).artifact_type == SITE_MODEL_KIND), key=lambda r: r.pk)
    for readable in models:
        try:
            nearest = artifact_site(readable, lon=lon, lat=lat, max_distance_km=max_distance_km)
        except NotFound:
            continue
        lon_, lat_ = nearest["geometry"]["coordinates"]
        where = {"id": nearest["id"], "lon": lon_, "lat": lat_, "distance_km": nearest["distance_km"]}
        return {"source": "site model", "artifact": nearest["artifact"], "site": where, **nearest["properties"]}
    return site_values.site_model(oqparam)


def _site_columns(properties) -> dict:
    """custom_site_id and depth, from whichever artifact has them (hazard curves do)."""
    found = {"custom_site_id": None}
    for props in properties:
        for key in ("custom_site_id", "depth"):
            if key in props and found.get(key) is None:
                found[key] = props[key]
    return found


def _sections(artifacts: list, at_point: dict[int, dict]) -> dict:
    curves, spectra, maps = [], [], []
    for artifact in sorted(artifacts, key=lambda a: (a.file_name, a.pk)):
        if artifact.pk not in at_point:
            continue
        properties = at_point[artifact.pk]
        if artifact.artifact_type == "hazard_curve":
            curves.append(site_values.hazard_curve(artifact, properties))
        elif artifact.artifact_type == "uhs":
            spectra += site_values.uhs(artifact, properties)
        elif artifact.artifact_type == "hazard_map":
            maps.append(site_values.hazard_map(artifact, properties))
    return {"hazard_curves": curves, "uhs": spectra, "hazard_maps": maps}


def _interpolation(sites: list[Site], weights: list[float]) -> dict:
    return {
        "method": interpolation.METHOD,
        "sites": [{**s.as_dict(), "weight": w} for s, w in zip(sites, weights)],
    }
