"""Uniform hazard spectra: `hazard_uhs-<kind>_<calc>.csv`, `quantile_uhs-<q>_<calc>.csv`.

One row per site: [custom_site_id,] lon, lat[, depth], then `<poe>~<IMT>` columns: the intensity
level of each IMT (PGA, SA(T)...) at that probability of exceedance. Grammar and reader shared
with the other hazard kinds: kinds/hazard_csv.py.
"""

from kinds import hazard_csv
from kinds.base import Export, ExportFile, ParseError, Table

NAME = hazard_csv.UHS
TITLE = "Uniform hazard spectra"
OUTPUT_TYPES = ("uhs",)
GEOMETRY = "point"
FILTERABLE: tuple[str, ...] = ()


def claims(file: ExportFile, export: Export) -> bool:
    return hazard_csv.claims(NAME, OUTPUT_TYPES, file, export)


def read(file: ExportFile, export: Export) -> Table:
    return _own(hazard_csv.read(file, export), file)


def _own(table: Table, file: ExportFile) -> Table:
    if table.artifact_type != NAME:
        raise ParseError(f"the columns are those of {table.artifact_type}, not of {NAME}", file_name=file.error_name)
    return table
