"""Average damage per asset: `damages-rlzs` and `damages-stats`, one CSV per realization or statistic.

    avg_damages-rlz-000_2.csv, avg_damages-mean_2.csv (a single-file download: output-8-avg_damages-mean_2.csv)
    asset_id,NAME_1,taxonomy,lon,lat,structural-no_damage,structural-slight,...,structural-complete,structural-losses
    s1,GE,MUR-CLBRS-LWAL-HBET-1;2/GOV2,44.96290,42.10660,9.817847E+01,7.774899E-01,...,1.481637E+00

Asset points (kinds/asset_values.py); value columns are `<loss type>-<damage state>` (the number
of buildings in that state; quantity `damage`) and `<loss type>-<consequence>` for the job's
consequence models (`losses`, `fatalities`, ...; quantity `consequence`). A job with
`modal_damage_state = true` writes instead `modal-ds-<loss type>` (or `modal-ds-<peril>~<loss type>`):
the most likely damage state's name, as text (quantity `damage_state`).
"""

from __future__ import annotations

from kinds.asset_values import read_asset_values
from kinds.base import TEXT, Column, Export, ExportFile, Table
from kinds.named_csv import claims_by_name, name_matcher

NAME = "damages"
TITLE = "Average damages per asset"
OUTPUT_TYPES = ("damages-rlzs", "damages-stats")
GEOMETRY = "point"
FILTERABLE: tuple = ()

_NAME = name_matcher(r"avg_damages-(?P<kind>rlz-[0-9]+|mean|max|std|quantile-[0-9.]+)")
# The consequences engine 3.26.2 computes (risklib/scientific.py KNOWN_CONSEQUENCES); every other
# value column is a damage state, whose names the fragility model chooses.
CONSEQUENCES = frozenset({"loss", "loss_aep", "loss_oep", "pla_loss", "pla_loss_aep", "pla_loss_oep",
                          "losses", "collapsed", "injured", "fatalities", "homeless", "non_operational"})


def claims(file: ExportFile, export: Export) -> bool:
    return claims_by_name(OUTPUT_TYPES, _NAME, file, export)


def read(file: ExportFile, export: Export) -> Table:
    return read_asset_values(file, NAME, _NAME(file.name), _quantity)


def _quantity(name: str) -> Column:
    if name.startswith("modal-ds-"):
        # modal_damage_state = true: the name of the most likely damage state, per loss type
        return Column(name, "damage_state", dtype=TEXT)
    _, _, what = name.partition("-")
    return Column(name, "consequence" if what in CONSEQUENCES else "damage")
