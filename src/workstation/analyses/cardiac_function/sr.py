"""The cardiac function results as a DICOM Comprehensive 3D SR (TID 1500 measurement report, highdicom).

Groups: the LV (finding site SNOMED CT 87878005 "Left ventricle structure": EDV, ESV,
SV, EF, mass, cardiac output, heart rate and the BSA-indexed values), the RV (53085002
"Right ventricle structure": EDV, ESV, SV, EF) and one group per AHA segment (wall
thickness at ED and ES, thickening).  Quantities use UCUM units; the measurement
names use the private coding scheme ``99WSCF``.  The observer device and algorithm
identification carry the result's provenance; the evidence is the cine's images.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from workstation.analyses.cardiac_function.prepare import CineInput
from workstation.analyses.cardiac_function.result import CardiacResult, Ventricle
from workstation.report import sr as sr_blocks

SCHEME = "99WSCF"
UNITS = {"mL": "milliliter", "%": "percent", "g": "gram", "L/min": "liter per minute", "/min": "per minute",
         "mL/m2": "milliliter per square meter", "g/m2": "gram per square meter",
         "L/min/m2": "liter per minute per square meter", "mm": "millimeter"}
QUANTITIES = {
    "edv": ("EDV", "end-diastolic volume", "mL"), "esv": ("ESV", "end-systolic volume", "mL"),
    "sv": ("SV", "stroke volume", "mL"), "ef": ("EF", "ejection fraction", "%"),
    "mass": ("MASS", "myocardial mass at end-diastole", "g"), "co": ("CO", "cardiac output", "L/min"),
    "hr": ("HR", "heart rate", "/min"), "edv_i": ("EDVI", "end-diastolic volume index", "mL/m2"),
    "esv_i": ("ESVI", "end-systolic volume index", "mL/m2"), "sv_i": ("SVI", "stroke volume index", "mL/m2"),
    "mass_i": ("MASSI", "myocardial mass index", "g/m2"), "ci": ("CI", "cardiac index", "L/min/m2"),
    "wall_ed": ("WTED", "wall thickness at end-diastole", "mm"),
    "wall_es": ("WTES", "wall thickness at end-systole", "mm"),
    "thickening": ("WTHICK", "systolic wall thickening", "%"),
}


def _code(value: str, meaning: str, scheme: str = SCHEME) -> Any:
    from pydicom.sr.coding import Code

    return Code(value, scheme, meaning)


def _measurement(key: str, value: Optional[float], side: str = "") -> list[Any]:
    """One NUM item (none for an unknown value); ``side`` (``LV``/``RV``) prefixes code and meaning."""
    from highdicom.sr import Measurement

    if value is None:
        return []
    code, meaning, unit = QUANTITIES[key]
    name = f"{side} {meaning}" if side else meaning[0].upper() + meaning[1:]
    return [Measurement(name=_code(f"{side}{code}", name), value=round(float(value), 3),
                        unit=_code(unit, UNITS[unit], "UCUM"))]


def _ventricle(v: Ventricle, side: str) -> list[Any]:
    ix = v.indexed()
    out = []
    for key, value in (("edv", v.edv_ml), ("esv", v.esv_ml), ("sv", v.sv_ml), ("ef", v.ef_pct),
                       ("mass", v.mass_g), ("co", v.co_l_min), ("edv_i", ix.get("edv_ml_m2")),
                       ("esv_i", ix.get("esv_ml_m2")), ("sv_i", ix.get("sv_ml_m2")),
                       ("mass_i", ix.get("mass_g_m2")), ("ci", ix.get("ci_l_min_m2"))):
        out += _measurement(key, value, side)
    return out


def build_sr(result: CardiacResult, cine: CineInput) -> Any:
    """A highdicom ``Comprehensive3DSR`` holding the LV, RV and segment measurements of ``result``."""
    import highdicom as hd
    from highdicom.sr import (
        FindingSite, MeasurementReport, MeasurementsAndQualitativeEvaluations, ObservationContext,
        TrackingIdentifier,
    )

    evidence = sr_blocks.evidence(sorted(cine.source_files))
    observer = sr_blocks.device_observer(result.provenance, f"workstation cardiac function ({result.model})")
    algorithm = sr_blocks.algorithm(result.provenance)
    lv_site = FindingSite(anatomic_location=_code("87878005", "Left ventricle structure", "SCT"))
    rv_site = FindingSite(anatomic_location=_code("53085002", "Right ventricle structure", "SCT"))

    def group(name: str, sites: list[Any], measurements: list[Any]) -> Any:
        return MeasurementsAndQualitativeEvaluations(
            tracking_identifier=TrackingIdentifier(uid=hd.UID(), identifier=name), algorithm_id=algorithm,
            finding_sites=sites, measurements=measurements)

    groups = [group("Left ventricle", [lv_site], _ventricle(result.lv, "LV") + _measurement("hr", result.lv.heart_rate_bpm)),
              group("Right ventricle", [rv_site], _ventricle(result.rv, "RV"))]
    for s in result.segments:
        values = (_measurement("wall_ed", s.ed_mm) + _measurement("wall_es", s.es_mm)
                  + _measurement("thickening", s.thickening_pct))
        if values:
            site = FindingSite(anatomic_location=_code(f"AHA{s.number}", f"AHA segment {s.number} ({s.name})"))
            groups.append(group(f"AHA segment {s.number}", [site], values))
    report = MeasurementReport(observation_context=ObservationContext(observer_device_context=observer),
                               procedure_reported=_code("CMRFUNC", "Cardiac function from short-axis cine"),
                               imaging_measurements=groups)
    return hd.sr.Comprehensive3DSR(
        evidence=evidence, content=report, series_instance_uid=hd.UID(), series_number=901,
        sop_instance_uid=hd.UID(), instance_number=1, manufacturer=sr_blocks.MANUFACTURER,
        series_description="Cardiac function (not for clinical use)", is_complete=True, is_final=False,
        is_verified=False)


def write_sr(result: CardiacResult, cine: CineInput, path: Path) -> Path:
    return sr_blocks.save(build_sr(result, cine), path)


def read_sr_values(path: Path) -> dict[str, float]:
    """``"<finding site>: <measurement>"`` -> value, read back with pydicom only."""
    import pydicom

    found: dict[str, float] = {}

    def walk(items: Any, site: str) -> None:
        for item in items:
            name = item.ConceptNameCodeSequence[0].CodeMeaning if "ConceptNameCodeSequence" in item else ""
            if name == "Finding Site":
                site = item.ConceptCodeSequence[0].CodeMeaning
            if item.ValueType == "NUM":
                found[f"{site}: {name}"] = float(item.MeasuredValueSequence[0].NumericValue)
            if "ContentSequence" in item:
                walk(item.ContentSequence, site)

    walk(pydicom.dcmread(path).ContentSequence, "")
    return found
