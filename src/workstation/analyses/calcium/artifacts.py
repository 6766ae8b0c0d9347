"""Files written beside calcium.json: the lesion label image and the PDF report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.calcium.result import CalciumResult
from workstation.core.volume import Volume

#: DICOM LPS -> NIfTI RAS.
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def nifti_affine(volume_affine: NDArray[np.float64]) -> NDArray[np.float64]:
    """NIfTI (RAS) affine of an array stored (x, y, z) from a volume's LPS affine."""
    return _LPS_TO_RAS @ volume_affine


def write_label_image(result: CalciumResult, volume: Volume, path: str | Path) -> Path:
    """Write lesion ids (0 = background) as NIfTI, voxel order (x, y, z), RAS affine."""
    import nibabel as nib

    labels = result.label_volume("id").astype(np.int16 if len(result.lesions) < 32767 else np.int32)
    image = nib.Nifti1Image(np.ascontiguousarray(labels.transpose(2, 1, 0)), nifti_affine(volume.affine))
    image.header.set_xyzt_units("mm")
    path = Path(path)
    nib.save(image, str(path))
    return path


def write_json(result: CalciumResult, path: str | Path) -> Path:
    """Write ``result.to_json()`` (what the batch writes as calcium.json)."""
    path = Path(path)
    path.write_text(json.dumps(result.to_json(), indent=2))
    return path


def write_artifacts(result: CalciumResult, data: Optional[Volume], out_dir: str | Path) -> list[Path]:
    """Write ``calcium_labels.nii.gz`` and ``calcium_report.pdf`` into ``out_dir``."""
    from workstation.analyses.calcium.report import write_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if data is not None:
        written.append(write_label_image(result, data, out / "calcium_labels.nii.gz"))
    written.append(write_report(result, data, out / "calcium_report.pdf"))
    return written
