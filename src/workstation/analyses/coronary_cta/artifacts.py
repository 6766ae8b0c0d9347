"""Every file coronary CTA writes: the PDF report, the per-section profile (CSV) and the JSON."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Optional

import numpy as np

from workstation.analyses.artifacts import Artifact, ArtifactContext, ArtifactSet, json_artifact, report_artifact
from workstation.analyses.coronary_cta.report import TITLE, section
from workstation.analyses.coronary_cta.result import CoronaryResult
from workstation.core.volume import Volume

PROFILE_COLUMNS = ("vessel", "position_mm", "x_mm", "y_mm", "z_mm", "mean_diameter_mm", "minimal_diameter_mm",
                   "area_mm2", "reference_diameter_mm", "lumen_hu", "calcified_mm2", "noncalcified_mm2")


def _cell(value: float) -> str:
    return f"{value:.3f}" if np.isfinite(value) else ""


def write_profile(result: CoronaryResult, _volume: Optional[Volume], context: ArtifactContext) -> list[Path]:
    """One row per cross-section of every vessel (empty cells: not measured)."""
    path = context.folder / "coronary_profile.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(PROFILE_COLUMNS)
        for v in result.vessels:
            for i in range(len(v.position_mm)):
                x, y, z = v.centreline_mm[i]
                writer.writerow([v.name] + [_cell(float(c)) for c in (
                    v.position_mm[i], x, y, z, v.mean_diameter_mm[i], v.minimal_diameter_mm[i], v.area_mm2[i],
                    v.reference_diameter_mm[i], v.lumen_hu[i], v.calcified_mm2[i], v.noncalcified_mm2[i])])
    return [path]


ARTIFACTS: ArtifactSet[Volume, CoronaryResult] = ArtifactSet((
    report_artifact("coronary_cta_report.pdf", TITLE, section),
    Artifact("profile", "coronary_profile.csv", "Lumen profile per section (CSV)", write_profile),
    json_artifact("coronary-cta.json"),
))
