"""Every file calcium scoring writes: the lesion label image, the PDF report and the JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from workstation.analyses.artifacts import Artifact, ArtifactContext, ArtifactSet, json_artifact, report_artifact
from workstation.analyses.calcium.report import TITLE, section
from workstation.analyses.calcium.result import CalciumResult
from workstation.core.volume import Volume
from workstation.io import writers


def write_label_image(result: CalciumResult, volume: Volume, path: str | Path) -> Path:
    """Lesion ids (0 = background) as NIfTI on the CT's grid (LPS -> RAS affine)."""
    dtype = np.int16 if len(result.lesions) < 32767 else np.int32
    return writers.write_nifti(result.label_volume("id"), volume, path, dtype=dtype, intent="label",
                               description="calcium lesion ids")


def _labels(result: CalciumResult, volume: Optional[Volume], context: ArtifactContext) -> list[Path]:
    if volume is None:
        return []
    return [write_label_image(result, volume, context.folder / "calcium_labels.nii.gz")]


def write_json(result: CalciumResult, path: str | Path) -> Path:
    """``result.to_json()`` as a file (what the batch writes as calcium.json)."""
    return writers.write_json(result.to_json(), path)


ARTIFACTS: ArtifactSet[Volume, CalciumResult] = ArtifactSet((
    Artifact("labels", "calcium_labels.nii.gz", "Lesion labels (NIfTI)", _labels),
    report_artifact("calcium_report.pdf", TITLE, section),
    json_artifact("calcium.json"),
))
