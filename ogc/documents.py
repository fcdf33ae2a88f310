"""The JSON documents of OGC API - Features Part 1, as plain dicts.

No Django here: `url(name, **kwargs)` makes the absolute links, so the documents can be tested
without HTTP and the views stay thin.
"""

from __future__ import annotations

from typing import Callable

JSON = "application/json"
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]

Url = Callable[..., str]


def link(href: str, rel: str, type_: str, title: str | None = None) -> dict:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def landing(url: Url) -> dict:
    return {
        "title": "Icebox",
        "description": "OpenQuake Engine hazard results stored in Icebox: each artifact is a collection of sites.",
        "links": [
            link(url("ogc-landing"), "self", JSON, "This document"),
            link(url("ogc-api"), "service-desc", OPENAPI, "The API definition (OpenAPI 3.0)"),
            link(url("ogc-conformance"), "conformance", JSON, "Conformance classes implemented"),
            link(url("ogc-collections"), "data", JSON, "Your artifacts as feature collections"),
        ],
    }


def conformance() -> dict:
    return {"conformsTo": list(CONFORMANCE)}


def collection(url: Url, artifact) -> dict:
    """One artifact as a collection. `artifact` needs pk, name, artifact_type, file_name, feature_count, bbox."""
    cid = str(artifact.pk)
    doc = {
        "id": cid,
        "title": artifact.name,
        "description": f"{artifact.artifact_type} {artifact.file_name}: {artifact.feature_count} sites",
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            link(url("ogc-collection", collection_id=cid), "self", JSON, "This collection"),
            link(url("ogc-items", collection_id=cid), "items", GEOJSON, "The sites of this artifact"),
            link(url("artifact-tilejson", artifact_id=artifact.pk), "alternate", "application/vnd.mapbox.tile+json", "Vector tiles (TileJSON)"),
        ],
    }
    if artifact.bbox:
        doc["extent"] = {"spatial": {"bbox": [list(artifact.bbox)], "crs": CRS84}}
    return doc


def collections(url: Url, artifacts) -> dict:
    return {
        "links": [link(url("ogc-collections"), "self", JSON, "This document")],
        "collections": [collection(url, artifact) for artifact in artifacts],
    }


def items_trailer(*, self_href: str, next_href: str | None, collection_href: str, returned: int, matched: int | None) -> dict:
    """The members written after the streamed features of an items response."""
    links = [link(self_href, "self", GEOJSON, "This page"), link(collection_href, "collection", JSON, "The collection")]
    if next_href is not None:
        links.append(link(next_href, "next", GEOJSON, "The next page"))
    out = {"numberReturned": returned}
    if matched is not None:
        out["numberMatched"] = matched
    out["links"] = links
    return out
