"""Plaque in the vessel wall outside the lumen, per cross-section, on the backend's device.

The wall band of each ray runs from the lumen edge out to ``wall_mm`` beyond the
lumen or, where the lumen is narrowed, beyond the reference lumen (plaque fills the
space the lumen lost, and positive remodelling pushes it outward).  In that band:

* calcified plaque is every sample brighter than the local lumen mean + ``calcium_sd``
  SD (:class:`~.sections.Lumen`): the threshold follows the contrast of this vessel
  and this segment, never a fixed 130 HU against a 400 HU lumen;
* non-calcified plaque is the run of samples from the lumen edge outward that are
  darker than the lumen (below half-way from fat to the reference lumen level) and
  brighter than fat (``fat_hu``).  The blur's own slope from lumen to fat makes such a
  run too, up to about two edge blurs long (measured on normal vessels), so a ray's run
  counts only from ``MIN_RUN_SIGMAS`` blurs on, and then whole: a normal vessel in fat
  carries no plaque, and plaque thinner than that is not seen.

Rays into a side branch and their neighbours are left out, and so are bifurcations
(sections with many such rays).  Areas are polar integrals (``r dr dtheta``); a
section stands for a slab of one section spacing, so area x spacing is its plaque
volume.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workstation.analyses.coronary_cta.sections import Lumen, PolarGrid
from workstation.compute.backend import Backend

#: Shortest run of plaque-valued samples (in edge blurs) that counts as non-calcified plaque,
#: and the least non-calcified area of a section (mm^2: less is the noise of the wall).
MIN_RUN_SIGMAS = 2.5
MIN_SECTION_MM2 = 0.5
#: Sections with more rays into side branches than this share (a bifurcation) carry no plaque.
MAX_SIDE_FRACTION = 0.1


def plaque_areas(samples: Any, lumen: Lumen, grid: PolarGrid, reference_diameter_mm: np.ndarray, *,
                 fat_hu: float, wall_mm: float, backend: Backend) -> tuple[np.ndarray, np.ndarray]:
    """Calcified and non-calcified plaque area (mm^2) of every section (0 where not measured)."""
    xp = backend.xp
    p = samples.astype(xp.float32)
    radii = xp.asarray(grid.radii, dtype=xp.float32)
    dr, dtheta = float(grid.dr_mm), 2.0 * np.pi / grid.n_rays
    edge = xp.asarray(lumen.radius_mm, dtype=xp.float32)
    ref_r = xp.asarray(np.nan_to_num(reference_diameter_mm / 2.0), dtype=xp.float32)
    outer = xp.maximum(edge, ref_r[:, None]) + np.float32(wall_mm)
    beyond = radii[None, None, :] >= edge[..., None]
    side = xp.asarray(lumen.open_ray)
    side = side | xp.roll(side, 1, axis=1) | xp.roll(side, -1, axis=1)  # next to a side branch
    band = beyond & (radii[None, None, :] <= outer[..., None]) & ~side[..., None]
    calcium = xp.asarray(lumen.calcium_hu, dtype=xp.float32)[:, None, None]
    calcified = band & (p > calcium)
    ring = radii * np.float32(dr)
    ring[0] = np.float32(dr * dr / 8.0)
    calcified_mm2 = (calcified * ring[None, None, :]).sum(axis=(1, 2)) * np.float32(dtheta)
    upper = xp.asarray(0.5 * (lumen.reference_hu + fat_hu), dtype=xp.float32)[:, None, None]
    soft = (p > np.float32(fat_hu)) & (p < upper) & ~calcified
    running = xp.cumprod((soft | ~beyond).astype(xp.int8), axis=-1).astype(bool)
    run_mm = (running & band).sum(axis=-1).astype(xp.float32) * np.float32(dr)
    thickness = xp.where(run_mm >= np.float32(MIN_RUN_SIGMAS * lumen.blur_mm), run_mm, 0.0)
    noncalcified_mm2 = ((thickness * edge + 0.5 * thickness * thickness).sum(axis=1)) * np.float32(dtheta)
    valid = xp.asarray(lumen.valid & (lumen.open_ray.mean(axis=1) <= MAX_SIDE_FRACTION))
    host = backend.asnumpy
    calcified_mm2 = host(xp.where(valid, calcified_mm2, 0.0)).astype(np.float64)
    noncalcified_mm2 = host(xp.where(valid, noncalcified_mm2, 0.0)).astype(np.float64)
    return calcified_mm2, np.where(noncalcified_mm2 >= MIN_SECTION_MM2, noncalcified_mm2, 0.0)
