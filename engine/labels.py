"""A calculation's labels: the owner's words for it, and the engine's own tags brought in on import.

Labels are free text chosen by people, checked here once (the column only bounds the length):
strings, surrounding white space dropped, at most LABEL_MAX_LENGTH characters, no control
characters, lone surrogates or line separators (they would break a CSV, a terminal or
PostgreSQL's text), at most LABELS_MAX of them, duplicates dropped keeping the first.
"""

from __future__ import annotations

import unicodedata

from django.db import transaction

from core.exceptions import InvalidParameter
from engine.models import LABEL_MAX_LENGTH, LABELS_MAX, Calculation

# Cc: control characters (NUL, tab, newline...); Cs: lone surrogates, which JSON's \\ud800 can
# carry into a Python str and PostgreSQL cannot store; Zl, Zp: line and paragraph separators.
_REFUSED_CATEGORIES = {"Cc", "Cs", "Zl", "Zp"}
# The engine marks the preferred job of a tag by appending a star to the tag's name in its lists.
_PREFERRED_MARK = "\u2605"


def clean_labels(value) -> list[str]:
    """The labels as stored, from what a user sent; InvalidParameter naming the first problem."""
    if not isinstance(value, list):
        raise InvalidParameter(f'labels must be a list of strings, such as ["design", "2026 review"]; got {type(value).__name__}')
    labels: list[str] = []
    for position, item in enumerate(value):
        label = _clean_label(item, position)
        if label not in labels:
            labels.append(label)
    if len(labels) > LABELS_MAX:
        raise InvalidParameter(f"a calculation has at most {LABELS_MAX} labels; got {len(labels)}")
    return labels


def _clean_label(item, position: int) -> str:
    where = f"labels[{position}]"
    if not isinstance(item, str):
        raise InvalidParameter(f"{where} must be a string; got {type(item).__name__}")
    label = item.strip()
    if not label:
        raise InvalidParameter(f"{where} is empty")
    if len(label) > LABEL_MAX_LENGTH:
        raise InvalidParameter(f"{where} has {len(label)} characters; a label has at most {LABEL_MAX_LENGTH}")
    for char in label:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            raise InvalidParameter(f"{where} contains the control character U+{ord(char):04X}; labels are printable text")
    return label


def engine_tags(tags) -> list[str]:
    """The tags of an engine's calc list or status item: None, or ONE string of the tag names joined
    with ", ", the preferred job's tags with a star appended. Those that cannot be labels are left out
    (the engine puts no bound on a tag's name); an import never fails over a tag."""
    if not isinstance(tags, str):
        return []
    names = []
    for part in tags.split(", "):
        name = part.strip().removesuffix(_PREFERRED_MARK).strip()
        try:
            name = _clean_label(name, 0)
        except InvalidParameter:
            continue
        if name not in names:
            names.append(name)
    return names[:LABELS_MAX]


def merged_with_engine_tags(labels: list[str], *, before: list[str], now: list[str]) -> list[str]:
    """The labels after an import that saw the engine tags `now`, where the previous import saw
    `before`: a tag new on the engine is added; one the owner removed stays removed while the engine
    keeps it; labels are never taken away by an import. Bounded like the owner's own."""
    merged = list(labels)
    for tag in now:
        if tag not in before and tag not in merged and len(merged) < LABELS_MAX:
            merged.append(tag)
    return merged


def calculation_set_labels(*, calculation: Calculation, labels) -> Calculation:
    """Replace the labels of a calculation the caller fetched as its owner's."""
    cleaned = clean_labels(labels)
    with transaction.atomic():
        calculation.labels = cleaned
        calculation.save(update_fields=["labels", "updated"])
    return calculation
