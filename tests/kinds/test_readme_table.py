"""The README's kinds table is the registry's: regenerate it with the text this test prints."""

from pathlib import Path

import kinds

README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- kinds table: generated from kinds.KINDS, see tests/kinds/test_readme_table.py -->", "<!-- end of kinds table -->"


def kinds_table() -> str:
    # `what` is the first paragraph of the kind module's docstring.
    lines = ["| `artifact_type` | what | engine outputs | geometry | filterable columns |", "|---|---|---|---|---|"]
    for kind in kinds.KINDS:
        summary = (kind.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        outputs = ", ".join(f"`{o}`" for o in kind.OUTPUT_TYPES) or "any other"
        filterable = ", ".join(f"`{c}`" for c in kind.FILTERABLE) or "none"
        lines.append(f"| `{kind.NAME}` | {summary} | {outputs} | {kind.GEOMETRY or 'none'} | {filterable} |")
    return "\n".join(lines)


def test_the_readme_lists_every_kind_of_the_registry():
    text = README.read_text()
    assert START in text and END in text, f"README.md needs the kinds table between {START} and {END}"
    table = text.split(START, 1)[1].split(END, 1)[0].strip()

    assert table == kinds_table(), "README.md's kinds table is out of date; replace it with:\n" + kinds_table()
