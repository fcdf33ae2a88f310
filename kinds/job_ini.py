"""An engine job.ini, read as OpenQuake Engine 3.26.2 reads it (commonlib/readinput.py, get_params).

The engine parses it with the standard library's `configparser.ConfigParser(interpolation=None)`
from UTF-8 with an optional BOM, so this does exactly that, and the conventions are
configparser's defaults:

- `key = value` and `key: value`; keys are case-insensitive (lower-cased), values keep their case;
- `[section]` headers, required before the first key; a section or a key given twice in one
  section is an error, and the engine refuses a key given in two sections (check_params);
- continuation lines: a line indented deeper than its key continues the value (joined with a
  newline: `intensity_measure_types_and_levels = {\\n  "PGA": ...}`);
- comments: whole lines starting (after blanks) with `#` or `;`; there are no inline comments
  (`x = 1 # no` is the value `1 # no`), and `%` is not special (no interpolation);
- the parameters of every section go in one dict, in file order.

Then the references: every `*_file`, `*_csv` and `*_hdf5` key names files relative to the
job.ini's folder (readinput.update): a few keys take several names separated by blanks
(`exposure_file = a.xml b.xml`), a value starting with `{` is a Python dict of names
(`consequence_file = {'taxonomy': 'consequences.csv'}`), an empty value names nothing. Any other
key whose value ends in `.hdf5` is a file as well (the deprecated [reqv] syntax).
"""

from __future__ import annotations

import ast
import configparser
import posixpath
from dataclasses import dataclass, field

from kinds.base import ParseError

__all__ = ["JobIni", "Reference", "parse", "references"]

# readinput.update: the keys whose value is split on blanks into several files.
MULTI_FILE_KEYS = frozenset({"hazard_curves_csv", "hazard_curves_file", "gmfs_csv", "gmfs_file", "site_model_csv",
                             "site_model_file", "source_model_file", "exposure_csv", "exposure_file"})
FILE_SUFFIXES = ("_file", "_csv", "_hdf5")
# ConfigParser's defaults, which the engine keeps: whole-line comments, '=' or ':' (OPTCRE).
COMMENT_PREFIXES = ("#", ";")


@dataclass(frozen=True)
class JobIni:
    """What a job.ini says: its parameters as the engine's dict of strings, and where each is."""

    file_name: str
    params: dict  # key -> value (strings, as written, continuation lines joined by "\n")
    lines: dict  # key -> 1-based line of the key
    sections: dict  # key -> section name

    def error(self, key: str, message: str) -> ParseError:
        return ParseError(message, file_name=self.file_name, line=self.lines.get(key))


@dataclass(frozen=True)
class Reference:
    """One file a job.ini (or a file it names) refers to, as a path relative to the archive root."""

    path: str  # normalized, relative to the archive root: 'in/ssmLT.xml'
    role: str  # the engine's input type: 'source_model_logic_tree', 'site_model', 'structural_vulnerability', ...
    referenced_by: str  # the referring file's path
    line: int | None  # where in the referring file
    key: str = ""  # the job.ini key or XML element that names it
    name: str | None = field(default=None)  # the dict key of a `{...}` value ('taxonomy')


def decode(data: bytes, file_name: str) -> str:
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise ParseError("not an INI text file (it contains NUL bytes)", file_name=file_name, line=line)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ParseError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})", file_name=file_name, line=line) from None


def parse(data: bytes, file_name: str = "job.ini") -> JobIni:
    """The job.ini's parameters (ParseError naming the line when it is not the INI the engine reads)."""
    text = decode(data, file_name)
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=file_name)
    except configparser.MissingSectionHeaderError as exc:
        raise ParseError(f"not an INI file: {exc.line.strip()[:80]!r} comes before any [section] header",
                         file_name=file_name, line=exc.lineno) from None
    except configparser.DuplicateSectionError as exc:
        raise ParseError(f"section [{exc.section}] is given twice", file_name=file_name, line=exc.lineno) from None
    except configparser.DuplicateOptionError as exc:
        raise ParseError(f"{exc.option!r} is given twice in section [{exc.section}]", file_name=file_name,
                         line=exc.lineno) from None
    except configparser.ParsingError as exc:
        lineno, line = exc.errors[0]
        if line[:1] in "'\"":  # configparser keeps the repr() of the line
            line = ast.literal_eval(line)
        raise ParseError(f"not an INI line: {line.strip()[:80]!r} is neither 'key = value', a [section] nor a comment",
                         file_name=file_name, line=lineno) from None
    except configparser.Error as exc:  # anything else configparser refuses
        raise ParseError(f"not an INI file: {exc.message}", file_name=file_name) from None

    lines = _key_lines(text, parser)
    # readinput.check_params: a key may be in one section only (options() includes [DEFAULT]'s).
    seen: dict[str, str] = {}
    for section in parser.sections():
        for key in parser.options(section):
            if key in seen:
                raise ParseError(f"{key!r} is given in both [{seen[key]}] and [{section}]",
                                 file_name=file_name, line=lines.get((section, key)) or lines.get(("DEFAULT", key)))
            seen[key] = section
    params: dict[str, str] = {}
    for section in parser.sections():
        params.update(parser.items(section))
    if not params:
        raise ParseError("no parameters: a job.ini has at least calculation_mode", file_name=file_name, line=1)
    key_lines = {key: lines.get((seen[key], key)) or lines.get(("DEFAULT", key)) for key in params}
    job = JobIni(file_name, params, key_lines, dict(seen))
    if not params.get("calculation_mode", "").strip():
        raise ParseError("no calculation_mode: the engine needs one (classical, event_based, scenario, ...)",
                         file_name=file_name, line=key_lines.get("calculation_mode"))
    return job


def _key_lines(text: str, parser: configparser.ConfigParser) -> dict:
    """{(section, key): line} for the line where each key starts, following configparser's own rules.

    Run only on a text configparser accepted, so every line is a section, a key, a continuation,
    a comment or blank: what decides is the indentation, as in ConfigParser._read.
    """
    lines: dict = {}
    section = None
    key_indent = None
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith(COMMENT_PREFIXES):
            continue
        indent = len(raw) - len(raw.lstrip())
        if key_indent is not None and indent > key_indent:
            continue  # a continuation line
        header = parser.SECTCRE.match(stripped)
        if header:
            section = header.group("header")
            key_indent = None
            continue
        option = parser.OPTCRE.match(stripped)
        if option and section is not None:
            key = parser.optionxform(option.group("option").rstrip())
            lines.setdefault((section, key), number)
            key_indent = indent
    return lines


def references(job: JobIni, job_path: str) -> list[Reference]:
    """The files the job.ini names (readinput.update), as paths relative to the archive root.

    `job_path` is the job.ini's own path in the archive: names are relative to its folder. An
    absolute path, a path that leaves the archive, the engine's `${mosaic}/` folder or a zipped
    input are refused (ParseError naming the key's line).
    """
    base = posixpath.dirname(job_path)
    found: list[Reference] = []
    for key, value in job.params.items():
        if key in MULTI_FILE_KEYS:
            role = key.rsplit("_", 1)[0]
            for name in value.split():
                found.append(_reference(job, key, role, name, base, job_path))
        elif key.endswith(FILE_SUFFIXES):
            role = key.rsplit("_", 1)[0]
            text = value.strip()
            if text.startswith("{"):
                try:
                    names = ast.literal_eval(text)
                except (ValueError, SyntaxError, MemoryError, RecursionError):
                    raise job.error(key, f"{key}: {text[:60]!r} is not a dict of file names") from None
                if not isinstance(names, dict):
                    raise job.error(key, f"{key}: {text[:60]!r} is not a dict of file names")
                for name, paths in names.items():
                    for path in paths if isinstance(paths, list) else [paths]:
                        if not isinstance(path, str):
                            raise job.error(key, f"{key}: {path!r} is not a file name")
                        found.append(_reference(job, key, role, path, base, job_path, str(name)))
            elif text:
                found.append(_reference(job, key, role, text, base, job_path))
        elif isinstance(value, str) and value.strip().endswith(".hdf5") and key != "description":
            found.append(_reference(job, key, "reqv", value.strip(), base, job_path))
    return found


def _reference(job: JobIni, key: str, role: str, name: str, base: str, job_path: str, dict_key: str | None = None) -> Reference:
    path = resolve(name, base, lambda message: job.error(key, f"{key}: {message}"))
    return Reference(path, role, job_path, job.lines.get(key), key, dict_key)


def resolve(name: str, base: str, error) -> str:
    """`name` relative to the folder `base`, normalized; error(message) raised for what an archive cannot hold."""
    if name.startswith("${mosaic}"):
        raise error(f"{name!r} is in the engine's mosaic folder, which an archive cannot hold")
    cleaned = name.replace("\\", "/")
    if cleaned.startswith("/") or (len(cleaned) > 1 and cleaned[1] == ":"):
        raise error(f"{name!r} is an absolute path (the engine refuses them too): name files relative to the job.ini")
    path = posixpath.normpath(posixpath.join(base, cleaned))
    if path == ".." or path.startswith("../"):
        raise error(f"{name!r} is outside the archive")
    if path.lower().endswith(".zip"):
        raise error(f"{name!r} is a zip inside the archive: unzip it into the archive and name its .xml")
    return path
