"""A calculation's artifacts arranged the way the engine arranges its exports.

Output type (`hcurves`), then the statistic or realization (`kind`: `mean`, `quantile-0.15`,
`rlz-001`), then the IMT (`PGA`) or the return period (`475y`) where the file has one; each
artifact a leaf under the deepest level its metadata names. A file whose metadata names no
kind (realizations, events, the members of a gmf_data zip, a file kept raw) sits directly under
its output type. Nothing here knows an output type by name: the levels come from what the
import stored (ImportedOutput.output_type, the artifact's metadata), so a kind added later
takes its place in the tree with no change here.

Pure functions on the rows the caller fetched: no query is made.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

# The engine's web server names a single-file download `output-<output id>-<file name>`; the file
# its exporter writes (oq engine --export-outputs, and every member of its zips) has no prefix.
_DOWNLOAD_PREFIX = "output-{output_id}-"
_QUANTILE_RE = re.compile(r"quantile-(?P<value>[0-9.eE+-]+)")
_RLZ_RE = re.compile(r"rlz-(?P<number>[0-9]+)")


def engine_file_name(*, output_id: int, export_name: str, file_name: str) -> str:
    """The name the engine's exporter gives the file: a zip's member as it is in the zip; a
    single-file download without the `output-N-` its web server puts in front."""
    prefix = _DOWNLOAD_PREFIX.format(output_id=output_id)
    if file_name == export_name and file_name.startswith(prefix) and len(file_name) > len(prefix):
        return file_name[len(prefix):]
    return file_name


def export_path(*, output_type: str, output_id: int, export_name: str, file_name: str) -> str:
    """Where the file sits in the calculation's export zip (and its tree): `<output type>/<file>`."""
    return f"{output_type}/{engine_file_name(output_id=output_id, export_name=export_name, file_name=file_name)}"


@dataclass
class Leaf:
    """One stored file, where the engine had it; `item` is the caller's own (the provenance row)."""

    item: object
    metadata: dict
    output_id: int
    output_type: str
    export_name: str
    file_name: str

    @property
    def engine_file_name(self) -> str:
        return engine_file_name(output_id=self.output_id, export_name=self.export_name, file_name=self.file_name)

    @property
    def path(self) -> str:
        return f"{self.output_type}/{self.engine_file_name}"


@dataclass
class Node:
    level: str  # output_type, kind, imt or return_period
    name: str
    children: list[Node] = field(default_factory=list)
    artifacts: list[Leaf] = field(default_factory=list)
    _by_name: dict = field(default_factory=dict, repr=False)

    def child(self, level: str, name: str) -> Node:
        key = (level, name)
        if key not in self._by_name:
            self._by_name[key] = Node(level, name)
            self.children.append(self._by_name[key])
        return self._by_name[key]


def calculation_tree(leaves: Iterable[Leaf], *, imt_order: Iterable[str] = ()) -> list[Node]:
    """The output-type nodes, in the engine's order of its outputs (by output id), each level below
    in the engine's order: mean, quantiles by value, realizations by number, any other kind by
    name; IMTs in the job's order (`imt_order`, from its parameters) then by name; return periods
    by value; the leaves of a node by file name."""
    root = Node("calculation", "")
    first_output: dict[str, int] = {}
    for leaf in leaves:
        first_output[leaf.output_type] = min(first_output.get(leaf.output_type, leaf.output_id), leaf.output_id)
        node = root.child("output_type", leaf.output_type)
        for level, name in _levels(leaf.metadata):
            node = node.child(level, name)
        node.artifacts.append(leaf)
    imts = {imt: position for position, imt in enumerate(imt_order)}
    root.children.sort(key=lambda node: (first_output[node.name], node.name))
    for node in root.children:
        _sort(node, imts)
    return root.children


def _levels(metadata: dict) -> list[tuple[str, str]]:
    kind = metadata.get("kind")
    if not isinstance(kind, str) or not kind:
        return []
    levels = [("kind", kind)]
    imt, return_period = metadata.get("imt"), metadata.get("return_period")
    if isinstance(imt, str) and imt:
        levels.append(("imt", imt))
    elif isinstance(return_period, int) and not isinstance(return_period, bool):
        levels.append(("return_period", f"{return_period}y"))
    return levels


def _sort(node: Node, imts: dict[str, int]) -> None:
    node.artifacts.sort(key=lambda leaf: (leaf.engine_file_name, leaf.output_id))
    # The level leads the key: one node may hold an IMT level for some files and a return period
    # level for others.
    node.children.sort(key=lambda child: (child.level, _order(child, imts)))
    for child in node.children:
        _sort(child, imts)


def _order(node: Node, imts: dict[str, int]) -> tuple:
    if node.level == "kind":
        if node.name == "mean":
            return (0, 0.0, "")
        if match := _QUANTILE_RE.fullmatch(node.name):
            try:
                return (1, float(match["value"]), node.name)
            except ValueError:  # '1e' and the like: a name, ordered as one
                pass
        if match := _RLZ_RE.fullmatch(node.name):
            return (2, float(match["number"]), node.name)
        return (3, 0.0, node.name)
    if node.level == "imt":
        return (imts.get(node.name, len(imts)), node.name)
    if node.level == "return_period":
        return (int(node.name.removesuffix("y")), node.name)
    return (0, node.name)


def imt_order(oqparam: dict | None) -> list[str]:
    """The job's IMTs in its own order, from the parameters the import stored (when it did)."""
    if not isinstance(oqparam, dict):
        return []
    for key in ("hazard_imtls", "imtls"):
        value = oqparam.get(key)
        if isinstance(value, dict):
            return [str(imt) for imt in value]
    return []
