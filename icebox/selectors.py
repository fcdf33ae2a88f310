"""Reads of artifacts, always scoped to the user inside the query."""

from __future__ import annotations

from django.db.models import QuerySet

from icebox.exceptions import InvalidParameter, NotFound
from icebox.integers import BIGINT_MAX, parse_int
from icebox.models import Artifact, ArtifactFile, ArtifactType


def artifact_list(*, user, artifact_type: str | None = None, calculation: str | None = None) -> QuerySet:
    qs = Artifact.objects.filter(owner=user)
    if calculation is not None:
        # Owner-scoped above: another user's calculation id simply matches nothing.
        qs = qs.filter(imported_output__calculation_id=parse_int(calculation, name="calculation", minimum=1, maximum=BIGINT_MAX))
    if artifact_type is not None:
        if artifact_type not in ArtifactType.values:
            raise InvalidParameter(f"artifact_type must be one of {', '.join(ArtifactType.values)}; got {artifact_type!r}")
        qs = qs.filter(artifact_type=artifact_type)
    return qs


def artifact_get(*, user, artifact_id) -> Artifact:
    """The user's artifact; another user's is NotFound, exactly like a missing one."""
    try:
        # OGC collection ids arrive as path text: '٣' must not find artifact 3.
        return Artifact.objects.filter(owner=user).get(pk=parse_int(artifact_id, name="artifact id", minimum=1, maximum=BIGINT_MAX))
    except (Artifact.DoesNotExist, InvalidParameter):
        raise NotFound(f"artifact {artifact_id} not found") from None


def artifact_bytes(*, artifact: Artifact) -> bytes:
    return bytes(ArtifactFile.objects.values_list("data", flat=True).get(artifact=artifact))
