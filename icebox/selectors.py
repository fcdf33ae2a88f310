"""Reads of artifacts, always scoped to the user inside the query: their own and what is shared with them."""

from __future__ import annotations

from django.db.models import F, QuerySet

from icebox.exceptions import InvalidParameter, NotFound, ReadOnly
from icebox.integers import BIGINT_MAX, parse_int
from icebox.models import Artifact, ArtifactFile, ArtifactType
from sharing.selectors import artifact_readable, ownership


def artifact_list(*, user, artifact_type: str | None = None, calculation: str | None = None, shared: str | None = None) -> QuerySet:
    """What the user may read, with `owner_username` (the list says whose each one is)."""
    qs = Artifact.objects.filter(artifact_readable(user), ownership(user, shared)).annotate(owner_username=F("owner__username"))
    if calculation is not None:
        # Scoped above: an unreadable calculation's artifacts are not readable either (or shared one by one).
        qs = qs.filter(imported_output__calculation_id=parse_int(calculation, name="calculation", minimum=1, maximum=BIGINT_MAX))
    if artifact_type is not None:
        if artifact_type not in ArtifactType.values:
            raise InvalidParameter(f"artifact_type must be one of {', '.join(ArtifactType.values)}; got {artifact_type!r}")
        qs = qs.filter(artifact_type=artifact_type)
    return qs


def artifact_get(*, user, artifact_id) -> Artifact:
    """An artifact the user may read (theirs or shared with them); any other is NotFound, exactly
    like a missing one. One statement, an index lookup: every map read and tile starts here."""
    try:
        # OGC collection ids arrive as path text: '٣' must not find artifact 3.
        return Artifact.objects.filter(artifact_readable(user)).get(pk=parse_int(artifact_id, name="artifact id", minimum=1, maximum=BIGINT_MAX))
    except (Artifact.DoesNotExist, InvalidParameter):
        raise NotFound(f"artifact {artifact_id} not found") from None


def artifact_get_owned(*, user, artifact_id) -> Artifact:
    """The user's own artifact, for a change. Shared with them: ReadOnly (they know it exists
    already); any other: NotFound, like a missing one."""
    try:
        return Artifact.objects.filter(owner_id=user.pk).get(pk=artifact_id)
    except (Artifact.DoesNotExist, ValueError, TypeError):
        pass
    artifact_get(user=user, artifact_id=artifact_id)
    raise ReadOnly(f"artifact {artifact_id} is shared with you read-only: only its owner may change, delete or share it")


def artifact_bytes(*, artifact: Artifact) -> bytes:
    return bytes(ArtifactFile.objects.values_list("data", flat=True).get(artifact=artifact))


def exposure_for(*, user, artifact: Artifact, exposure_id=None, kind: str) -> Artifact:
    """The exposure artifact (kind `kind`) whose assets `artifact`'s rows name: the one given by id,
    else the only one of the artifact's calculation; readable by the user, or NotFound."""
    readable = Artifact.objects.filter(artifact_readable(user), artifact_type=kind)
    if exposure_id is not None:
        try:
            return readable.get(pk=parse_int(exposure_id, name="assets", minimum=1, maximum=BIGINT_MAX))
        except (Artifact.DoesNotExist, InvalidParameter):
            raise NotFound(f"assets: artifact {exposure_id} is not an exposure you can read") from None
    calculation = Artifact.objects.filter(pk=artifact.pk).values_list("imported_output__calculation_id", flat=True).first()
    if calculation is None:
        raise NotFound(
            f"artifact {artifact.pk} belongs to no imported calculation: name the exposure artifact with assets=<id>"
        )
    found = list(readable.filter(imported_output__calculation_id=calculation).order_by("pk")[:2])
    if not found:
        raise NotFound(f"calculation {calculation} of artifact {artifact.pk} has no exposure stored that you can read")
    if len(found) > 1:
        raise InvalidParameter(f"calculation {calculation} has more than one exposure: choose one with assets=<id>")
    return found[0]
