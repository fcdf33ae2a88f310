"""Equality filters on an artifact's columns: `?event_id=3&loss_type=structural`.

A kind declares the columns a client may filter on (`FILTERABLE`, kinds/base.py); of those, the
ones an artifact's file has are its filterable columns, each with the type it was read as
(`dtype` in `metadata.columns`). A filter is a query parameter named like one of them; every other
parameter an endpoint does not take is refused, so that a misspelt column (`?eventid=3`) is a 400
rather than the whole map. A value is read by the column's type: `event_id=3` is the integer 3,
`event_id=3.0` or `event_id=x` a 400, `loss_type=structural` the text.

A filter is a condition on the row's JSON properties, `properties -> 'event_id' = '3'::jsonb`, the
expression the loader indexes on every filterable column of an artifact's own partition
(`index_statements`), so one event of a million-row GMF is an index scan, not a scan of the map.
"""

from __future__ import annotations

import math
import re
from typing import Iterable, Mapping

from django.db.models import JSONField, QuerySet, Value
from django.db.models.fields.json import KeyTransform

import kinds
from core.exceptions import InvalidParameter

FLOAT, INT, TEXT, BOOL = "float", "int", "text", "bool"

_INT_RE = re.compile(r"[+-]?[0-9]{1,30}")
_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_MAX_VALUE_CHARS = 1000


def filterable_columns(metadata: Mapping, names: Iterable[str]) -> dict[str, str]:
    """{column: dtype} of the `names` (a kind's FILTERABLE) that the artifact has, in file order."""
    wanted = set(names)
    columns = {}
    for column in metadata.get("columns", []):
        if column["name"] in wanted:
            columns[column["name"]] = column.get("dtype") or (TEXT if column.get("is_text") else FLOAT)
    return columns


def parse_filters(params, *, filterable: Mapping[str, str], accepted: Iterable[str]) -> dict[str, object]:
    """The equality filters of a query: {column: value}, each value of its column's type.

    `params` is a QueryDict (or a mapping of lists); `accepted` the endpoint's own parameters.
    Any other parameter must be a filterable column, given once, with a value of its type.
    """
    accepted = set(accepted)
    filters: dict[str, object] = {}
    for name in _names(params):
        if name in accepted:
            continue
        if name not in filterable:
            raise InvalidParameter(_unknown_message(name, filterable, accepted))
        values = params.getlist(name) if hasattr(params, "getlist") else list(params[name])
        if len(values) != 1:
            raise InvalidParameter(f"{name} is given {len(values)} times: give one value per column")
        filters[name] = parse_value(name, values[0], filterable[name])
    return filters


def parse_value(name: str, text: str, dtype: str):
    if len(text) > _MAX_VALUE_CHARS:
        raise InvalidParameter(f"{name}: a value of {len(text)} characters; at most {_MAX_VALUE_CHARS}")
    if dtype == INT:
        if not _INT_RE.fullmatch(text):
            raise InvalidParameter(f"{name} is an integer column: {name}= takes an integer in ASCII digits, got {text!r}")
        return int(text)
    if dtype == FLOAT:
        if not _DECIMAL_RE.fullmatch(text) or not math.isfinite(float(text)):
            raise InvalidParameter(f"{name} is a number column: {name}= takes a decimal number in ASCII digits, got {text!r}")
        return float(text)
    if dtype == BOOL:
        if text not in ("true", "false"):
            raise InvalidParameter(f"{name} is a true/false column: {name}= takes true or false, got {text!r}")
        return text == "true"
    return text


def filter_features(features: QuerySet, filters: Mapping[str, object] | None) -> QuerySet:
    """`features` whose properties hold each filter's value, compared as JSON (3 is not "3")."""
    for position, (name, value) in enumerate((filters or {}).items()):
        alias = f"filter_{position}"
        # `properties -> 'name' = 'value'::jsonb`: the indexed expression, compared as jsonb.
        features = features.alias(**{alias: KeyTransform(name, "properties")}).filter(**{alias: Value(value, output_field=JSONField())})
    return features


def index_statements(*, table: str, index_prefix: str, columns: Iterable[str], quote_name) -> list[tuple[str, list]]:
    """CREATE INDEX statements, one per filterable column, on an artifact's own partition.

    The key is bound as a parameter of the expression; PostgreSQL stores it as the literal the
    ORM's `properties -> 'event_id'` compiles to, so the planner matches one to the other.
    """
    statements = []
    for position, column in enumerate(columns):
        name = quote_name(f"{index_prefix}_f{position}")
        statements.append((f"CREATE INDEX {name} ON {table} ((properties -> %s))", [column]))
    return statements


def _names(params) -> list[str]:
    return list(params.keys())


def _unknown_message(name: str, filterable: Mapping[str, str], accepted: set[str]) -> str:
    takes = ", ".join(sorted(accepted))
    if filterable:
        columns = ", ".join(f"{column} ({dtype})" for column, dtype in filterable.items())
        return f"unknown parameter or filter column {name!r}: this endpoint takes {takes}, and filters on {columns}"
    return f"unknown parameter {name!r}: this endpoint takes {takes}; this artifact has no filterable column"


def kind_filterable(artifact_type: str) -> tuple[str, ...]:
    """The FILTERABLE columns of the kind named `artifact_type` (none for a kind without any)."""
    try:
        kind = kinds.kind_named(artifact_type)
    except (AttributeError, KeyError):
        return ()  # an artifact type no kind reads any more: nothing to filter on
    return tuple(kind.FILTERABLE)


def artifact_filterable(artifact) -> dict[str, str]:
    """{column: dtype} an artifact may be filtered on: its kind's FILTERABLE columns that its file has."""
    return filterable_columns(artifact.metadata, kind_filterable(artifact.artifact_type))
