"""Logic trees of a job's inputs: the source model and GSIM logic trees (NRML 0.4 or 0.5), as JSON.

    <logicTree logicTreeID="lt1">
      <logicTreeBranchingLevel branchingLevelID="bl1">          (0.4; 0.5 may omit the level)
        <logicTreeBranchSet uncertaintyType="gmpeModel" branchSetID="bs1" applyToTectonicRegionType="...">
          <logicTreeBranch branchID="b11">
            <uncertaintyModel>AbrahamsonEtAl2014</uncertaintyModel>
            <uncertaintyWeight>0.16</uncertaintyWeight>

One row per branch, without geometry: `logicTreeID`, `branchingLevelID`, `branchSetID`, `uncertaintyType`, the
branch set's `applyTo...` attributes, `branchID`, `uncertaintyModel` (the text, trimmed: a file
name, a GSIM name or a TOML block) and `uncertaintyWeight` (a number; the weight of the first
`<uncertaintyWeight>` without an `imt`, the others in `weights` as JSON text {imt: weight}).
`metadata.logic_tree` holds the whole tree as JSON: `logicTreeID`, `branchSets`, each with its
attributes and `branches`. Claimed in a job's inputs (role `source_model_logic_tree` or
`gsim_logic_tree`, from the job.ini).
"""

from __future__ import annotations

import ast
import json
import posixpath

from kinds import nrml
from kinds.base import FLOAT, TEXT, Column, Export, ExportFile, Table

NAME = "logic_tree"
TITLE = "Logic tree"
OUTPUT_TYPES: tuple[str, ...] = ()  # a job's inputs only: claimed by role
GEOMETRY = None
FILTERABLE = ("branchSetID", "uncertaintyType")
ROLES = ("source_model_logic_tree", "gsim_logic_tree")

COLUMNS = [Column("logicTreeID", "logic_tree", dtype=TEXT),
           Column("branchingLevelID", "branching_level", dtype=TEXT), Column("branchSetID", "branch_set", dtype=TEXT),
           Column("uncertaintyType", "uncertainty_type", dtype=TEXT),
           Column("applyToTectonicRegionType", "tectonic_region_type", dtype=TEXT),
           Column("applyToSources", "source_id", dtype=TEXT), Column("applyToBranches", "branch_id", dtype=TEXT),
           Column("branchID", "branch_id", dtype=TEXT), Column("uncertaintyModel", "uncertainty_model", dtype=TEXT),
           Column("uncertaintyWeight", "weight", dtype=FLOAT), Column("weights", "weight", dtype=TEXT)]
# The engine's uncertainty types whose model names source model files (hazardlib/logictree.py collect_info).
SOURCE_MODEL_TYPES = ("sourceModel", "extendModel")


def claims(file: ExportFile, export: Export) -> bool:
    return export.roles.get(file.name) in ROLES


def read(file: ExportFile, export: Export) -> Table:
    tree = parse(file.data, file.error_name)
    rows = []
    for branch_set in tree["branchSets"]:
        for branch in branch_set["branches"]:
            weights = branch["weights"]
            rows.append((None, (branch_set["logicTreeID"], branch_set.get("branchingLevelID"), branch_set.get("branchSetID"),
                                branch_set.get("uncertaintyType"), branch_set.get("applyToTectonicRegionType"),
                                branch_set.get("applyToSources"), branch_set.get("applyToBranches"),
                                branch["branchID"], branch["uncertaintyModel"], branch["uncertaintyWeight"],
                                json.dumps(weights) if weights else None)))
    metadata = {"nrml_version": tree.pop("nrml_version"), "role": export.roles.get(file.name), "logic_tree": tree,
                "branch_sets": len(tree["branchSets"]), "branches": len(rows)}
    return Table(file.name, NAME, metadata, COLUMNS, GEOMETRY, data=file.data, content_type="application/xml",
                 _rows=lambda: iter(rows))


def parse(data: bytes, file_name: str) -> dict:
    """The tree as JSON: {logicTreeID, nrml_version, branchSets: [{...attributes, line, branches: [...]}]}.

    A file may hold several <logicTree> (classical/case_06: one per region, the job picks one):
    `logicTrees` lists their ids, and each branch set says its `logicTreeID`.
    """
    root = nrml.parse(data, file_name=file_name)
    trees = root.all("logicTree")
    if not trees:
        raise root.error("<nrml> has no <logicTree>")
    branch_sets = []
    for tree in trees:
        tree_id = tree.attr("logicTreeID")
        for child in tree.children:
            if child.tag == "logicTreeBranchingLevel":
                for branch_set in child.children:
                    if branch_set.tag != "logicTreeBranchSet":
                        raise branch_set.error(f"<{branch_set.tag}> in a branching level (expected <logicTreeBranchSet>)")
                    branch_sets.append(_branch_set(branch_set, child.attr("branchingLevelID"), tree_id))
            elif child.tag == "logicTreeBranchSet":
                branch_sets.append(_branch_set(child, None, tree_id))
            else:
                raise child.error(f"<{child.tag}> in <logicTree> (expected <logicTreeBranchingLevel> or <logicTreeBranchSet>)")
        if not any(branch_set["logicTreeID"] == tree_id for branch_set in branch_sets):
            raise tree.error("the logic tree has no branch set")
    return {"logicTreeID": trees[0].attr("logicTreeID"), "logicTrees": [tree.attr("logicTreeID") for tree in trees],
            "nrml_version": root.version, "branchSets": branch_sets}


def _branch_set(node: nrml.Node, level: str | None, tree_id: str | None) -> dict:
    kind = node.attr("uncertaintyType", required=True)
    out = {"logicTreeID": tree_id, "branchingLevelID": level, **node.attrib, "line": node.line, "branches": []}
    for branch in node.children:
        if branch.tag != "logicTreeBranch":
            continue
        model = branch.find("uncertaintyModel")
        if model is None:
            raise branch.error(f"branch {branch.attr('branchID')!r} has no <uncertaintyModel>")
        weight, weights = None, {}
        for node_weight in branch.all("uncertaintyWeight"):
            imt = node_weight.attr("imt")
            if imt is None and weight is None:
                weight = node_weight.value()
            else:
                weights[imt or ""] = node_weight.value()
        if weight is None and not weights:
            raise branch.error(f"branch {branch.attr('branchID')!r} has no <uncertaintyWeight>")
        # branchID may be left out (scenario/case_13): the engine numbers such branches itself.
        out["branches"].append({"branchID": branch.attr("branchID"), "uncertaintyModel": _trimmed(model.text),
                                "uncertaintyWeight": weight, "weights": weights, "line": model.line,
                                **{k: v for k, v in branch.attrib.items() if k != "branchID"}})
    if not out["branches"]:
        raise node.error(f"branch set {node.attr('branchSetID')!r} ({kind}) has no branch")
    return out


def _trimmed(text: str) -> str:
    # A TOML block is indented with the XML: each of its lines trimmed, joined by newlines.
    return "\n".join(line.strip() for line in text.strip().splitlines())


def referenced_files(tree: dict, tree_path: str, role: str, error) -> list[tuple[str, str, int, str]]:
    """(path, role, line, element) of every file the tree names, relative to the archive root.

    Source model logic trees: the files of `sourceModel`/`extendModel` branches (blank-separated),
    as hazardlib's collect_info reads them. GSIM logic trees: the `*_file` and `*_table` entries of
    a branch's TOML (`gmpe_table = "./Wcrust_low_rhypo.hdf5"`), as gsim_lt.rel_paths reads them.
    `error(message, line)` makes the ParseError for a name that cannot be one.
    """
    from kinds.job_ini import resolve  # noqa: PLC0415 - job_ini is the one that knows paths

    base = posixpath.dirname(tree_path)
    found = []
    for branch_set in tree["branchSets"]:
        for branch in branch_set["branches"]:
            line = branch["line"]
            if role == "source_model_logic_tree" and branch_set.get("uncertaintyType") in SOURCE_MODEL_TYPES:
                names = branch["uncertaintyModel"].split()
                if len(set(names)) < len(names):
                    raise error(f"branch {branch['branchID']!r} names a source model twice", line)
                for name in names:
                    found.append((resolve(name, base, lambda m: error(m, line)), "source_model", line, "uncertaintyModel"))
            elif role == "gsim_logic_tree":
                for name in _toml_paths(branch["uncertaintyModel"], lambda m: error(m, line)):
                    found.append((resolve(name, base, lambda m: error(m, line)), "gsim_table", line, "uncertaintyModel"))
    return found


def _toml_paths(text: str, error) -> list[str]:
    paths = []
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and "=" not in value and name.rstrip().endswith(("_file", "_table")):
            try:
                path = ast.literal_eval(value.strip())
            except (ValueError, SyntaxError):
                raise error(f"{name.strip()} = {value.strip()[:60]!r} is not a quoted file name") from None
            if not isinstance(path, str):
                raise error(f"{name.strip()} = {value.strip()[:60]!r} is not a quoted file name")
            paths.append(path)
    return paths
