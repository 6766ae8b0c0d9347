"""Coronary CT angiography: the pure computation (no Qt).

``run(volume, params, backend, progress)`` traces each vessel through the user's points
(or finds the vessels from the aortic root when there are none, :mod:`.tree`),
centres and sections it, measures its lumen and plaque and grades its stenoses
(:mod:`.vessel`), and returns a :class:`CoronaryResult`.

On a GPU backend the volume is uploaded once and stays there: the vesselness filter,
the path cost, the automatic tree's distance transforms and labels, every
cross-section (trilinear sampling), the lumen edges, diameters and plaque run on
the device.  The minimal-path searches (scikit-image's ``MCP_Geometric``) and the
small per-vessel steps (centreline smoothing, frames, the stenosis profile) run on
the host.  :func:`estimate_memory` gives the device bytes a run needs.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from workstation.analyses.base import InputError
from workstation.analyses.coronary_cta.naming import unique
from workstation.analyses.coronary_cta.params import CoronaryParams
from workstation.analyses.coronary_cta.result import CoronaryResult, VesselResult
from workstation.analyses.coronary_cta.sections import N_RAYS
from workstation.analyses.coronary_cta.vessel import MARGIN_MM, analyse, trace
from workstation.analyses.inputs import provenance
from workstation.compute.backend import Backend
from workstation.compute.sampling import IndexMap
from workstation.core.progress import ProgressFn, report, scaled
from workstation.core.volume import Volume


def _on_device(backend: Backend, array: Any) -> Any:
    """The volume's values on the backend's device (a resident CuPy array is reused)."""
    if backend.is_gpu:
        if isinstance(array, backend.xp.ndarray):
            return array
        from workstation.compute.transfer import upload

        return upload(np.asarray(array), backend.device_id or 0)
    return np.asarray(array)


def run(volume: Volume, params: Optional[CoronaryParams] = None, backend: Optional[Backend] = None,
        progress: Optional[ProgressFn] = None) -> CoronaryResult:
    """Trace, measure and grade the coronary vessels of a CTA ``volume`` (HU) on ``backend``."""
    from workstation.compute.backend import get_backend

    params = params or CoronaryParams()
    backend = backend or get_backend()
    modality = (volume.modality or str(volume.meta.get("modality") or "")).upper()
    if modality != "CT":
        raise InputError(f"coronary CTA needs a CT series, this one is {modality or 'of unknown modality'}")
    warnings = [f"series: {issue}" for issue in volume.meta.get("issues") or []]
    if max(volume.spacing) > 1.0:
        warnings.append(f"voxels of {max(volume.spacing):g} mm: coronary CTA wants 0.5-0.75 mm; small vessels "
                        "and stenoses are measured poorly")
    report(progress, 0.02, "Uploading the volume")
    device_volume = _on_device(backend, volume.array)
    index_map = IndexMap.of_volume(volume)
    traced: list[tuple[str, Any, Any, str]] = []
    root = None
    if params.points:
        for i, points in enumerate(params.points):
            name = params.names[i] if i < len(params.names) else ""
            report(progress, 0.05 + 0.45 * i / len(params.points), f"Tracing vessel {i + 1}")
            try:
                traced.append((name, points, trace(volume, device_volume, points, params, backend), "points"))
            except ValueError as exc:
                warnings.append(f"vessel {i + 1}{' (' + name + ')' if name else ''}: {exc}")
        if not traced:
            raise InputError(f"no vessel could be traced: {'; '.join(warnings[-len(params.points):])}")
        method = "points"
    else:
        from workstation.analyses.coronary_cta.tree import extract_tree

        auto = extract_tree(volume, device_volume, params, backend, scaled(progress, 0.05, 0.5))
        traced = [(v.name, v.points_mm, v.path_mm, "automatic") for v in auto.vessels]
        root = auto.root_mm
        warnings += list(auto.notes)
        method = "automatic"
    vessels: list[VesselResult] = []
    for k, (name, points, path, source) in enumerate(traced):
        report(progress, 0.5 + 0.5 * k / max(len(traced), 1), f"Measuring {name or f'vessel {k + 1}'}")
        vessels.append(analyse(volume, device_volume, name, points, path, params, backend, index_map=index_map,
                               root_mm=root, source=source))
    names = unique(v.name for v in vessels)
    vessels = [v if v.name == n else _renamed(v, n) for v, n in zip(vessels, names)]
    del device_volume
    report(progress, 1.0, "Done")
    meta = volume.meta
    return CoronaryResult(
        vessels=tuple(vessels), params=params, provenance=provenance("coronary-cta", params, backend.label, volume),
        method=method, aortic_root_mm=root, device=backend.label, warnings=tuple(warnings),
        patient_id=str(meta.get("patient_id") or ""), study_uid=str(meta.get("study_uid") or ""),
    )


def _renamed(vessel: VesselResult, name: str) -> VesselResult:
    from dataclasses import replace

    return replace(vessel, name=name)


#: float32 copies of the search region held at once by the vesselness filter (the
#: region, three filter stages, six Hessian components, the best response and scale,
#: the cost); on the CPU also the float64 temporaries per element of one chunk of the
#: eigenvalue pass, and the path search's bytes per region voxel (cost, cumulative cost
#: and traceback arrays of MCP).
VESSELNESS_COPIES = 13
CHUNK_BYTES = 190
MCP_BYTES = 8 + 8 + 8 + 1
#: Bytes per polar sample of the cross-sections (the sample, its patient position and
#: index, float64 copies and the lumen's temporaries); the automatic extraction's bytes
#: per voxel (distance transforms, labels, masks).
SAMPLE_BYTES = 80
TREE_BYTES = 45


def estimate_memory(volume: Volume, params: CoronaryParams, backend: Backend) -> int:
    """Peak bytes of a run on ``backend``'s device.

    The volume copy (on the GPU) plus the larger of the tracing and the measuring: the
    search region around one vessel's points (vesselness and, on the CPU, the path
    search) or, without points, the automatic extraction over the whole volume; and
    the cross-sections of the longest vessel.
    """
    from workstation.compute.eigen3 import CHUNK

    n = int(np.prod(volume.shape))
    copy = n * volume.array.dtype.itemsize if backend.is_gpu and not isinstance(volume.array, backend.xp.ndarray) else 0
    spacing = np.asarray(volume.spacing)
    if params.points:
        region = 0
        longest = 0.0
        for vessel in params.points:
            idx = volume.patient_to_index(np.asarray(vessel, dtype=np.float64))
            size = np.minimum(np.ptp(idx, axis=0) + 2 * np.ceil(MARGIN_MM / spacing) + 1, volume.shape)
            region = max(region, int(np.prod(size)))
            longest = max(longest, float(np.sum(np.linalg.norm(np.diff(np.asarray(vessel), axis=0), axis=1))))
        tracing = region * 4 * VESSELNESS_COPIES
        if not backend.is_gpu:
            tracing += region * MCP_BYTES + min(region, CHUNK) * CHUNK_BYTES
        length = 1.5 * longest
    else:
        tracing = TREE_BYTES * n
        length = 0.5 * float(np.linalg.norm(np.asarray(volume.shape) * spacing))
    sections = int(length / params.section_spacing_mm) + 2
    samples = sections * N_RAYS * (int(params.section_radius_mm / 0.1) + 1)
    return copy + max(tracing, samples * SAMPLE_BYTES)
