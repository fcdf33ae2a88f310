"""Fixtures of the geo tests."""

import pytest

import kinds
from tests.geo import event_points_kind


@pytest.fixture
def event_kind(monkeypatch):
    """The test-only kind of points per event and site (tests/geo/event_points_kind.py), registered for one test."""
    monkeypatch.setattr(kinds, "KINDS", (event_points_kind, *kinds.KINDS))
    monkeypatch.setitem(kinds._BY_NAME, event_points_kind.NAME, event_points_kind)
    monkeypatch.setattr(kinds, "ARTIFACT_TYPES", (*kinds.ARTIFACT_TYPES, event_points_kind.NAME))
    return event_points_kind
