"""Hazard maps: `hazard_map-<kind>_<calc>.csv` (`<IMT>-<poe>` columns), `hazard_map-<kind>-<N>y_<calc>.csv`
(the `hmaps-stats` export: bare IMT columns, the return period N in the name), their `quantile_map-` twins.

One row per site: [custom_site_id,] lon, lat[, depth], then the intensity levels with the given
probability of exceedance in the investigation time. Grammar and reader shared: kinds/hazard_csv.py.
"""

from kinds import hazard_csv
from kinds.base import Export, ExportFile, Table

NAME = hazard_csv.HAZARD_MAP
TITLE = "Hazard maps"
OUTPUT_TYPES = ("hmaps", "hmaps-stats")
GEOMETRY = "point"
FILTERABLE: tuple[str, ...] = ()


def claims(file: ExportFile, export: Export) -> bool:
    return hazard_csv.claims(NAME, OUTPUT_TYPES, file, export)


def read(file: ExportFile, export: Export) -> Table:
    return hazard_csv.read_as(NAME, file, export)
