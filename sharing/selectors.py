"""Who may read what: the conditions every read of an artifact or a calculation is filtered by.

Each is a `Q` to put inside the caller's own queryset, so that the access check is part of the
one statement that fetches the rows: a row the user may not read is never fetched, and an id that
is not readable is exactly as absent as a missing one. The conditions are correlated EXISTS over
the share table's target-led unique indexes, so a lookup by id (every map read) stays one index
probe per table whatever the number of artifacts and shares.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet

from icebox.exceptions import InvalidParameter, NotFound
from sharing.models import Share

_SHARED_VALUES = {"true": True, "false": False}


def _granted_to(user) -> Q:
    """Shares whose grantee is `user`: directly, through one of their groups, or everyone."""
    memberships = get_user_model().groups.through.objects.filter(user_id=user.pk).values("group_id")
    return Q(user_id=user.pk) | Q(group_id__in=memberships) | Q(everyone=True)


def artifact_readable(user, *, artifact=OuterRef("pk")) -> Q:
    """For an Artifact queryset: its owner, or shared with the user directly or through its calculation."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    granted = _granted_to(user)
    direct = Share.objects.filter(granted, artifact=artifact)
    via_calculation = Share.objects.filter(granted, calculation__imported_outputs__artifact=artifact)
    return Q(owner_id=user.pk) | Exists(direct) | Exists(via_calculation)


def calculation_readable(user) -> Q:
    """For a Calculation queryset: its owner, or shared with the user."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    return Q(owner_id=user.pk) | Exists(Share.objects.filter(_granted_to(user), calculation=OuterRef("pk")))


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
