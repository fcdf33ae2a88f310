"""Hazard curves: `hazard_curve-<kind>-<IMT>_<calc>.csv`, `quantile_curve-<q>-<IMT>_<calc>.csv`.

One row per site: [custom_site_id,] lon, lat, depth, then `poe-<iml>` columns (the PoE of
exceeding that level in the investigation time), for the one IMT the metadata row or the file
name names. Grammar and reader shared with the other hazard kinds: kinds/hazard_csv.py.
"""

from kinds import hazard_csv
from kinds.base import Export, ExportFile, Table

NAME = hazard_csv.HAZARD_CURVE
TITLE = "Hazard curves"
OUTPUT_TYPES = ("hcurves",)
GEOMETRY = "point"
FILTERABLE: tuple[str, ...] = ()


def claims(file: ExportFile, export: Export) -> bool:
    return hazard_csv.claims(NAME, OUTPUT_TYPES, file, export)


def read(file: ExportFile, export: Export) -> Table:
    return hazard_csv.read_as(NAME, file, export)
