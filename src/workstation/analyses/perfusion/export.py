"""Write perfusion maps as NIfTI and as a derived DICOM series, and a PDF summary.

Derived files always go to a folder the caller chooses; source files are never touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.perfusion.result import MAP_INFO, MAP_NAMES, PerfusionResult
from workstation.core.volume import Volume, VolumeSeries

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def nifti_affine(volume: Volume) -> NDArray[np.float64]:
    """Index ``(i, j, k) = (x, y, z)`` -> RAS mm, for arrays stored x-fastest (NIfTI)."""
    return LPS_TO_RAS @ volume.affine


def write_nifti_maps(result: PerfusionResult, reference: Volume, out_dir: str | Path) -> list[Path]:
    """``cbf.nii.gz`` ... ``ttp.nii.gz`` (float32, NaN outside tissue) in ``out_dir``."""
    import nibabel as nib

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    affine = nifti_affine(reference)
    paths = []
    for name in MAP_NAMES:
        image = nib.Nifti1Image(np.ascontiguousarray(result.maps[name].transpose(2, 1, 0)), affine)
        image.header.set_xyzt_units("mm", "sec")
        image.header["descrip"] = f"{MAP_INFO[name][0]} [{MAP_INFO[name][1]}]"[:79].encode()
        path = out / f"{name}.nii.gz"
        nib.save(image, str(path))
        paths.append(path)
    return paths


def write_dicom_maps(
    result: PerfusionResult, reference: Volume, out_dir: str | Path, *, study_uid: Optional[str] = None,
    tags: Optional[dict[str, Any]] = None, first_series_number: int = 900,
) -> list[Path]:
    """One derived CT-like series per map in ``out_dir/<map>/``.

    ImageType is ``DERIVED\\SECONDARY``; values are stored as int16 with a rescale
    slope chosen per map so its range keeps at least 1/1000 of the maximum; NaN is
    stored as 0 (outside tissue).
    """
    from pydicom.uid import generate_uid

    from workstation.io.dicom_write import write_series

    out = Path(out_dir)
    paths: list[Path] = []
    study_uid = study_uid or str(reference.meta.get("study_uid") or "") or generate_uid()
    frame_uid = generate_uid()
    for n, name in enumerate(MAP_NAMES):
        values = np.nan_to_num(result.maps[name], nan=0.0).astype(np.float64)
        top = float(np.max(np.abs(values))) if values.size else 0.0
        slope = max(top / 30000.0, 1e-4)
        title, unit = MAP_INFO[name]
        extra = {"ImageType": ["DERIVED", "SECONDARY"], "RescaleType": "US", "DerivationDescription":
                 f"{title} [{unit}], {result.method} deconvolution"}
        extra.update(tags or {})
        paths += write_series(
            reference.with_array(values.astype(np.float32)), out / name, modality="CT", tags=extra,
            study_uid=study_uid, frame_of_reference_uid=frame_uid, series_number=first_series_number + n,
            series_description=f"{name.upper()} [{unit}]", slope=slope, intercept=0.0, file_prefix=name.upper(),
        )
    return paths


def write_artifacts(result: PerfusionResult, data: VolumeSeries, out_dir: Path) -> list[Path]:
    """NIfTI maps and the PDF summary beside the JSON of a batch run."""
    from workstation.analyses.perfusion.report import write_pdf

    paths = write_nifti_maps(result, data.reference, out_dir)
    paths.append(write_pdf(result, data.reference, Path(out_dir) / "perfusion_summary.pdf"))
    return paths
