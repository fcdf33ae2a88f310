"""NRML (the engine's XML: source models, logic trees, ruptures, exposures), read safely into plain nodes.

The engine itself cannot be imported here (it pins Django 4.2, and it is not pure), so this is a
small reader of its own: expat, with every line number kept so that an error names it, and with
no DTD at all. NRML never declares one; a document that does is refused before anything in it is
expanded, which rules out the entity tricks (billion laughs, external entities pulling local
files or URLs). Nesting depth and element count are bounded too.

    root = nrml.parse(data, file_name="ssm.xml")      # Node('nrml'), ParseError if not NRML
    root.version                                     # '0.4' or '0.5', from the namespace (None: none)
    model = root.only("sourceModel")                 # the single child of that name, else ParseError
    for source in model.children: ...

Names are matched without their namespace (`gml:posList` is `posList`), as the engine's own
`striptag` does; the NRML namespace of the root says which version it is.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from xml.parsers import expat

from kinds.base import ParseError

__all__ = ["Node", "element_dict", "floats", "number_or_text", "parse", "peek_root", "positions"]

NRML_NAMESPACES = {"http://openquake.org/xmlns/nrml/0.4": "0.4", "http://openquake.org/xmlns/nrml/0.5": "0.5"}
MAX_DEPTH = 64
MAX_ELEMENTS = 5_000_000


@dataclass
class Node:
    """One XML element: its local name, attributes (local names), text and children, and its line."""

    tag: str
    attrib: dict
    line: int
    children: list = field(default_factory=list)
    text: str = ""
    file_name: str = field(default="", repr=False)
    version: str | None = field(default=None, repr=False)  # on the root only

    def error(self, message: str) -> ParseError:
        return ParseError(message, file_name=self.file_name, line=self.line)

    def find(self, tag: str) -> Node | None:
        for child in self.children:
            if child.tag == tag:
                return child
        return None

    def all(self, tag: str) -> list[Node]:
        return [child for child in self.children if child.tag == tag]

    def only(self, tag: str) -> Node:
        """The child named `tag`, which must be there exactly once."""
        found = self.all(tag)
        if len(found) != 1:
            what = "no" if not found else f"{len(found)}"
            raise self.error(f"<{self.tag}> has {what} <{tag}> (expected one)")
        return found[0]

    def attr(self, name: str, default=None, *, required: bool = False) -> str | None:
        if name in self.attrib:
            return self.attrib[name]
        if required:
            raise self.error(f"<{self.tag}> has no {name!r} attribute")
        return default

    def number(self, name: str, *, required: bool = True) -> float | None:
        """An attribute read as a finite float (ParseError naming it otherwise)."""
        text = self.attr(name, required=required)
        return None if text is None else _float(self, text, f"attribute {name!r}")

    def value(self) -> float:
        """The element's text as a finite float: <dip>30.0</dip>."""
        return _float(self, self.text.strip(), f"<{self.tag}>")

    def child_value(self, tag: str, *, required: bool = True) -> float | None:
        child = self.find(tag)
        if child is None:
            if required:
                raise self.error(f"<{self.tag}> has no <{tag}>")
            return None
        return child.value()

    def child_text(self, tag: str) -> str | None:
        child = self.find(tag)
        return None if child is None else child.text.strip()


def _float(node: Node, text: str, what: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise node.error(f"{what}: {text[:40]!r} is not a number") from None
    if not math.isfinite(number):
        raise node.error(f"{what}: {text!r} is not a finite number")
    return number


def floats(node: Node) -> list[float]:
    """The element's text as whitespace-separated finite floats (a posList)."""
    return [_float(node, part, f"<{node.tag}>") for part in node.text.split()]


def positions(node: Node, dimensions: int = 2) -> list[tuple]:
    """A gml:posList or gml:pos as (lon, lat[, depth]) tuples, checked to be on the globe."""
    values = floats(node)
    if not values or len(values) % dimensions:
        raise node.error(f"<{node.tag}>: {len(values)} numbers, expected a multiple of {dimensions} "
                         f"({'lon lat depth' if dimensions == 3 else 'lon lat'} per point)")
    points = [tuple(values[i:i + dimensions]) for i in range(0, len(values), dimensions)]
    for point in points:
        lon, lat = point[0], point[1]
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            raise node.error(f"<{node.tag}>: point ({lon}, {lat}) is not a longitude and latitude")
    return points


_XML_DECL = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>)?\s*")


def peek_root(data: bytes) -> str | None:
    """The root element's local name, cheaply (for claims): 'nrml', or None when it is not XML."""
    head = _XML_DECL.sub(b"", data[:4096], count=1)
    # Skip comments before the root.
    while head.startswith(b"<!--"):
        end = head.find(b"-->")
        if end < 0:
            return None
        head = head[end + 3:].lstrip()
    match = re.match(rb"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)", head)
    return match.group(2).decode() if match else None


def parse(data: bytes, *, file_name: str, expect_nrml: bool = True) -> Node:
    """The document as a Node tree (ParseError with the line for malformed XML, a DTD, or a root that is not <nrml>)."""
    stack: list[Node] = []
    texts: list[list[str]] = []
    root: list[Node] = []
    count = 0
    parser = expat.ParserCreate(namespace_separator=" ")

    def line() -> int:
        return parser.CurrentLineNumber

    def refuse_dtd(*_args):
        raise ParseError("a DOCTYPE (DTD) is not allowed in NRML: entities are refused", file_name=file_name, line=line())

    def refuse_entity(*_args):
        raise ParseError("entity declarations are not allowed in NRML", file_name=file_name, line=line())

    def start(name, attrs):
        nonlocal count
        count += 1
        if count > MAX_ELEMENTS:
            raise ParseError(f"more than {MAX_ELEMENTS} elements", file_name=file_name, line=line())
        if len(stack) >= MAX_DEPTH:
            raise ParseError(f"elements nested deeper than {MAX_DEPTH}", file_name=file_name, line=line())
        namespace, _, local = name.rpartition(" ")
        node = Node(local, {key.rpartition(" ")[2]: value for key, value in attrs.items()}, line(), file_name=file_name)
        if stack:
            stack[-1].children.append(node)
        else:
            node.version = NRML_NAMESPACES.get(namespace)
            # The engine reads an <nrml> without a namespace too (classical/case_39's logic trees):
            # its version is None, the structure says the rest.
            if expect_nrml and (local != "nrml" or (namespace and node.version is None)):
                raise ParseError(f"not NRML: the root element is <{local}>"
                                 + (f" in namespace {namespace!r}" if namespace else " without a namespace")
                                 + " (expected <nrml>, of http://openquake.org/xmlns/nrml/0.4 or 0.5)",
                                 file_name=file_name, line=line())
            root.append(node)
        stack.append(node)
        texts.append([])

    def end(_name):
        node = stack.pop()
        node.text = "".join(texts.pop())

    def characters(text):
        if texts:
            texts[-1].append(text)

    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_entity
    parser.UnparsedEntityDeclHandler = refuse_entity
    parser.ExternalEntityRefHandler = refuse_entity
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise ParseError(f"malformed XML: {expat.ErrorString(exc.code)} (column {exc.offset + 1})",
                         file_name=file_name, line=exc.lineno) from None
    if not root:
        raise ParseError("no XML element", file_name=file_name, line=1)
    return root[0]


def element_dict(node: Node) -> dict:
    """A node's attributes and children as plain JSON (numbers where the text is one), like the engine's node_to_dict."""
    out: dict = {key: number_or_text(value) for key, value in node.attrib.items()}
    grouped: dict[str, list] = {}
    for child in node.children:
        grouped.setdefault(child.tag, []).append(
            element_dict(child) if (child.children or child.attrib) else _text_value(child.text))
    for tag, values in grouped.items():
        out[tag] = values[0] if len(values) == 1 else values
    return out


def number_or_text(text: str):
    """A finite float when the text is one, else the text: how an NRML attribute is kept in JSON."""
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


def _text_value(text: str):
    parts = text.split()
    if len(parts) > 1:
        values = [number_or_text(part) for part in parts]
        return values if all(isinstance(value, float) for value in values) else text.strip()
    return number_or_text(text.strip()) if parts else ""
