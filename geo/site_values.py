"""An artifact's values at one site, shaped by what its columns mean. Pure, no Django.

The artifact's metadata `columns` (kinds.base.Column as dicts) say what each property is: the
poE of a hazard curve at an IML, or the IML of a map or spectrum at a poE, for an IMT.
"""

from __future__ import annotations

import re

_SA = re.compile(r"SA\(([0-9.eE+\-]+)\)")

# Reference site conditions of a job without a site model file (the engine's job parameters).
_REFERENCE_SITE = {
    "vs30": "reference_vs30_value",
    "vs30_type": "reference_vs30_type",
    "z1pt0": "reference_depth_to_1pt0km_per_sec",
    "z2pt5": "reference_depth_to_2pt5km_per_sec",
}


def imt_period(imt: str) -> float | None:
    """The spectral period of an IMT: PGA is 0, SA(T) is T; other IMTs have none."""
    if imt == "PGA":
        return 0.0
    if match := _SA.fullmatch(imt):
        try:
            return float(match[1])
        except ValueError:
            return None
    return None


def _header(artifact) -> dict:
    header = {"artifact": artifact.pk, "file_name": artifact.file_name}
    for key in ("kind", "investigation_time", "imt", "return_period"):
        if key in artifact.metadata:
            header[key] = artifact.metadata[key]
    return header


def hazard_curve(artifact, properties: dict) -> dict:
    columns = [c for c in artifact.metadata.get("columns", []) if c["quantity"] == "poe"]
    return {
        **_header(artifact),
        "imls": [c["iml"] for c in columns],
        "poes": [properties[c["name"]] for c in columns],
    }


def uhs(artifact, properties: dict) -> list[dict]:
    """One spectrum per poE of the file (the engine writes one or several), in the file's order of periods."""
    spectra: dict[float, dict] = {}
    for c in artifact.metadata.get("columns", []):
        if c["quantity"] != "iml":
            continue
        spectrum = spectra.setdefault(c["poe"], {**_header(artifact), "poe": c["poe"], "imts": [], "periods": [], "values": []})
        spectrum["imts"].append(c["imt"])
        spectrum["periods"].append(imt_period(c["imt"]))
        spectrum["values"].append(properties[c["name"]])
    return list(spectra.values())


def hazard_map(artifact, properties: dict) -> dict:
    """Each IML with its IMT and poE (None for the bare-IMT maps, whose return period says it)."""
    columns = [c for c in artifact.metadata.get("columns", []) if c["quantity"] == "iml"]
    return {**_header(artifact), "values": [{"imt": c["imt"], "poe": c["poe"], "iml": properties[c["name"]]} for c in columns]}


def site_model(oqparam: dict | None) -> dict | None:
    """The site parameters the calc used, when its job parameters give reference site conditions."""
    if not oqparam:
        return None
    values = {key: oqparam[param] for key, param in _REFERENCE_SITE.items() if param in oqparam}
    return {"source": "job parameters (reference site conditions)", **values} if values else None
