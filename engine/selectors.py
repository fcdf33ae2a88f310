"""Reads of imports and calculations, scoped to the user inside the query.

Imports are their owner's and requester's only; calculations are also readable when shared."""

from __future__ import annotations

from django.db.models import F, Prefetch, Q, QuerySet

from core.exceptions import InvalidParameter, NotFound, ReadOnly
from engine.models import LABEL_MAX_LENGTH, Calculation, ImportedOutput, ImportJob
from sharing.selectors import calculation_readable, ownership


def import_job_list(*, user) -> QuerySet:
    """The user's imports, and those they asked for on behalf of someone else (staff)."""
    return ImportJob.objects.filter(Q(owner=user) | Q(requested_by=user)).select_related("owner", "requested_by").prefetch_related("artifacts")


def import_job_get(*, user, job_id) -> ImportJob:
    try:
        return import_job_list(user=user).get(pk=job_id)
    except (ImportJob.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"import {job_id} not found") from None


def calculation_list(*, user, shared: str | None = None, filters: dict | None = None) -> QuerySet:
    """What the user may read (theirs or shared with them), with `owner_username`; `filters` as
    parse_calculation_filters returns them."""
    outputs = ImportedOutput.objects.select_related("artifact").order_by("output_id", "file_name")
    return (
        Calculation.objects.filter(calculation_readable(user), ownership(user, shared), _filter(filters or {}))
        .annotate(owner_username=F("owner__username"))
        .prefetch_related(Prefetch("imported_outputs", queryset=outputs))
    )


# ?name= of GET /calculations -> the longest value that can match anything.
_FILTER_LENGTHS = {"mode": 100, "engine": 255, "label": LABEL_MAX_LENGTH, "q": 200}


def parse_calculation_filters(params, names=tuple(_FILTER_LENGTHS)) -> dict:
    """`mode`, `engine`, `label` (may repeat: all of them) and `q` from a query string (those of `names`).

    A value PostgreSQL cannot hold (NUL), an empty one, one longer than anything stored could be, or
    mode/engine/q given twice is a 400 rather than a silent empty list."""
    filters = {}
    for name, longest in _FILTER_LENGTHS.items():
        values = params.getlist(name) if name in names else []
        if not values:
            continue
        if len(values) > 1 and name != "label":
            raise InvalidParameter(f"give {name} once; got it {len(values)} times")
        for value in values:
            if not value.strip():
                raise InvalidParameter(f"{name} is empty")
            if "\x00" in value:
                raise InvalidParameter(f"{name} contains a NUL character")
            if len(value) > longest:
                raise InvalidParameter(f"{name} is {len(value)} characters long; nothing stored is longer than {longest}")
        # Labels are stored without surrounding white space (engine.labels).
        filters[name] = [value.strip() for value in values] if name == "label" else values[0]
    return filters


def _filter(filters: dict) -> Q:
    condition = Q()
    if "mode" in filters:
        condition &= Q(calculation_mode=filters["mode"])
    if "engine" in filters:
        engine = filters["engine"]
        # A URL names the server (as ICEBOX_ENGINE_SERVERS and the calc's engine_url spell it);
        # anything else is an engine version such as 3.26.2.
        condition &= Q(engine_url=engine.rstrip("/")) if "://" in engine else Q(engine_version=engine)
    if "label" in filters:
        condition &= Q(labels__contains=filters["label"])
    if "q" in filters:
        condition &= Q(description__icontains=filters["q"])
    return condition


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
