"""Average losses per asset: `avg_losses-rlzs` and `avg_losses-stats`, one CSV per realization or statistic.

    avg_losses-rlz-000_3.csv, avg_losses-mean_3.csv, avg_losses-quantile-0.25_3.csv
    #,,,,,,"generated_by=..., investigation_time=50.0, risk_investigation_time=50.0"
    asset_id,policy,taxonomy,lon,lat,nonstructural,structural
    a0,A,RM,81.29850,29.10980,4.25160E+01,2.31354E+02

Asset points (kinds/asset_values.py: the tag columns vary with the exposure); one value column per
loss type, the average loss in `risk_investigation_time`. `metadata.kind` is the realization or
statistic of the file name.
"""

from __future__ import annotations

from kinds.asset_values import read_asset_values
from kinds.base import Column, Export, ExportFile, Table
from kinds.named_csv import claims_by_name, name_matcher

NAME = "avg_losses"
TITLE = "Average losses per asset"
OUTPUT_TYPES = ("avg_losses-rlzs", "avg_losses-stats")
GEOMETRY = "point"
FILTERABLE: tuple = ()

_NAME = name_matcher(r"avg_losses-(?P<kind>rlz-[0-9]+|mean|max|std|quantile-[0-9.]+)")


def claims(file: ExportFile, export: Export) -> bool:
    return claims_by_name(OUTPUT_TYPES, _NAME, file, export)


def read(file: ExportFile, export: Export) -> Table:
    return read_asset_values(file, NAME, _NAME(file.name), lambda name: Column(name, "loss"))
