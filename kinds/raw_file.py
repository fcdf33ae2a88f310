"""Any file of an engine export no other kind reads: kept byte for byte, with no rows.

Nothing the engine exported is dropped: an import stores a report (.rst), an npz, an HDF5
datastore, the job's input zip's members, or a CSV Icebox cannot parse yet, as an artifact of
this kind; `metadata.source.output_type` (written by the import) says what it was. Uploads are
for engine files Icebox can read: the registry never gives an upload to this kind.
"""

from __future__ import annotations

from kinds.base import Export, ExportFile, Table

NAME = "file"
TITLE = "File kept as exported"
OUTPUT_TYPES: tuple[str, ...] = ()  # every output type, through the fallback, not by name
GEOMETRY = None
FILTERABLE: tuple[str, ...] = ()

# By the name's extension, as the engine's export types are named (api.md section 4).
CONTENT_TYPES = {
    "csv": "text/csv",
    "zip": "application/zip",
    "rst": "text/x-rst",
    "txt": "text/plain",
    "ini": "text/plain",
    "xml": "application/xml",
    "json": "application/json",
    "geojson": "application/geo+json",
    "hdf5": "application/x-hdf5",
    "h5": "application/x-hdf5",
    "npz": "application/octet-stream",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"


def claims(file: ExportFile, export: Export) -> bool:
    # Only engine exports: the registry tries this kind last, so it claims what no kind did.
    return export.output_type is not None


def read(file: ExportFile, export: Export) -> Table:
    return Table(
        file_name=file.name,
        artifact_type=NAME,
        metadata={"format": extension(file.name)} if extension(file.name) else {},
        columns=[],
        geometry=None,
        content_type=content_type(file.name),
        source=file,  # stored from the file itself: never read whole
    )


def extension(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base.strip(".") else ""


def content_type(name: str) -> str:
    return CONTENT_TYPES.get(extension(name), DEFAULT_CONTENT_TYPE)
