"""Every file the mammography CAD writes: SR, findings JSON, PDF report and per-view mark images.

Mark images: one NIfTI per view (``mammo_cad_marks_R-CC.nii.gz`` ...) on the original
pixel grid, 0 outside marks, 1 inside a mass box, 2 inside a calcification box (the
higher-scoring mark wins where boxes overlap).  NIfTI axis 0 is the image column and
axis 1 the row, with the pixel spacing in the affine, as NIfTI viewers expect.  Nothing
is ever written into a folder the images were read from
(:mod:`workstation.analyses.artifacts`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workstation.analyses.artifacts import Artifact, ArtifactContext, ArtifactSet, json_artifact, report_artifact
from workstation.analyses.mammo_cad.loader import MammoExam
from workstation.analyses.mammo_cad.report import TITLE, section
from workstation.analyses.mammo_cad.result import MammoCadResult
from workstation.analyses.mammo_cad.sr import write_sr

LABELS = {"mass": 1, "calcification": 2}


def mark_image(result: MammoCadResult, key: str, shape: tuple[int, int]) -> np.ndarray:
    """(rows, columns) uint8 label image of the view's marks."""
    labels = np.zeros(shape, dtype=np.uint8)
    for f in sorted(result.for_view(key), key=lambda f: f.score):
        x0, y0, x1, y1 = (int(round(v)) for v in f.box_px)
        labels[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = LABELS[f.kind]
    return labels


def _marks(result: MammoCadResult, _exam: MammoExam, context: ArtifactContext) -> list[Path]:
    import nibabel as nib

    paths = []
    for view in result.views:
        labels = mark_image(result, view.key, view.shape)
        affine = np.diag([view.spacing_mm[1], view.spacing_mm[0], 1.0, 1.0])
        path = context.folder / f"mammo_cad_marks_{view.key}.nii.gz"
        nib.save(nib.Nifti1Image(labels.T[:, :, None].copy(), affine), str(path))
        paths.append(path)
    return paths


def _sr(result: MammoCadResult, exam: MammoExam, context: ArtifactContext) -> list[Path]:
    return [write_sr(result, exam, context.folder / "mammo_cad_sr.dcm")]


ARTIFACTS: ArtifactSet[MammoExam, MammoCadResult] = ArtifactSet((
    json_artifact("mammo_cad_findings.json", batch=True),
    Artifact("sr", "mammo_cad_sr.dcm", "Findings as DICOM Comprehensive 3D SR", _sr),
    report_artifact("mammo_cad_report.pdf", TITLE, section),
    Artifact("marks", "mammo_cad_marks_<view>.nii.gz", "Mark images per view (NIfTI)", _marks),
))

