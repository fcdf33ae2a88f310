"""Reads of imports and calculations, scoped to the user inside the query.

Imports are their owner's and requester's only; calculations are also readable when shared."""

from __future__ import annotations

from django.db.models import F, Prefetch, Q, QuerySet

from engine.models import Calculation, ImportedOutput, ImportJob
from icebox.exceptions import NotFound, ReadOnly
from sharing.selectors import calculation_readable, ownership


def import_job_list(*, user) -> QuerySet:
    """The user's imports, and those they asked for on behalf of someone else (staff)."""
    return ImportJob.objects.filter(Q(owner=user) | Q(requested_by=user)).select_related("owner", "requested_by").prefetch_related("artifacts")


def import_job_get(*, user, job_id) -> ImportJob:
    try:
        return import_job_list(user=user).get(pk=job_id)
    except (ImportJob.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"import {job_id} not found") from None


def calculation_list(*, user, shared: str | None = None) -> QuerySet:
    """What the user may read (theirs or shared with them), with `owner_username`."""
    outputs = ImportedOutput.objects.select_related("artifact").order_by("output_id", "file_name")
    return (
        Calculation.objects.filter(calculation_readable(user), ownership(user, shared))
        .annotate(owner_username=F("owner__username"))
        .prefetch_related(Prefetch("imported_outputs", queryset=outputs))
    )


def calculation_get(*, user, calculation_id) -> Calculation:
    try:
        return calculation_list(user=user).get(pk=calculation_id)
    except (Calculation.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"calculation {calculation_id} not found") from None


def calculation_get_readable(*, user, calculation_id) -> Calculation:
    """A calculation the user may read, alone (no outputs prefetched): one statement."""
    try:
        return Calculation.objects.filter(calculation_readable(user)).get(pk=calculation_id)
    except (Calculation.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"calculation {calculation_id} not found") from None


def calculation_get_owned(*, user, calculation_id) -> Calculation:
    """The user's own calculation, for a change: shared with them is ReadOnly, any other NotFound."""
    try:
        return Calculation.objects.filter(owner_id=user.pk).get(pk=calculation_id)
    except (Calculation.DoesNotExist, ValueError, TypeError):
        pass
    if not Calculation.objects.filter(calculation_readable(user), pk=calculation_id).exists():
        raise NotFound(f"calculation {calculation_id} not found")
    raise ReadOnly(f"calculation {calculation_id} is shared with you read-only: only its owner may change or share it")
