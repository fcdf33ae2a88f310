"""A job's inputs: the archive the engine's `/v1/calc/run` takes (a zip with a job.ini and every file it names).

    archive = read_archive("model.zip", data)                     # or read_files({"job.ini": b"...", ...})
    archive.job_ini          'job.ini'   (the engine's choice: the first .ini in path order, unless named)
    archive.params           {'calculation_mode': 'classical', 'source_model_logic_tree_file': 'ssmLT.xml', ...}
    archive.files            (InputFile(path='ssmLT.xml', role='source_model_logic_tree', size=..., sha256=...,
                               referenced_by=(('job.ini', 32, 'source_model_logic_tree_file'),)), ...)
    archive.tree()           {'job.ini': 'job_ini', 'in': {'ssm.xml': 'source_model'}, ...}
    archive.export()         kinds.base.Export(output_type='input', roles={path: role}) for kinds.read_file

Checked, each refusal a ParseError naming the file, the line and the problem (nothing is kept of
a refused archive: this returns or raises, and stores nothing):

- the zip: a readable zip, at most `max_members` entries, at most `max_total` bytes uncompressed
  (declared and actually decompressed), no member that expands more than `max_ratio` times (a
  zip bomb), no encrypted member;
- member names: no absolute path, no `..`, no symbolic link (the Unix mode in the entry's
  external attributes), no name given twice (after normalisation, and ignoring case, as a
  case-insensitive file system would merge them);
- the job.ini parses as the engine parses it (kinds/job_ini.py) and has a calculation_mode;
- every file it names is in the archive: the job.ini's `*_file`/`*_csv`/`*_hdf5` keys, the source
  models of the source model logic tree (and their `.hdf5` companions when present, as the engine
  takes them), the CSV assets of an exposure XML, the policies of a reinsurance XML; each logic
  tree and exposure XML named must itself be well-formed NRML. A GSIM table the GSIM logic tree
  names is taken when the archive has it, else listed in `external` (a GSIM may ship its own
  tables, which the engine finds in hazardlib: gsim_lt.abs_paths keeps only the job's that exist).

Files no one names are kept (role `unreferenced`): the engine ignores them, and they are the
modeller's. Pure Python, no Django.
"""

from __future__ import annotations

import hashlib
import posixpath
import stat
import unicodedata
from dataclasses import dataclass, field
from typing import Mapping

from kinds import exposure_model, job_ini, logic_tree, nrml, zips
from kinds.base import Export, ExportFile, ParseError

__all__ = ["InputArchive", "InputFile", "Limits", "read_archive", "read_files", "roles_of"]

OUTPUT_TYPE = "input"
JOB_INI = "job_ini"
UNREFERENCED = "unreferenced"


@dataclass(frozen=True)
class Limits:
    max_total: int = 200 * 1024 * 1024  # bytes, uncompressed, the whole archive
    max_members: int = 10_000
    max_ratio: int = 200  # uncompressed / compressed size of one member, for members over ratio_floor
    ratio_floor: int = 1024 * 1024  # small members may compress well (a 100 kB CSV of zeros)


@dataclass(frozen=True)
class InputFile:
    path: str  # in the archive, '/'-separated, normalized
    role: str  # 'job_ini', the engine's input type ('source_model_logic_tree', 'exposure', ...), or 'unreferenced'
    size: int
    sha256: str
    # Who names it: (file, line, key or element); empty for the job.ini and unreferenced files.
    referenced_by: tuple = ()
    names: tuple = ()  # the dict keys of a `{name: file}` value (consequence_file = {'taxonomy': ...})

    def as_dict(self) -> dict:
        return {"path": self.path, "role": self.role, "size": self.size, "sha256": self.sha256,
                "referenced_by": [{"file": f, "line": line, "key": key} for f, line, key in self.referenced_by],
                **({"names": list(self.names)} if self.names else {})}


@dataclass(frozen=True)
class InputArchive:
    name: str  # the archive's name, for messages
    job_ini: str  # the job.ini's path
    params: dict  # the job.ini's parameters, as strings (kinds/job_ini.py)
    files: tuple  # InputFile, in path order
    data: Mapping[str, bytes] = field(repr=False, compare=False, default_factory=dict)
    lines: dict = field(repr=False, default_factory=dict)  # job.ini key -> line
    # Names the engine looks for elsewhere when the archive lacks them (a GSIM's own tables):
    # {path, role, referenced_by, line}.
    external: tuple = ()

    @property
    def calculation_mode(self) -> str:
        return self.params["calculation_mode"].strip()

    @property
    def description(self) -> str:
        return self.params.get("description", "").strip()

    @property
    def roles(self) -> dict[str, str]:
        return {file.path: file.role for file in self.files}

    def inputs(self) -> dict:
        """{role: path, or [paths] when several}: like the engine's oqparam.inputs, relative paths."""
        out: dict = {}
        for file in self.files:
            if file.role == UNREFERENCED:
                continue
            if file.role in out:
                previous = out[file.role]
                out[file.role] = (previous if isinstance(previous, list) else [previous]) + [file.path]
            else:
                out[file.role] = file.path
        return out

    def tree(self) -> dict:
        """The folders and files as nested dicts, each file's value its role."""
        root: dict = {}
        for file in self.files:
            *folders, base = file.path.split("/")
            node = root
            for folder in folders:
                node = node.setdefault(folder, {})
            node[base] = file.role
        return root

    def export(self, name: str | None = None) -> Export:
        """The files as an engine export of type `input`, with their roles: what kinds.read_file reads."""
        display = name or self.name
        files = [ExportFile(name=file.path, data=self.data[file.path], label=f"{display}/{file.path}") for file in self.files]
        return Export(files=files, output_type=OUTPUT_TYPE, name=display, roles=self.roles)

    def as_dict(self) -> dict:
        """JSON: what an input model stores beside the bytes."""
        return {"job_ini": self.job_ini, "calculation_mode": self.calculation_mode, "description": self.description,
                "params": dict(self.params), "inputs": self.inputs(), "files": [file.as_dict() for file in self.files],
                "tree": self.tree(), "external": [dict(item) for item in self.external]}


def read_archive(name: str, data: bytes, *, job_ini_name: str | None = None, limits: Limits = Limits()) -> InputArchive:
    """A zip of a job's inputs, checked (ParseError otherwise)."""
    return _checked(name, _unzip(name, data, limits), job_ini_name)


def read_files(files: Mapping[str, bytes], *, name: str = "upload", job_ini_name: str | None = None,
               limits: Limits = Limits()) -> InputArchive:
    """A job.ini and its files sent one by one ({path: bytes}), checked like an archive's members."""
    if len(files) > limits.max_members:
        raise ParseError(f"more than {limits.max_members} files", file_name=name)
    total = sum(len(data) for data in files.values())
    if total > limits.max_total:
        raise ParseError(f"the files hold {total} bytes, over the limit of {limits.max_total}", file_name=name)
    members: dict[str, bytes] = {}
    folded: dict[str, str] = {}
    for path, data in files.items():
        clean = _member_name(name, path)
        _add(members, folded, clean, data, name)
    return _checked(name, members, job_ini_name)


def roles_of(export: Export) -> Export:
    """An engine `input` export with its files' roles, as far as its job.ini says (never raises).

    The engine's own zip of a calc's inputs is taken as the engine made it: whatever cannot be
    read leaves its files without a role (kept as files), where an upload would be refused.
    """
    members = {file.name: file.data for file in export.files}
    try:
        archive = _checked(export.name, members, None)
    except ParseError:
        return export
    return Export(files=export.files, output_type=export.output_type, name=export.name, roles=archive.roles)


# --- the zip -------------------------------------------------------------------------------------


def _unzip(name: str, data: bytes, limits: Limits) -> dict[str, bytes]:
    def error(message: str, member: str | None = None) -> ParseError:
        return ParseError(message, file_name=f"{name}/{member}" if member else name)

    archive, entries = zips.open_zip(data, max_members=limits.max_members, max_total=limits.max_total, error=error)
    members: dict[str, bytes] = {}
    folded: dict[str, str] = {}
    budget = limits.max_total
    for entry in entries:
        # The high word of the external attributes is the Unix st_mode (Info-ZIP, Python): a link
        # is refused whatever system the entry claims to come from (its extractor may honour it).
        mode = entry.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise error("a symbolic link: an archive holds files only", entry.filename)
        if entry.is_dir() or _ignored(entry.filename):
            continue
        path = _member_name(name, entry.filename)
        if entry.flag_bits & 0x1:
            raise error("an encrypted member", path)
        if entry.file_size > limits.ratio_floor and entry.file_size > limits.max_ratio * max(entry.compress_size, 1):
            raise error(f"expands {entry.file_size // max(entry.compress_size, 1)} times "
                        f"({entry.compress_size} to {entry.file_size} bytes), over the limit of {limits.max_ratio}: a zip bomb",
                        path)
        content = zips.read_member(archive, entry, budget=budget, limit=limits.max_total, max_ratio=limits.max_ratio,
                                   ratio_floor=limits.ratio_floor, error=lambda message, path=path: error(message, path))
        budget -= len(content)
        _add(members, folded, path, content, name)
    if not members:
        raise error("the zip holds no file")
    return members


def _ignored(filename: str) -> bool:
    # Archives made on macOS carry AppleDouble '._x' shadows under __MACOSX/.
    path = filename.replace("\\", "/")
    return "__MACOSX/" in f"/{path}" or posixpath.basename(path).startswith("._")


def _member_name(name: str, raw: str) -> str:
    def error(message):
        return ParseError(message, file_name=f"{name}/{raw}")

    path = raw.replace("\\", "/")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise error("an absolute path: every member must be inside the archive")
    if any(part == ".." for part in path.split("/")):
        raise error("a path with '..': every member must stay inside the archive")
    if "\x00" in path or any(unicodedata.category(c) == "Cc" for c in path):
        raise error("a control character in the name")
    clean = posixpath.normpath(path)
    if clean in (".", ""):
        raise error("an empty name")
    return clean


def _add(members: dict, folded: dict, path: str, content: bytes, name: str) -> None:
    key = path.casefold()
    if key in folded:
        same = "twice" if folded[key] == path else f"twice ({folded[key]!r} and {path!r} differ only in case)"
        raise ParseError(f"a name given {same}", file_name=f"{name}/{path}")
    folded[key] = path
    members[path] = content



# --- the job and its references ------------------------------------------------------------------


def _checked(name: str, members: dict[str, bytes], job_ini_name: str | None) -> InputArchive:
    inis = sorted(path for path in members if path.endswith(".ini"))  # the engine's test is case-sensitive
    if job_ini_name is not None:
        wanted = posixpath.normpath(job_ini_name.replace("\\", "/"))
        if wanted not in members:
            raise ParseError(f"no {job_ini_name!r} in the archive (its .ini files: {', '.join(inis) or 'none'})", file_name=name)
        ini_path = wanted
    elif not inis:
        raise ParseError("no job.ini: the archive has no .ini file", file_name=name)
    else:
        ini_path = inis[0]  # readinput.extract_from_zip: the first .ini, in path order
    job = job_ini.parse(members[ini_path], ini_path)

    roles: dict[str, str] = {ini_path: JOB_INI}
    external: list[dict] = []
    referenced: dict[str, list] = {}
    names: dict[str, list] = {}

    def claim(path: str, role: str, by: str, line: int | None, key: str, missing_message: str | None = None):
        if path not in members:
            raise ParseError(missing_message or f"{key} names {path!r}, which is not in the archive", file_name=by, line=line)
        # A file named twice (sites_csv and site_model_file, say) keeps its first role: the one its kind reads it by.
        roles.setdefault(path, role)
        referenced.setdefault(path, []).append((by, line, key))

    for ref in job_ini.references(job, ini_path):
        claim(ref.path, ref.role, ini_path, ref.line, ref.key)
        if ref.name is not None:
            names.setdefault(ref.path, []).append(ref.name)

    for path, role in list(roles.items()):
        if role in logic_tree.ROLES:
            tree = logic_tree.parse(members[path], path)

            def tree_error(message, line, path=path):
                return ParseError(message, file_name=path, line=line)

            for target, target_role, line, element in logic_tree.referenced_files(tree, path, role, tree_error):
                if target_role == "gsim_table" and target not in members:
                    # A table a GSIM ships itself (NGAEast's 'nga_east_usgs_8.hdf5' is in hazardlib):
                    # the engine takes a table from the job's folder only when it is there (gsim_lt.abs_paths).
                    external.append({"path": target, "role": target_role, "referenced_by": path, "line": line})
                    continue
                claim(target, target_role, path, line, element,
                      f"<{element}> names {target!r}, which is not in the archive")
                if target_role == "source_model":
                    companion = posixpath.splitext(target)[0] + ".hdf5"
                    if companion in members:  # hazardlib's collect_info takes it when it exists
                        claim(companion, "source_model_hdf5", path, line, element)
        elif role == "exposure" and nrml.peek_root(members[path]) == "nrml":
            head = exposure_model.header(members[path], path)
            for target, line in exposure_model.csv_paths(head, path):
                claim(target, "exposure_assets", path, line, "assets",
                      f"<assets> names {target!r}, which is not in the archive")
        elif role == "reinsurance" and nrml.peek_root(members[path]) == "nrml":
            root = nrml.parse(members[path], file_name=path)
            policies = root.only("reinsuranceModel").find("policies")
            if policies is not None and policies.text.strip():
                target = job_ini.resolve(policies.text.strip(), posixpath.dirname(path),
                                         lambda m, n=policies: n.error(m))
                claim(target, "reinsurance_policies", path, policies.line, "policies",
                      f"<policies> names {target!r}, which is not in the archive")

    files = []
    for path in sorted(members):
        content = members[path]
        files.append(InputFile(path, roles.get(path, UNREFERENCED), len(content), hashlib.sha256(content).hexdigest(),
                               tuple(referenced.get(path, ())), tuple(names.get(path, ()))))
    return InputArchive(name, ini_path, dict(job.params), tuple(files), dict(members), dict(job.lines), tuple(external))
