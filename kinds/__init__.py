"""The artifact-kind registry: one module per kind (see kinds/base.py for the contract).

Adding a kind is one step: write its module and list it in KINDS, before the kinds it must take
precedence over (claims are tried in this order; the first that is true wins). Everything else
is derived from this tuple: the artifact types and their titles, the OpenAPI enum, which engine
output types an import parses, what an upload accepts.

`read_export` is the one entry point for bytes: an upload (output_type None) or one engine
output's download. A zip is opened here, with every bound a zip from a user needs (entries,
declared and actual sizes, encryption, duplicate names, macOS shadows); each file in it, or the
single file, goes to the kind that claims it. No Django import in this package.
"""

from __future__ import annotations

import os
import posixpath
import zipfile

from kinds import (avg_gmf, avg_losses, damages, engine_csv, engine_table, exposure, exposure_model, gmf, hazard_curve,
                   hazard_map, input_archive, logic_tree, loss_maps, raw_file, rupture_model, ruptures, site_mesh, site_model,
                   sites, source_model, uhs, zips)
from kinds.base import Export, ExportFile, ParseError, Table
from kinds.engine_csv import base_name

__all__ = [
    "ARTIFACT_TYPES",
    "KINDS",
    "ParseError",
    "artifact_type_choices",
    "kind_for",
    "kind_named",
    "open_export",
    "parsed_output_types",
    "read_export",
    "read_file",
    "title",
]

# Order matters: claims are tried first to last; raw_file, which claims any engine file, is last.
# engine_table claims any engine CSV without coordinates: after every kind that reads such a file
# its own way (a GMF's gmf-data has none: the gmf kind comes first).
# The input kinds (a job's source models, logic trees, rupture, exposure model, sites) claim files
# only by the role a job.ini gives them (Export.roles), so they come first and take nothing else.
KINDS = (source_model, logic_tree, rupture_model, exposure_model, sites,
         gmf, site_mesh, avg_gmf, site_model, ruptures, exposure, avg_losses, damages, loss_maps,
         hazard_curve, hazard_map, uhs, engine_table, raw_file)
RAW = raw_file

_BY_NAME = {kind.NAME: kind for kind in KINDS}
if len(_BY_NAME) != len(KINDS):
    raise ImportError("two kinds share a NAME")

# Every artifact_type there can be, in registry order: the API's enum and filter.
ARTIFACT_TYPES: tuple[str, ...] = tuple(kind.NAME for kind in KINDS)
MAX_MEMBERS = 1000


def kind_named(name: str):
    """The kind module of an artifact type (KeyError if there is none)."""
    return _BY_NAME[name]


def title(artifact_type: str) -> str:
    kind = _BY_NAME.get(artifact_type)
    return kind.TITLE if kind else artifact_type


def artifact_type_choices() -> list[tuple[str, str]]:
    return [(kind.NAME, kind.TITLE) for kind in KINDS]


def parsed_output_types() -> tuple[str, ...]:
    """Engine output types some kind parses (the rest are kept raw), in registry order."""
    seen: dict[str, None] = {}
    for kind in KINDS:
        for output_type in kind.OUTPUT_TYPES:
            seen.setdefault(output_type)
    return tuple(seen)


def upload_kinds() -> tuple:
    """The kinds an upload may hold: every kind of an engine output but the raw one (a job's inputs go to /inputs)."""
    return tuple(kind for kind in KINDS if kind is not RAW and kind.OUTPUT_TYPES)


def kind_for(file: ExportFile, export: Export):
    """The first kind whose claims() is true, else the raw kind."""
    for kind in KINDS:
        if kind.claims(file, export):
            return kind
    return RAW


def read_export(name: str, data: bytes | os.PathLike, *, output_type: str | None = None, max_uncompressed: int,
                max_members: int = MAX_MEMBERS, sha256: str | None = None) -> list[Table]:
    """One Table per file of an upload (output_type None) or of one engine output's download.

    `data` is the bytes, or the path of a file holding them (an upload or a download of any size:
    only what a kind parses is read whole, within `max_uncompressed`); `sha256` their digest if
    known. The content decides whether it is a zip, not the name (except that an engine's npz,
    itself a zip, is one file). An upload is read strictly: a file no kind claims is a ParseError
    naming what Icebox reads. An engine output keeps every file: what no kind claims is a raw file.
    """
    export = open_export(name, data, output_type=output_type, max_uncompressed=max_uncompressed, max_members=max_members, sha256=sha256)
    return [read_file(file, export, max_uncompressed=max_uncompressed) for file in export.files]


def read_raw(name: str, data: bytes | os.PathLike, *, sha256: str | None = None) -> Table:
    """The one file `data`, kept byte for byte as a raw file whatever it holds (an explicit raw upload)."""
    display = base_name(name)
    file = _export_file(display, data, sha256=sha256)
    return RAW.read(file, Export(files=[file], output_type=None, name=display))


def _export_file(display: str, data: bytes | os.PathLike, *, sha256: str | None) -> ExportFile:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return ExportFile(name=display, data=bytes(data), label=display, sha256=sha256)
    return ExportFile(name=display, path=data, label=display, sha256=sha256)


def read_file(file: ExportFile, export: Export, *, max_uncompressed: int) -> Table:
    kind = kind_for(file, export)
    if kind is RAW:
        if export.output_type is None:
            raise _unclaimed(file, max_uncompressed=max_uncompressed)
        return RAW.read(file, export)
    # A bare file is already uncompressed: hold what is parsed to the same bound as the contents
    # of a zip, so zipping a file never changes whether it is accepted.
    if file.size > max_uncompressed:
        raise ParseError(f"{file.size} bytes, over the limit of {max_uncompressed}", file_name=file.error_name)
    return kind.read(file, export)


def open_export(name: str, data: bytes | os.PathLike, *, output_type: str | None = None, max_uncompressed: int,
                max_members: int = MAX_MEMBERS, sha256: str | None = None) -> Export:
    """The files of an upload or download: a zip's members (decompressed, within the bounds), or the one file."""
    display = base_name(name)
    whole = _export_file(display, data, sha256=sha256)
    # b'PK\x05\x06' is the end record an empty archive starts with: say "no .csv" rather than "binary".
    is_zip = whole.head(4) in (b"PK\x03\x04", b"PK\x05\x06")
    if is_zip and (output_type is None or display.lower().endswith(".zip")):
        files = _zip_members(display, whole, upload=output_type is None, max_uncompressed=max_uncompressed, max_members=max_members,
                             paths=output_type == input_archive.OUTPUT_TYPE)
        if files is not None:
            export = Export(files=files, output_type=output_type, name=display)
            # The engine's zip of a calc's inputs: its job.ini says what each file is.
            return input_archive.roles_of(export) if output_type == input_archive.OUTPUT_TYPE else export
    return Export(files=[whole], output_type=output_type, name=display)


def _unclaimed(file: ExportFile, *, max_uncompressed: int) -> ParseError:
    # Say why when it is not a CSV at all (binary, bad UTF-8, empty): the CSV reader knows. A file
    # over the parse limit is not read whole only to say so.
    if file.size <= max_uncompressed:
        engine_csv.read_header(file.data, error_name=file.error_name)
    accepted = ", ".join(kind.TITLE.lower() for kind in upload_kinds())
    return ParseError(f"not a file Icebox can read: uploads take the engine's CSV exports of {accepted} "
                      "(or a zip of them)", file_name=file.error_name)


# --- zip ------------------------------------------------------------------------------------


def _zip_members(zip_name: str, whole: ExportFile, *, upload: bool, max_uncompressed: int, max_members: int,
                 paths: bool = False) -> list[ExportFile] | None:
    """The members an upload reads (.csv) or an engine export keeps (all); None for an engine zip with no file."""

    def error(message: str) -> ParseError:
        return ParseError(message, file_name=zip_name)

    with whole.open() as stream:
        archive, entries = zips.open_zip(stream, max_members=max_members, max_total=max_uncompressed, error=error)
        return _read_members(zip_name, archive, entries, upload=upload, max_uncompressed=max_uncompressed, error=error, paths=paths)


def _read_members(zip_name: str, archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo], *, upload: bool, max_uncompressed: int,
                  error, paths: bool) -> list[ExportFile] | None:
    members = [entry for entry in entries if _is_member(entry, csv_only=upload)]
    if not members:
        if upload:
            raise error("no .csv file in the zip")
        return None  # an empty engine zip: kept as the one file it is
    names = _member_names(members, upload=upload, error=error, paths=paths)
    for entry, name in zip(members, names):
        if entry.flag_bits & 0x1:
            raise ParseError("encrypted member", file_name=f"{zip_name}/{name}")

    files = []
    budget = max_uncompressed
    for entry, name in zip(members, names):
        label = f"{zip_name}/{name}"
        member_data = zips.read_member(archive, entry, budget=budget, limit=max_uncompressed,
                                       error=lambda message, label=label: ParseError(message, file_name=label))
        budget -= len(member_data)
        files.append(ExportFile(name=name, data=member_data, label=label))
    return files


def _member_names(members: list[zipfile.ZipInfo], *, upload: bool, error, paths: bool = False) -> list[str]:
    names = [base_name(entry.filename) for entry in members]
    # A job's inputs name each other by path (an exposure's CSV beside it in its folder): keep them.
    if (len(set(names)) < len(names) or paths) and not upload:
        # An engine zip (the job's inputs) may hold one name in two folders: both are kept,
        # under their paths in the zip, so that neither is lost.
        names = [_member_path(entry.filename) for entry in members]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise error(f"two members are named {name!r}")
        seen.add(name)
    return names


def _member_path(path: str) -> str:
    parts = [part for part in posixpath.normpath(path.replace("\\", "/")).split("/") if part not in ("", ".", "..")]
    return "/".join(parts)


def _is_member(entry: zipfile.ZipInfo, *, csv_only: bool) -> bool:
    if entry.is_dir() or (csv_only and not entry.filename.lower().endswith(".csv")):
        return False
    # Archives made on macOS carry AppleDouble '._x.csv' shadows (binary) under __MACOSX/.
    path = entry.filename.replace("\\", "/")
    return "__MACOSX/" not in f"/{path}" and not base_name(path).startswith("._")
