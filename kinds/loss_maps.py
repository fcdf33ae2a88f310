"""Loss maps per asset: `loss_maps-rlzs` and `loss_maps-stats` of classical risk, one CSV per realization or statistic.

    loss_maps-mean_4.csv (a single-file download: output-36-loss_maps-mean_4.csv), loss_maps-rlz-0_4.csv
    #,,,,,,"generated_by=..., kind='mean', risk_investigation_time=50.0"
    asset_id,taxonomy,lon,lat,structural~poe-0.1,structural~poe-0.05,structural~poe-0.01
    a231,UFB,81.56850,29.56420,3.05406E+01,3.14777E+04,5.73217E+04

Asset points (kinds/asset_values.py); each value column `<loss type>~poe-<poe>` is the loss with
that probability of exceedance in `risk_investigation_time` (quantity `loss`, its `poe` in the
column's metadata), one per loss type and `conditional_loss_poes` of the job.
"""

from __future__ import annotations

import math
import re

from kinds.asset_values import read_asset_values
from kinds.base import Column, Export, ExportFile, Table
from kinds.named_csv import claims_by_name, name_matcher

NAME = "loss_maps"
TITLE = "Loss maps per asset"
OUTPUT_TYPES = ("loss_maps-rlzs", "loss_maps-stats")
GEOMETRY = "point"
FILTERABLE: tuple = ()

_NAME = name_matcher(r"loss_maps-(?P<kind>rlz-[0-9]+|mean|max|std|quantile-[0-9.]+)")
_COLUMN = re.compile(r"[a-z_]+~poe-(?P<poe>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)").fullmatch


def claims(file: ExportFile, export: Export) -> bool:
    return claims_by_name(OUTPUT_TYPES, _NAME, file, export)


def read(file: ExportFile, export: Export) -> Table:
    return read_asset_values(file, NAME, _NAME(file.name), _column)


def _column(name: str) -> Column | None:
    match = _COLUMN(name)
    if not match:
        return None
    poe = float(match["poe"])
    return Column(name, "loss", poe=poe) if math.isfinite(poe) and 0 < poe <= 1 else None
