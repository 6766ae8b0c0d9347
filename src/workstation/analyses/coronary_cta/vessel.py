"""One vessel from its points: trace the path, then centre, section and measure it.

:func:`trace` finds the minimal-cost path (:mod:`.pathfind`) through the user's points
in a region around them, computing the vesselness (:func:`workstation.compute.vesselness.frangi`)
and cost there on the backend's device; the region grows when the path runs along
its border.  :func:`measure` smooths and resamples the path (:mod:`.centerline`),
then re-centres it twice on the lumen centroids of its own cross-sections
(:mod:`.sections`), which takes the centreline from the voxel grid to the middle of
the lumen, and returns the final sections and lumen.  :func:`analyse` adds the
reference diameter, plaque (:mod:`.plaque`) and stenoses (:mod:`.stenosis`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.coronary_cta.centerline import Frames, arc_length, frames, resample
from workstation.analyses.coronary_cta.naming import suggest
from workstation.analyses.coronary_cta.params import CoronaryParams
from workstation.analyses.coronary_cta.pathfind import cost_map, minimal_path
from workstation.analyses.coronary_cta.plaque import plaque_areas
from workstation.analyses.coronary_cta.result import VesselResult
from workstation.analyses.coronary_cta.sections import Lumen, PolarGrid, find_lumen, sample_sections
from workstation.analyses.coronary_cta.stenosis import find_stenoses
from workstation.compute.backend import Backend
from workstation.compute.sampling import IndexMap
from workstation.compute.vesselness import frangi
from workstation.core.volume import Volume

#: Region around the points searched for the path (mm), and its growth when the path touches its border.
MARGIN_MM = 12.0
GROWTH = 2.0
MAX_GROWTHS = 3
#: Re-centring passes, and the largest shift of one pass (mm).
RECENTRE_PASSES = 2
MAX_SHIFT_MM = 1.5


@dataclass(frozen=True, eq=False)
class Measured:
    """A centred vessel: centreline (n, 3) mm, its frames, polar samples (device) and lumen (host)."""

    centreline_mm: NDArray[np.float64]
    frames: Frames
    samples: Any
    lumen: Lumen
    grid: PolarGrid

    @property
    def position_mm(self) -> NDArray[np.float64]:
        return arc_length(self.centreline_mm)


def _box(volume: Volume, points_idx: NDArray[np.float64], margin_mm: float) -> tuple[slice, slice, slice]:
    pad = np.ceil(margin_mm / np.asarray(volume.spacing)).astype(int)
    lo = np.maximum(np.floor(points_idx.min(axis=0)).astype(int) - pad, 0)
    hi = np.minimum(np.ceil(points_idx.max(axis=0)).astype(int) + pad + 1, np.asarray(volume.shape))
    return slice(int(lo[0]), int(hi[0])), slice(int(lo[1]), int(hi[1])), slice(int(lo[2]), int(hi[2]))


def _touches_border(path: NDArray[np.int64], box: tuple[slice, slice, slice], shape: Sequence[int]) -> bool:
    """The path runs within 2 voxels of a side of the region that is not a side of the volume."""
    for axis, sl in enumerate(box):
        size = sl.stop - sl.start
        if sl.start > 0 and np.any(path[:, axis] <= 1):
            return True
        if sl.stop < shape[axis] and np.any(path[:, axis] >= size - 2):
            return True
    return False


def lumen_level(volume: Volume, device_volume: Any, points_idx: NDArray[np.float64], backend: Backend) -> float:
    """Median HU of the 3x3x3 neighbourhoods of the points (the contrast level the user clicked on)."""
    values = []
    for p in np.rint(points_idx).astype(int):
        lo = np.maximum(p - 1, 0)
        hi = np.minimum(p + 2, np.asarray(volume.shape))
        values.append(backend.asnumpy(device_volume[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]).ravel())
    return float(np.median(np.concatenate(values)))


def trace(volume: Volume, device_volume: Any, points_mm: Sequence[Sequence[float]], params: CoronaryParams,
          backend: Backend, threshold_hu: Optional[float] = None) -> NDArray[np.float64]:
    """Patient positions (n, 3) of the minimal-cost path through ``points_mm`` (start, waypoints, end)."""
    idx = volume.patient_to_index(np.asarray(points_mm, dtype=np.float64))
    if np.any(idx < -0.5) or np.any(idx > np.asarray(volume.shape) - 0.5):
        raise ValueError("a vessel point lies outside the volume")
    level = lumen_level(volume, device_volume, idx, backend)
    threshold = threshold_hu if threshold_hu is not None else 0.5 * (level + params.fat_hu)
    margin = MARGIN_MM
    for attempt in range(MAX_GROWTHS + 1):
        box = _box(volume, idx, margin)
        region = device_volume[box]
        v, _ = frangi(region, volume.spacing, params.sigmas_mm, alpha=params.frangi_alpha, beta=params.frangi_beta,
                      c=params.frangi_c_hu)
        cost = backend.asnumpy(cost_map(region, v, threshold, level))
        del v
        offset = np.asarray([sl.start for sl in box])
        local = np.clip(np.rint(idx).astype(int) - offset, 0, np.asarray(cost.shape) - 1)
        path = minimal_path(cost, volume.spacing, local)
        if attempt == MAX_GROWTHS or not _touches_border(path, box, volume.shape):
            return np.asarray(volume.index_to_patient(path + offset), dtype=np.float64)
        margin *= GROWTH
    raise AssertionError("unreachable")


def measure(volume: Volume, device_volume: Any, path_mm: NDArray[np.float64], params: CoronaryParams,
            backend: Backend, index_map: Optional[IndexMap] = None) -> Measured:
    """Centre the path on the lumen and measure every cross-section (see the module notes)."""
    index_map = index_map or IndexMap.of_volume(volume)
    grid = PolarGrid(n_rays=48, radius_mm=params.section_radius_mm)
    step = params.section_spacing_mm
    centre = resample(path_mm, step, params.smooth_mm)
    for _ in range(RECENTRE_PASSES):
        f = frames(centre)
        samples = sample_sections(device_volume, index_map, centre, f, grid, backend)
        lumen = find_lumen(samples, grid, step, params.calcium_sd, backend)
        shift = np.where(lumen.valid[:, None], lumen.centroid_mm, 0.0)
        norm = np.linalg.norm(shift, axis=1, keepdims=True)
        shift = shift * np.minimum(1.0, MAX_SHIFT_MM / np.maximum(norm, 1e-9))
        moved = centre + shift[:, :1] * f.normal + shift[:, 1:] * f.binormal
        centre = resample(moved, step, params.smooth_mm)
    f = frames(centre)
    samples = sample_sections(device_volume, index_map, centre, f, grid, backend)
    lumen = find_lumen(samples, grid, step, params.calcium_sd, backend)
    return Measured(centre, f, samples, lumen, grid)


def analyse(volume: Volume, device_volume: Any, name: str, points_mm: Sequence[Sequence[float]],
            path_mm: NDArray[np.float64], params: CoronaryParams, backend: Backend, *,
            index_map: Optional[IndexMap] = None, root_mm: Optional[Sequence[float]] = None,
            source: str = "points") -> VesselResult:
    """Centre, section and measure one traced vessel; grade its stenoses and measure its plaque."""
    m = measure(volume, device_volume, path_mm, params, backend, index_map)
    lumen, s, step = m.lumen, m.position_mm, params.section_spacing_mm
    grading = lumen.mean_diameter_mm if params.diameter_measure == "mean" else lumen.minimal_diameter_mm
    _, reference = find_stenoses(s, grading, lumen.area_mm2, params.min_stenosis_percent, spacing_mm=step)
    calcified, noncalcified = plaque_areas(m.samples, lumen, m.grid, reference, fat_hu=params.fat_hu,
                                           wall_mm=params.wall_mm, backend=backend)
    stenoses, reference = find_stenoses(s, grading, lumen.area_mm2, params.min_stenosis_percent,
                                        plaque_mm3=(calcified * step, noncalcified * step), spacing_mm=step,
                                        min_plaque_mm3=params.min_plaque_mm3)
    suggested = suggest(m.centreline_mm, root_mm)
    return VesselResult(
        name=name or suggested, suggested_name=suggested,
        points_mm=tuple((float(p[0]), float(p[1]), float(p[2])) for p in points_mm),
        centreline_mm=m.centreline_mm, normal=m.frames.normal, binormal=m.frames.binormal, position_mm=s,
        mean_diameter_mm=lumen.mean_diameter_mm, minimal_diameter_mm=lumen.minimal_diameter_mm,
        area_mm2=lumen.area_mm2, reference_diameter_mm=reference, lumen_radius_mm=lumen.radius_mm,
        lumen_hu=lumen.lumen_hu, calcified_mm2=calcified, noncalcified_mm2=noncalcified, measured=lumen.valid,
        blooming=lumen.blooming, stenoses=tuple(stenoses), blur_mm=lumen.blur_mm, source=source,
    )
