"""Who may read what: the conditions every read of an artifact or a calculation is filtered by.

Each is a condition to put inside the caller's own queryset, so that the access check is part of
the one statement that fetches the rows: a row the user may not read is never fetched, and an id
that is not readable is exactly as absent as a missing one. The shared part is correlated EXISTS
over the share table's target-led unique indexes, so a lookup by id (every map read) stays a few
index probes whatever the number of artifacts and shares.

It is written as SQL rather than built with `Exists(...)` querysets: building and compiling
those costs about 1.5 ms of Python per request, five times the whole lookup, on the path every
vector tile takes. The SQL is fixed text; the user's id travels as a bound parameter.
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import BooleanField, Expression, Q, QuerySet

from core.exceptions import InvalidParameter, NotFound
from sharing.models import Share

_SHARED_VALUES = {"true": True, "false": False}

# A share row `s` whose grantee is the user: directly, through one of their groups, or everyone.
_GRANTED = '(s."user_id" = %s OR s."everyone" OR s."group_id" IN (SELECT ug."group_id" FROM {memberships} ug WHERE ug."user_id" = %s))'

_ARTIFACT_SHARED = (
    'EXISTS (SELECT 1 FROM {share} s WHERE s."artifact_id" = {row}."id" AND ' + _GRANTED + ")"
    ' OR EXISTS (SELECT 1 FROM {share} s JOIN {output} io ON io."calculation_id" = s."calculation_id"'
    ' WHERE io."artifact_id" = {row}."id" AND ' + _GRANTED + ")"
)
_CALCULATION_SHARED = 'EXISTS (SELECT 1 FROM {share} s WHERE s."calculation_id" = {row}."id" AND ' + _GRANTED + ")"


def _tables(connection) -> dict:
    # Reached through Share's own relations rather than imported: the artifact and calculation
    # packages import this one to filter their reads, so it cannot import them back.
    output = Share._meta.get_field("artifact").related_model._meta.get_field("imported_output").related_model
    models = {"share": Share, "output": output, "memberships": get_user_model().groups.through}
    return {name: connection.ops.quote_name(model._meta.db_table) for name, model in models.items()}


class _SharedWith(Expression):
    """True for the rows of the queryset it filters that are shared with the user (by `template`)."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, template: str, user_id: int):
        super().__init__()
        self.template, self.user_id = template, user_id

    def as_sql(self, compiler, connection):
        # The row is the filtered queryset's own table, under whatever alias the query gave it.
        row = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        sql = "(" + self.template.format(row=row, **_tables(connection)) + ")"
        return sql, [self.user_id] * sql.count("%s")


def artifact_readable(user) -> Q:
    """For an Artifact queryset: its owner's, or shared with the user directly or through its calculation."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    return Q(owner_id=user.pk) | Q(_SharedWith(_ARTIFACT_SHARED, user.pk))


@cache
def _artifact_readable_text(row: str) -> str:
    return f'({row}."owner_id" = %s OR ' + _ARTIFACT_SHARED.format(row=row, **_tables(connection)) + ")"


def artifact_readable_sql(row: str, user) -> tuple[str, list]:
    """`artifact_readable` as SQL text on the artifact table under alias `row` (a fixed, quoted
    alias of the caller's own statement), and its parameters: for statements written once."""
    if not user.is_authenticated:
        return "false", []
    text = _artifact_readable_text(row)
    return text, [user.pk] * text.count("%s")


def anything_shared_with(user) -> bool:
    """Whether any share grants the user anything (directly, through a group, or everyone's):
    if not, what they may read is exactly what they own. One index probe, or a scan of the
    few share rows granted to everyone."""
    if not user.is_authenticated:
        return False
    text = "SELECT EXISTS (SELECT 1 FROM {share} s WHERE " + _GRANTED + ")"
    with connection.cursor() as cursor:
        cursor.execute(text.format(**_tables(connection)), [user.pk, user.pk])
        return cursor.fetchone()[0]


def calculation_readable(user) -> Q:
    """For a Calculation queryset: its owner's, or shared with the user."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    return Q(owner_id=user.pk) | Q(_SharedWith(_CALCULATION_SHARED, user.pk))


def ownership(user, shared: str | None) -> Q:
    """The `?shared=` filter of a readable list: true, only what others share with the user;
    false, only the user's own; absent, both."""
    if shared is None:
        return Q()
    if shared not in _SHARED_VALUES:
        raise InvalidParameter(f"shared must be true (only what is shared with you) or false (only your own), got {shared!r}")
    own = Q(owner_id=user.pk)
    return ~own if _SHARED_VALUES[shared] else own


def share_list(*, artifact=None, calculation=None) -> QuerySet:
    """The shares of one target. Callers hand in a target they fetched as its owner's."""
    target = {"artifact": artifact} if artifact is not None else {"calculation": calculation}
    return Share.objects.filter(**target).select_related("user", "group")


def share_get(*, share_id, artifact=None, calculation=None) -> Share:
    try:
        return share_list(artifact=artifact, calculation=calculation).get(pk=share_id)
    except (Share.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"share {share_id} not found") from None
