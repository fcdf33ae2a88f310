"""Reads of imports and calculations, scoped to the user inside the query."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from engine.models import Calculation, ImportedOutput, ImportJob
from icebox.exceptions import NotFound


def import_job_list(*, user) -> QuerySet:
    """The user's imports, and those they asked for on behalf of someone else (staff)."""
    return ImportJob.objects.filter(Q(owner=user) | Q(requested_by=user)).select_related("owner", "requested_by").prefetch_related("artifacts")


def import_job_get(*, user, job_id) -> ImportJob:
    try:
        return import_job_list(user=user).get(pk=job_id)
    except (ImportJob.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"import {job_id} not found") from None


def calculation_list(*, user) -> QuerySet:
    outputs = ImportedOutput.objects.select_related("artifact").order_by("output_id", "file_name")
    return Calculation.objects.filter(owner=user).prefetch_related(Prefetch("imported_outputs", queryset=outputs))


def calculation_get(*, user, calculation_id) -> Calculation:
    try:
        return calculation_list(user=user).get(pk=calculation_id)
    except (Calculation.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"calculation {calculation_id} not found") from None
