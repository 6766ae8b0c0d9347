"""Files written beside the JSON result: SR, findings JSON, PDF and per-view mark images.

Mark images: one NIfTI per view (``mammo_cad_marks_R-CC.nii.gz`` ...) on the original
pixel grid, 0 outside marks, 1 inside a mass box, 2 inside a calcification box (the
higher-scoring mark wins where boxes overlap).  NIfTI axis 0 is the image column and
axis 1 the row, with the pixel spacing in the affine, as NIfTI viewers expect.  Nothing
is ever written into a folder the images were read from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from workstation.analyses.mammo_cad.loader import MammoExam
from workstation.analyses.mammo_cad.report import write_pdf
from workstation.analyses.mammo_cad.sr import write_sr

LABELS = {"mass": 1, "calcification": 2}


def check_out_dir(out_dir: Path, exam: MammoExam) -> Path:
    """``out_dir`` resolved; ValueError when it is (inside) a source folder."""
    target = Path(out_dir).resolve()
    for src in exam.source_folders:
        if target == src or src in target.parents:
            raise ValueError(f"{out_dir}: refusing to write results into the source folder {src}")
    return target


def mark_image(result: Any, key: str, shape: tuple[int, int]) -> np.ndarray:
    """(rows, columns) uint8 label image of the view's marks."""
    labels = np.zeros(shape, dtype=np.uint8)
    for f in sorted(result.for_view(key), key=lambda f: f.score):
        x0, y0, x1, y1 = (int(round(v)) for v in f.box_px)
        labels[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = LABELS[f.kind]
    return labels


def write_artifacts(result: Any, exam: MammoExam, out_dir: Path) -> list[Path]:
    """Write SR, JSON, PDF and mark images into ``out_dir``; returns their paths."""
    import nibabel as nib

    out = check_out_dir(out_dir, exam)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    js = out / "mammo_cad_findings.json"
    js.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    paths.append(js)
    paths.append(write_sr(result, exam, out / "mammo_cad_sr.dcm"))
    paths.append(write_pdf(result, exam, out / "mammo_cad_report.pdf"))
    for view in result.views:
        labels = mark_image(result, view.key, view.shape)
        affine = np.diag([view.spacing_mm[1], view.spacing_mm[0], 1.0, 1.0])
        path = out / f"mammo_cad_marks_{view.key}.nii.gz"
        nib.save(nib.Nifti1Image(labels.T[:, :, None].copy(), affine), str(path))
        paths.append(path)
    return paths
