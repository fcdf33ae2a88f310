"""Reads of input models and runs: the owner's only (another user's id is a 404)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from core.exceptions import NotFound
from inputs.models import InputModel, Run


def input_model_list(*, user, filters: dict | None = None) -> QuerySet:
    """The user's input models; `filters` from engine.selectors.parse_calculation_filters (mode, label, q)."""
    if not user.is_authenticated:
        return InputModel.objects.none()
    filters = filters or {}
    condition = Q(owner_id=user.pk)
    if "mode" in filters:
        condition &= Q(calculation_mode=filters["mode"])
    if "label" in filters:
        condition &= Q(labels__contains=filters["label"])
    if "q" in filters:
        condition &= Q(description__icontains=filters["q"]) | Q(name__icontains=filters["q"])
    return InputModel.objects.filter(condition)


def input_model_get(*, user, input_model_id) -> InputModel:
    try:
        return input_model_list(user=user).get(pk=input_model_id)
    except (InputModel.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"input model {input_model_id} not found") from None


def input_model_candidates(*, user, calculation) -> QuerySet:
    """The user's input models that look like `calculation`'s: the same calculation mode and
    description, and a file of every name its job parameters list as inputs (the engine keeps no
    copy of the inputs, so the owner confirms: POST /calculations/<id>/inputs)."""
    oqparam = calculation.oqparam or {}
    names = sorted(input_file_names(oqparam.get("inputs")))
    candidates = input_model_list(user=user).filter(calculation_mode=calculation.calculation_mode)
    matching = [
        model.pk for model in candidates
        if str(model.params.get("description", "")).strip() == str(oqparam.get("description", calculation.description)).strip()
        and set(names) <= {f["path"].rsplit("/", 1)[-1] for f in model.files}
    ]
    return input_model_list(user=user).filter(pk__in=matching)


def input_file_names(inputs) -> set[str]:
    """Base names of the files in oqparam's `inputs` ({"job_ini": "/x/job.ini", "source_model": [...], ...})."""
    found: set[str] = set()
    values = inputs.values() if isinstance(inputs, dict) else inputs if isinstance(inputs, list) else [inputs]
    for value in values:
        if isinstance(value, (dict, list)):
            found |= input_file_names(value)
        elif isinstance(value, str) and value:
            found.add(value.replace("\\", "/").rsplit("/", 1)[-1])
    return found


def run_list(*, user) -> QuerySet:
    if not user.is_authenticated:
        return Run.objects.none()
    return Run.objects.filter(owner_id=user.pk).select_related("input_model")


def run_get(*, user, run_id) -> Run:
    try:
        return run_list(user=user).get(pk=run_id)
    except (Run.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"run {run_id} not found") from None
