"""Model instances read by SQL text built once per process, for the lookups every request makes.

Building and compiling a queryset costs about a millisecond of Python per request, more than the
index lookup it sends (PERF-NOTES.md, README "Performance"): on the path of every tile and
TileJSON (the token's user, the readable artifact) the statement is fixed text with bound
parameters, and its rows become model instances exactly as the ORM would make them.
"""

from __future__ import annotations

from django.db import connection


def select_list(model, alias: str) -> str:
    """Every concrete column of `model` under table alias `alias`, in field order (what `instance` reads)."""
    quote = connection.ops.quote_name
    return ", ".join(f"{quote(alias)}.{quote(field.column)}" for field in model._meta.concrete_fields)


def table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def instance(model, values):
    """A `model` instance from the values of `select_list(model, ...)`, converted as the ORM converts them (JSON text to objects, ...)."""
    fields = model._meta.concrete_fields
    converted = []
    for field, value in zip(fields, values):
        for converter in field.get_db_converters(connection):
            value = converter(value, None, connection)
        converted.append(value)
    return model.from_db(connection.alias, None, converted)
