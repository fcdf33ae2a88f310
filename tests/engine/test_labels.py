"""engine.labels: the checks of a label, the engine's tags as labels, and what an import adds."""

import pytest

from core.exceptions import InvalidParameter
from engine.labels import clean_labels, engine_tags, merged_with_engine_tags


def test_labels_are_stripped_deduplicated_and_kept_in_order():
    assert clean_labels([" b ", "a", "b", "\u00e9t\u00e9 \u2605", "a"]) == ["b", "a", "\u00e9t\u00e9 \u2605"]
    assert clean_labels([]) == []
    # Counted after dropping duplicates.
    assert clean_labels(["same"] * 100) == ["same"]


@pytest.mark.parametrize("value", [None, "a", {"a": 1}, [None], [1.5], [""], ["\t"], ["x" * 65], ["a\x7fb"], ["a\rb"], ["\ud800"], ["a\u2029b"], [str(i) for i in range(33)]])
def test_what_cannot_be_a_label_is_refused(value):
    with pytest.raises(InvalidParameter):
        clean_labels(value)


def test_the_engines_tags_string_becomes_labels_without_the_preferred_star():
    # As /v1/calc/list and /v1/calc/ID/status give them: one string, ", " between, the preferred job's starred.
    assert engine_tags("shared-run\u2605, icebox-tree") == ["shared-run", "icebox-tree"]
    assert engine_tags("icebox-demo") == ["icebox-demo"]
    assert engine_tags(None) == engine_tags("") == engine_tags(["a"]) == []
    # A tag that cannot be a label is left out rather than failing the import.
    assert engine_tags("ok, " + "x" * 65 + ", a\x01b, ok\u2605") == ["ok"]
    assert len(engine_tags(", ".join(f"t{i}" for i in range(40)))) == 32


def test_an_import_adds_the_tags_new_on_the_engine_and_never_brings_back_one_the_owner_removed():
    # First import: every tag is new.
    assert merged_with_engine_tags([], before=[], now=["a", "b"]) == ["a", "b"]
    # The owner removed "a" and added "mine"; the engine still has "a" and gained "c".
    assert merged_with_engine_tags(["b", "mine"], before=["a", "b"], now=["a", "b", "c"]) == ["b", "mine", "c"]
    # A tag removed on the engine stays a label: imports never take labels away.
    assert merged_with_engine_tags(["a", "b"], before=["a", "b"], now=[]) == ["a", "b"]
    # Already a label: not added twice.
    assert merged_with_engine_tags(["c"], before=[], now=["c"]) == ["c"]
    # Bounded like the owner's own.
    full = [f"l{i}" for i in range(32)]
    assert merged_with_engine_tags(full, before=[], now=["new"]) == full
