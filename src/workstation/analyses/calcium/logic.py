"""Coronary calcium scoring of a non-contrast CT: the pure computation (no Qt).

``run(volume, params, backend, progress)`` finds lesions (>= 130 HU, 2D
8-connected per axial slice, >= 1 mm^2), groups them in 3D, scores them (Agatston,
volume, mass), suggests an artery for each, and returns a :class:`CalciumResult`
with risk category, CAC-DRS and MESA percentile.  See :mod:`.scoring` for the
conventions and references.  :func:`estimate_memory` gives the device bytes a run needs.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np

from workstation.analyses.base import InputError
from workstation.analyses.calcium.arteries import estimate_aortic_root
from workstation.analyses.calcium.kernel import lesion_voxels, slice_lesions
from workstation.analyses.calcium.mesa import normalise_race, normalise_sex
from workstation.analyses.calcium.params import CalciumParams
from workstation.analyses.calcium.result import CalciumResult
from workstation.analyses.calcium.scoring import build_lesions
from workstation.analyses.inputs import provenance
from workstation.compute.backend import Backend
from workstation.core.progress import ProgressFn, report
from workstation.core.volume import Volume


def check_input(volume: Volume, params: CalciumParams) -> list[str]:
    """Warnings about a CT that is not the standard calcium-scoring scan (header and geometry).

    Raises :class:`InputError` when scoring is meaningless (not CT).  The value check
    is :func:`check_values`, run where the voxels already are.
    """
    modality = (volume.modality or str(volume.meta.get("modality") or "")).upper()
    if modality != "CT":
        raise InputError(f"calcium scoring needs a CT series, this one is {modality or 'of unknown modality'}")
    warnings: list[str] = []
    meta = volume.meta
    if meta.get("rescale_applied") is False:
        warnings.append("the series has no rescale slope/intercept: values are assumed to be HU already")
    if not volume.is_axial():
        warnings.append("the slices are not axial: Agatston scoring is defined on axial slices")
    for issue in meta.get("issues") or []:
        warnings.append(f"series: {issue}")  # uneven spacing, missing slices, tilt... from the loader
    dz = volume.spacing[0]
    thickness = meta.get("slice_thickness")
    if thickness is not None and float(thickness) > params.reference_increment_mm + 1e-6:
        warnings.append(f"slice thickness {float(thickness):g} mm exceeds 3 mm: small lesions are underestimated")
    if abs(dz - params.reference_increment_mm) > 1e-3:
        warnings.append(
            f"slice increment {dz:g} mm differs from 3 mm: slice scores were scaled by {dz:g}/3 "
            f"(= {dz / params.reference_increment_mm:.3g})"
        )
    if thickness is not None and abs(float(thickness) - params.reference_increment_mm) > 1e-3 and abs(
        float(thickness) - dz
    ) > 1e-3:
        warnings.append(f"slice thickness {float(thickness):g} mm differs from the increment {dz:g} mm")
    return warnings


def check_values(hu: Any, meta: Mapping[str, Any]) -> list[str]:
    """A warning when a rescaled CT has no value below 0 HU (air is about -1000 HU).

    ``hu`` may be on the GPU: the minimum is one device reduction, not a host pass.
    """
    if meta.get("rescale_applied") is False or not hu.size:
        return []
    if float(hu.min()) >= 0:
        return ["no value below 0 HU: the values may be stored pixel values without rescale"]
    return []


def _demographics(volume: Volume, params: CalciumParams) -> tuple[Optional[float], Optional[str], Optional[str], str]:
    """Age (y), sex, MESA race and where the race came from: the parameters win over the header."""
    age = params.age if params.age is not None else volume.meta.get("patient_age_years")
    sex = params.sex if params.sex is not None else volume.meta.get("patient_sex")
    race: Optional[str] = params.race
    if race is not None:
        source = "parameter"
    else:
        race = normalise_race(volume.meta.get("patient_ethnic_group"))
        source = "header (Ethnic Group)" if race else ""
    return (float(age) if age is not None else None), normalise_sex(sex), race, source


def _on_device(backend: Backend, array: Any) -> Any:
    """The volume's values on the backend's device (already-resident CuPy arrays are reused).

    Host volumes go up through pinned staging buffers (about 5x the pageable copy rate).
    """
    if backend.is_gpu:
        if isinstance(array, backend.xp.ndarray):
            return backend.xp.ascontiguousarray(array)
        from workstation.compute.transfer import upload

        return upload(np.asarray(array), backend.device_id or 0)
    return np.ascontiguousarray(backend.asarray(array))


def run(
    volume: Volume,
    params: Optional[CalciumParams] = None,
    backend: Optional[Backend] = None,
    progress: Optional[ProgressFn] = None,
) -> CalciumResult:
    """Score the coronary calcium of ``volume`` (HU) on ``backend``."""
    from workstation.compute.backend import get_backend

    params = params or CalciumParams()
    backend = backend or get_backend()
    warnings = check_input(volume, params)
    report(progress, 0.05, "Finding the aortic root")
    if params.aortic_root_mm is not None:
        root: Optional[np.ndarray] = np.asarray(params.aortic_root_mm, dtype=float)
    else:
        root = estimate_aortic_root(volume) if isinstance(volume.array, np.ndarray) else None
        if root is None:
            warnings.append("aortic root not found: artery suggestions are 'other', assign arteries by hand")
    report(progress, 0.2, "Labelling calcified lesions")
    hu = _on_device(backend, volume.array)
    warnings += check_values(hu, volume.meta)
    table = slice_lesions(hu, params.threshold_hu, backend)
    report(progress, 0.7, "Scoring lesions")
    lesions, lesion_of_label, excluded = build_lesions(table, volume.spacing, volume.index_to_patient, params, root)
    voxel_index, voxel_lesion = lesion_voxels(backend, table, lesion_of_label)
    del hu, table
    age, sex, race, race_source = _demographics(volume, params)
    report(progress, 1.0, "Done")
    meta = volume.meta
    return CalciumResult(
        lesions=tuple(lesions),
        params=params,
        shape=volume.shape,
        spacing=volume.spacing,
        voxel_index=voxel_index,
        voxel_lesion=voxel_lesion,
        age=age,
        sex=sex,
        race=race,
        race_source=race_source,
        device=backend.label,
        warnings=tuple(warnings),
        excluded_components=excluded,
        aortic_root_mm=tuple(float(v) for v in root) if root is not None else None,  # type: ignore[arg-type]
        patient_id=str(meta.get("patient_id") or ""),
        study_uid=str(meta.get("study_uid") or ""),
        study_date=str(meta.get("study_date") or ""),
        provenance=provenance("calcium", params, backend.label, volume),
    )


#: Device bytes per candidate (>= threshold) voxel: its flat index, slice, row, column
#: and global index (int64), value (float64), old and canonical labels (int32), and the
#: float64 weights of the statistics' bincounts.
BYTES_PER_CANDIDATE = 96


def estimate_memory(volume: Volume, params: CalciumParams, backend: Backend) -> int:
    """Peak bytes of a run on ``backend``'s device.

    The volume itself (when it must be copied there), the threshold mask (1 byte per
    voxel), the 2D label volume (int32, over the rows and columns that hold candidates)
    and :data:`BYTES_PER_CANDIDATE` per candidate voxel.  The candidates and their
    bounding box are counted on every 4th slice and 2nd row and column (the run's only
    data-dependent sizes).
    """
    a = volume.array
    n = int(np.prod(volume.shape))
    resident = backend.is_gpu and isinstance(a, backend.xp.ndarray)
    copy = 0 if resident or (not backend.is_gpu and a.flags.c_contiguous) else n * a.dtype.itemsize
    sample = (backend.asnumpy(a[::4, ::2, ::2]) if resident else np.asarray(a[::4, ::2, ::2])) >= params.threshold_hu
    fraction = float(np.count_nonzero(sample)) / max(sample.size, 1)
    rows, cols = np.flatnonzero(sample.any(axis=(0, 2))), np.flatnonzero(sample.any(axis=(0, 1)))
    box = ((rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1) / (sample.shape[1] * sample.shape[2])
           if rows.size else 0.0)
    return copy + n + int(4 * box * n) + int(BYTES_PER_CANDIDATE * fraction * n)
