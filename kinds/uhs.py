"""Uniform hazard spectra: `hazard_uhs-<kind>_<calc>.csv`, `quantile_uhs-<q>_<calc>.csv`.

One row per site: [custom_site_id,] lon, lat[, depth], then `<poe>~<IMT>` columns: the intensity
level of each IMT (PGA, SA(T)...) at that probability of exceedance. Grammar and reader shared
with the other hazard kinds: kinds/hazard_csv.py.
"""

from kinds import hazard_csv
from kinds.base import Export, ExportFile, Table

NAME = hazard_csv.UHS
TITLE = "Uniform hazard spectra"
OUTPUT_TYPES = ("uhs",)
GEOMETRY = "point"
FILTERABLE: tuple[str, ...] = ()


def claims(file: ExportFile, export: Export) -> bool:
    return hazard_csv.claims(NAME, OUTPUT_TYPES, file, export)


def read(file: ExportFile, export: Export) -> Table:
    return hazard_csv.read_as(NAME, file, export)
