"""Every file the cardiac function analysis writes: PDF, DICOM SR, the volume curve, ED/ES labels, JSON.

The labels are NIfTI images on the cine's grid at end-diastole and end-systole (1 LV
blood pool, 2 LV myocardium, 3 RV blood pool); the curve a CSV of every phase's
volumes.  Derived files go to a folder the caller chooses, never a source folder.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from workstation.analyses.artifacts import Artifact, ArtifactContext, ArtifactSet, json_artifact, report_artifact
from workstation.analyses.cardiac_function.prepare import CineInput
from workstation.analyses.cardiac_function.report import TITLE, section
from workstation.analyses.cardiac_function.result import CardiacResult
from workstation.analyses.cardiac_function.sr import write_sr
from workstation.io import writers


def _sr(result: CardiacResult, cine: CineInput, context: ArtifactContext) -> list[Path]:
    return [write_sr(result, cine, context.folder / "cardiac_function_sr.dcm")]


def _labels(result: CardiacResult, cine: CineInput, context: ArtifactContext) -> list[Path]:
    out = []
    for name, phase in (("ed", result.lv.ed_phase), ("es", result.lv.es_phase)):
        out.append(writers.write_nifti(result.labels[phase], cine.series.volumes[phase],
                                       context.folder / f"cardiac_labels_{name}.nii.gz", dtype=np.uint8,
                                       intent="label"))
    return out


def _curve(result: CardiacResult, _cine: CineInput, context: ArtifactContext) -> list[Path]:
    path = context.folder / "cardiac_volume_curve.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["phase", "trigger_delay_ms" if result.timed else "phase_number", "lv_ml", "rv_ml",
                      "lv_myocardium_ml"])
        for k, (t, lv, rv, myo) in enumerate(zip(result.times_s, result.lv_curve_ml, result.rv_curve_ml,
                                                 result.myo_curve_ml)):
            out.writerow([k, round(t * 1000.0, 2) if result.timed else k, round(lv, 3), round(rv, 3), round(myo, 3)])
    return [path]


ARTIFACTS: ArtifactSet[CineInput, CardiacResult] = ArtifactSet((
    report_artifact("cardiac_function_report.pdf", TITLE, section),
    Artifact("sr", "cardiac_function_sr.dcm", "DICOM SR (measurement report)", _sr),
    Artifact("curve", "cardiac_volume_curve.csv", "Volume-time curve (CSV)", _curve),
    Artifact("labels", "cardiac_labels_ed.nii.gz, cardiac_labels_es.nii.gz", "ED and ES labels (NIfTI)", _labels),
    json_artifact("cardiac_function.json"),
))
