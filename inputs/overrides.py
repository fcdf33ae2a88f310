"""job.ini overrides for a run: the stored job.ini with some parameters set, as text.

Pure (no Django). The engine reads job.ini with configparser: `key = value` or `key: value` at
the start of a line, values continued on indented lines, `#` and `;` comment lines. An override
replaces the key's line and its continuation lines where the key is set (in whichever section),
or is added to the first section when the file does not set it; every other byte of the file is
kept, comments included, so the engine sees the model as its author wrote it but for these keys.
"""

from __future__ import annotations

import re

_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*[=:]")
_SECTION = re.compile(r"^\[[^\]]+\]")


def with_overrides(text: str, params: dict[str, str]) -> str:
    """`text` (a job.ini) with each key of `params` set to its value (one line each)."""
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    remaining = dict(params)
    out: list[str] = []
    skipping = False
    for line in lines:
        if skipping and line[:1] in (" ", "\t") and line.strip():
            continue  # a continuation line of a value being replaced
        skipping = False
        match = _KEY.match(line)
        if match and match[1] in remaining:
            out.append(f"{match[1]} = {remaining.pop(match[1])}{newline}")
            skipping = True
            continue
        out.append(line)
    if remaining:
        added = [f"{key} = {value}{newline}" for key, value in remaining.items()]
        first = next((i for i, line in enumerate(out) if _SECTION.match(line)), None)
        if first is None:
            out[:0] = [f"[general]{newline}", *added]
        else:
            out[first + 1:first + 1] = added
    return "".join(out)


def described(text: str, marker: str) -> str:
    """`text` with `marker` appended to its description (added when it has none)."""
    description = None
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = _KEY.match(line)
        if match and match[1] == "description":
            value = [line.split(line[match.end() - 1], 1)[1].strip()]
            for cont in lines[index + 1:]:
                if cont[:1] in (" ", "\t") and cont.strip():
                    value.append(cont.strip())
                else:
                    break
            description = " ".join(v for v in value if v)
            break
    return with_overrides(text, {"description": f"{description} {marker}" if description else marker})
