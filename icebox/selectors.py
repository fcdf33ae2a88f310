"""Reads of artifacts, always scoped to the user inside the query: their own and what is shared with them."""

from __future__ import annotations

from functools import cache

from django.db import connection
from django.db.models import F, QuerySet

from blobs import store as blob_store
from core.exceptions import InvalidParameter, NotFound, ReadOnly
from core.integers import BIGINT_MAX, parse_int
from core.prepared import execute_prepared
from icebox import model_rows
from icebox.models import Artifact, ArtifactCountDelta, ArtifactType
from sharing.selectors import anything_shared_with, artifact_readable as artifact_readable_condition, artifact_readable_sql, ownership


def artifact_list(*, user, artifact_type: str | None = None, calculation: str | None = None, shared: str | None = None) -> QuerySet:
    """What the user may read, with `owner_username` (the list says whose each one is).

    When all the user may read is their own (nothing shared with them, or `shared=false`), the
    condition is the owner alone: the first page is then the first rows of the index on (owner,
    -created, -id), and the count is the owner's count of artifacts (ArtifactCountDelta), so
    that a page takes as long with 100,000 artifacts as with one. The condition with shares is an
    OR that no index orders: every readable row is read and sorted.
    """
    # A calculation's list is short whatever the condition: no query to find out, there.
    if calculation is None and user.is_authenticated and (shared == "false" or (shared is None and not anything_shared_with(user))):
        qs = Artifact.objects.filter(owner_id=user.pk)
        if artifact_type is None:
            owner_id = user.pk
            qs = qs.with_known_count(lambda: own_artifact_count(owner_id))
    else:
        qs = Artifact.objects.filter(artifact_readable_condition(user), ownership(user, shared))
    qs = _known_count_kept(qs, qs.annotate(owner_username=F("owner__username")))
    if calculation is not None:
        # Scoped above: an unreadable calculation's artifacts are not readable either (or shared one by one).
        qs = qs.filter(imported_output__calculation_id=parse_int(calculation, name="calculation", minimum=1, maximum=BIGINT_MAX))
    if artifact_type is not None:
        if artifact_type not in ArtifactType.values:
            raise InvalidParameter(f"artifact_type must be one of {', '.join(ArtifactType.values)}; got {artifact_type!r}")
        qs = qs.filter(artifact_type=artifact_type)
    return qs


def _known_count_kept(before, after):
    # An annotation (a join to the owner) adds no row and removes none: the count stays.
    return after.with_known_count(before._known_count) if before._known_count is not None else after


def own_artifact_count(owner_id: int) -> int:
    """How many artifacts the owner has: the sum of their count deltas (a few rows, see ArtifactCountDelta)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT coalesce(sum("delta"), 0) FROM {model_rows.table(ArtifactCountDelta)} WHERE "owner_id" = %s', [owner_id]
        )
        return int(cursor.fetchone()[0])


def compact_artifact_counts() -> int:
    """Sum up each owner's count deltas into one row (a housekeeping step); how many rows went.

    One statement: it deletes the rows committed when it started and inserts their sums, so an
    upload committing meanwhile (its own new row) is neither lost nor counted twice.
    """
    table = model_rows.table(ArtifactCountDelta)
    with connection.cursor() as cursor:
        cursor.execute(
            f'WITH gone AS (DELETE FROM {table} WHERE "owner_id" IN (SELECT "owner_id" FROM {table} GROUP BY "owner_id" HAVING count(*) > 1)'
            ' RETURNING "owner_id", "delta"), summed AS ('
            f'INSERT INTO {table} ("owner_id", "delta") SELECT "owner_id", sum("delta") FROM gone GROUP BY "owner_id" RETURNING 1)'
            " SELECT (SELECT count(*) FROM gone) - (SELECT count(*) FROM summed)"
        )
        return int(cursor.fetchone()[0])


class ReadableArtifact:
    """An artifact the request's user may read (theirs, or shared with them), as only
    `readable_artifact` makes it.

    Every read of an artifact's rows (geo, compare, OGC) takes one of these, never a bare id or an
    Artifact fetched some other way: the owner check cannot be forgotten by a caller, because
    there is no other way to name the artifact to read.
    """

    __slots__ = ("artifact",)

    def __init__(self, artifact: Artifact, *, _made_by=None):
        if _made_by is not _READABLE:
            raise TypeError("a ReadableArtifact comes from icebox.selectors.readable_artifact (or readable_artifacts), which checks access")
        self.artifact = artifact

    @property
    def pk(self) -> int:
        return self.artifact.pk

    def __repr__(self) -> str:
        return f"ReadableArtifact({self.artifact!r})"


_READABLE = object()


def readable_row(readable: ReadableArtifact) -> Artifact:
    """The Artifact a reader of rows works on. A bare id or an Artifact fetched any other way has
    not been through the access check: a TypeError (not an assert: it must hold with -O too)."""
    if not isinstance(readable, ReadableArtifact):
        raise TypeError(f"expected a ReadableArtifact from icebox.selectors.readable_artifact, got {type(readable).__name__}")
    return readable.artifact


def readable_artifact(*, user, artifact_id) -> ReadableArtifact:
    """The artifact `artifact_id` if the user may read it (theirs or shared with them); any other
    is NotFound, exactly like a missing one. One statement, an index lookup: every map read and
    tile starts here."""
    try:
        # OGC collection ids arrive as path text: '٣' must not find artifact 3.
        pk = parse_int(artifact_id, name="artifact id", minimum=1, maximum=BIGINT_MAX)
    except InvalidParameter:
        raise NotFound(f"artifact {artifact_id} not found") from None
    artifact = _readable_by_id(user, pk)
    if artifact is None:
        raise NotFound(f"artifact {artifact_id} not found")
    return ReadableArtifact(artifact, _made_by=_READABLE)


def readable_artifacts(*, user, calculation_id: int) -> list[ReadableArtifact]:
    """The artifacts of a calculation that the user may read (all of it when the calculation is shared with them)."""
    return [ReadableArtifact(a, _made_by=_READABLE) for a in artifact_list(user=user, calculation=str(calculation_id))]


@cache
def _by_id_sql() -> str:
    return f'SELECT {model_rows.select_list(Artifact, "a")} FROM {model_rows.table(Artifact)} a WHERE a."id" = %s AND '


def _readable_by_id(user, pk: int) -> Artifact | None:
    # Fixed text, not a queryset (icebox.model_rows): every tile and TileJSON request makes this lookup.
    readable, params = artifact_readable_sql('"a"', user)
    with connection.cursor() as cursor:
        execute_prepared(cursor, "readable_artifact", _by_id_sql() + readable, [pk, *params])
        row = cursor.fetchone()
    return model_rows.instance(Artifact, row) if row is not None else None


def artifact_get_owned(*, user, artifact_id) -> Artifact:
    """The user's own artifact, for a change. Shared with them: ReadOnly (they know it exists
    already); any other: NotFound, like a missing one."""
    try:
        return Artifact.objects.filter(owner_id=user.pk).get(pk=artifact_id)
    except (Artifact.DoesNotExist, ValueError, TypeError):
        pass
    readable_artifact(user=user, artifact_id=artifact_id)
    raise ReadOnly(f"artifact {artifact_id} is shared with you read-only: only its owner may change, delete or share it")


def artifact_bytes(readable: ReadableArtifact, start: int = 0, end: int | None = None):
    """The artifact's bytes [start, end) in chunks, from the blob store (never read whole). The
    content is opened before this returns: a delete committed meanwhile does not cut the read."""
    artifact = readable_row(readable)
    return blob_store.read(artifact.sha256, start, end, size=artifact.size)


def exposure_for(*, user, table: ReadableArtifact, exposure_id=None, kind: str) -> ReadableArtifact:
    """The exposure (an artifact of kind `kind`) whose assets the rows of `table` name: the one
    given by id, else the only one of the table's calculation; readable by the user, or NotFound."""
    readable = Artifact.objects.filter(artifact_readable_condition(user), artifact_type=kind)
    if exposure_id is not None:
        try:
            found = readable.get(pk=parse_int(exposure_id, name="assets", minimum=1, maximum=BIGINT_MAX))
        except (Artifact.DoesNotExist, InvalidParameter):
            raise NotFound(f"assets: artifact {exposure_id} is not an exposure you can read") from None
        return ReadableArtifact(found, _made_by=_READABLE)
    pk = readable_row(table).pk
    calculation = Artifact.objects.filter(pk=pk).values_list("imported_output__calculation_id", flat=True).first()
    if calculation is None:
        raise NotFound(f"artifact {pk} belongs to no imported calculation: name the exposure artifact with assets=<id>")
    found = list(readable.filter(imported_output__calculation_id=calculation).order_by("pk")[:2])
    if not found:
        raise NotFound(f"calculation {calculation} of artifact {pk} has no exposure stored that you can read")
    if len(found) > 1:
        raise InvalidParameter(f"calculation {calculation} has more than one exposure: choose one with assets=<id>")
    return ReadableArtifact(found[0], _made_by=_READABLE)
