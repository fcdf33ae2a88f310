"""The OpenAPI 3.0 definition of /ogc (conformance class oas30), as a plain dict."""

from __future__ import annotations

from ogc.documents import GEOJSON, JSON, OPENAPI


def _param(name: str, description: str, schema: dict, *, where: str = "query", required: bool = False, **extra) -> dict:
    return {"name": name, "in": where, "required": required, "description": description, "schema": schema, **extra}


def _json(description: str, media_type: str = JSON) -> dict:
    return {"description": description, "content": {media_type: {"schema": {"type": "object"}}}}


def _error(description: str) -> dict:
    return {"description": description, "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}}


# What icebox.api_errors answers, as for the rest of the API: JSON whatever the operation serves.
ERROR_SCHEMA = {
    "type": "object",
    "required": ["detail", "code"],
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
}
_ERRORS = {
    "400": _error("Invalid parameter"),
    # Also where no credentials are needed: a wrong token is refused before the view runs.
    "401": _error("No or invalid credentials (send Authorization: Token <key>)"),
    "406": _error("No acceptable representation (JSON only)"),
    "429": _error("Too many requests: wait for Retry-After seconds"),
    "500": _error("Server error (logged)"),
}
_NOT_FOUND = {"404": _error("Not found, or not yours")}


def openapi(*, server_url: str, default_limit: int, max_limit: int) -> dict:
    f = _param("f", "Output format: only JSON", {"type": "string", "enum": ["json"]})
    collection_id = _param("collectionId", "Artifact id", {"type": "string"}, where="path", required=True)
    feature_id = _param("featureId", "Row index of the site in the artifact's file", {"type": "string"}, where="path", required=True)
    items_parameters = [
        collection_id,
        _param("limit", "Page size", {"type": "integer", "minimum": 1, "maximum": max_limit, "default": default_limit}, style="form", explode=False),
        _param("offset", "Features to skip, in file order", {"type": "integer", "minimum": 0, "default": 0}),
        _param(
            "bbox",
            "minlon,minlat,maxlon,maxlat in CRS84 (minlon > maxlon crosses the antimeridian)",
            {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}},
            style="form",
            explode=False,
        ),
        _param("bbox-crs", "Only CRS84", {"type": "string", "format": "uri"}),
        _param("datetime", "Accepted; hazard results carry no time, so every site matches", {"type": "string"}),
        _param("properties", "Comma-separated data columns to return (default: all)", {"type": "array", "items": {"type": "string"}}, style="form", explode=False),
        f,
        _param(
            "filters",
            "Property filters (Part 1, 7.15.5): one parameter per filterable column of the collection, `event_id=3`; "
            "the columns are the collection's kind's filterable ones (an unknown one or a value of the wrong type is a 400)",
            {"type": "object", "additionalProperties": {"type": "string"}},
            style="form",
            explode=True,
        ),
    ]

    def get(summary: str, operation_id: str, parameters: list, ok: dict, *, public: bool = False) -> dict:
        op = {
            "summary": summary,
            "operationId": operation_id,
            "parameters": parameters,
            "responses": {"200": ok, **_ERRORS, **({} if public else _NOT_FOUND)},
        }
        if public:
            op["security"] = []
        return {"get": op}

    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Icebox OGC API - Features",
            "version": "1.0.0",
            "description": "Hazard results as OGC API Features collections; one collection per artifact of the authenticated user.",
        },
        "servers": [{"url": server_url}],
        "components": {"schemas": {"Error": ERROR_SCHEMA}, "securitySchemes": {"tokenAuth": {"type": "apiKey", "in": "header", "name": "Authorization", "description": "Token <key>"}}},
        "security": [{"tokenAuth": []}],
        "paths": {
            "/": get("Landing page", "getLandingPage", [f], _json("Links to the API"), public=True),
            "/conformance": get("Conformance classes", "getConformanceDeclaration", [f], _json("Conformance classes"), public=True),
            "/api": get("This document", "getAPIDefinition", [], _json("OpenAPI 3.0", OPENAPI), public=True),
            "/collections": get("Your artifacts", "getCollections", [f], _json("The collections")),
            "/collections/{collectionId}": get("One artifact", "describeCollection", [collection_id, f], _json("The collection")),
            "/collections/{collectionId}/items": get("Sites of an artifact", "getFeatures", items_parameters, _json("A FeatureCollection", GEOJSON)),
            "/collections/{collectionId}/items/{featureId}": get(
                "One site", "getFeature", [collection_id, feature_id, f], _json("A Feature", GEOJSON)
            ),
        },
    }
