"""Writes of shares: share a target the owner holds, revoke a share of it.

Callers hand in a target fetched as the caller's own (icebox.selectors.artifact_get_owned,
engine.selectors.calculation_get_owned); these functions check it again, so that no path can
share what the sharer does not own.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from core.exceptions import InvalidParameter, ReadOnly
from sharing.models import Share

GRANTEE_FIELDS = ("user", "group", "everyone")


def share_create(*, sharer, artifact=None, calculation=None, user=None, group=None, everyone=None) -> tuple[Share, bool]:
    """Share the artifact or the calculation read-only with one grantee, named by user name, group
    name or `everyone=True`. Sharing again what is already shared returns that share: (share, created)."""
    target = _target(sharer, artifact=artifact, calculation=calculation)
    grantee = _grantee(sharer, user=user, group=group, everyone=everyone)
    # A concurrent identical share loses on the unique constraint; get_or_create then returns the winner.
    return Share.objects.get_or_create(**target, **grantee)


def share_revoke(*, sharer, share: Share) -> None:
    """Take a share back: from the next request on, the grantee gets 404 as if it never existed."""
    target = share.artifact if share.artifact_id else share.calculation
    if target.owner_id != sharer.pk:
        raise ReadOnly("only the owner may revoke a share")
    share.delete()


def _target(sharer, *, artifact, calculation) -> dict:
    if (artifact is None) == (calculation is None):
        raise ValueError("share exactly one of artifact or calculation")
    target = artifact if artifact is not None else calculation
    if target.owner_id != sharer.pk:
        raise ReadOnly("only the owner may share it")
    return {"artifact": artifact} if artifact is not None else {"calculation": calculation}


def _grantee(sharer, *, user, group, everyone) -> dict:
    given = [name for name, value in (("user", user), ("group", group), ("everyone", everyone)) if value is not None]
    if len(given) != 1:
        raise InvalidParameter('give exactly one grantee: {"user": "<user name>"}, {"group": "<group name>"} or {"everyone": true}')
    if everyone is not None:
        if everyone is not True:
            raise InvalidParameter(f"everyone must be true to share with everyone who has an account, got {everyone!r}")
        return {"everyone": True}
    name = user if user is not None else group
    if not isinstance(name, str) or not name:
        raise InvalidParameter(f"{given[0]} must be a {given[0]} name, got {name!r}")
    if "\x00" in name:
        # PostgreSQL text cannot hold NUL, so no name has one; asking the database would be an error.
        raise InvalidParameter(f"no {given[0]} named {name!r}")
    if group is not None:
        try:
            return {"group": Group.objects.get(name=group)}
        except Group.DoesNotExist:
            raise InvalidParameter(f"no group named {group!r}") from None
    if user == sharer.get_username():
        raise InvalidParameter("you cannot share with yourself: you own it already")
    try:
        return {"user": get_user_model().objects.get_by_natural_key(user)}
    except get_user_model().DoesNotExist:
        raise InvalidParameter(f"no user named {user!r}") from None
