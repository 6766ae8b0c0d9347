"""A small pencil-beam dose engine that makes influence matrices for the demo plan.

NOT FOR CLINICAL USE: a teaching model with made-up beam data, so that the demo has a
plan to optimise.  Per beam (static photon beam, source at ``SAD`` from the isocentre)
and beamlet (``w x w`` mm at the isocentre), the dose to a voxel at projected
beam's-eye-view offsets ``(u, v)`` from the beamlet centre is::

    D = P(d_rad) * (SAD / z)^2 * [(1 - s) L(u; sigma) L(v; sigma) + s L(u; sigma_s) L(v; sigma_s)]

``d_rad`` is the radiological depth (the line integral of relative electron density
from the body surface along the beam axis direction, parallel-beam approximation),
``P(d) = (1 - exp(-d / b)) exp(-mu d)`` a depth dose with build-up, ``L`` the profile
of a ``w``-wide beamlet blurred by a Gaussian (error functions), ``sigma`` growing with
depth, ``s`` a small scatter share with a wider Gaussian.  Electron density comes from
HU by a bilinear calibration (air 0, water 1, dense bone about 1.6).

Coordinates: patient LPS mm; for a head-first supine patient the gantry at 0 deg sits
anterior (beam towards +y) and at 90 deg on the patient's left (IEC 61217).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage
from scipy.special import erf

from workstation.analyses.rt_dose.influence import DoseGrid, InfluenceMatrix
from workstation.core.volume import Volume

INTENDED_USE = "Demo dose engine: not for clinical use"


@dataclass(frozen=True)
class BeamModel:
    """The made-up beam data of the engine (lengths in mm)."""

    mu_per_mm: float = 0.0045  # effective attenuation of a 6 MV-like beam
    buildup_mm: float = 8.0
    sigma_mm: float = 2.5  # penumbra at the surface
    sigma_per_mm: float = 0.01  # growth of the penumbra with radiological depth
    scatter_share: float = 0.04
    scatter_sigma_mm: float = 9.0
    cutoff: float = 2e-3  # entries below this share of a beamlet's central dose are dropped


@dataclass(frozen=True)
class Beam:
    """A beam of the engine: gantry angle (deg), isocentre (mm, LPS) and source-axis distance."""

    number: int
    gantry_deg: float
    isocenter_mm: tuple[float, float, float]
    sad_mm: float = 1000.0


def electron_density(hu: NDArray[Any]) -> NDArray[np.float32]:
    """Relative electron density from HU: ``1 + HU/1000`` up to water, ``1 + 0.6 HU/1000`` above."""
    h = np.asarray(hu, dtype=np.float32)
    rho = np.where(h <= 0, 1.0 + h / 1000.0, 1.0 + 0.6 * h / 1000.0)
    return np.clip(rho, 0.0, 3.0).astype(np.float32)


def beam_axes(beam: Beam) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Unit vectors (beam direction, u = IEC X, v = IEC Y) in patient LPS for a head-first supine patient."""
    t = np.deg2rad(beam.gantry_deg)
    direction = np.array([-np.sin(t), np.cos(t), 0.0])
    u = np.array([np.cos(t), np.sin(t), 0.0])
    v = np.array([0.0, 0.0, 1.0])
    return direction, u, v


def density_on_grid(ct: Volume, grid: DoseGrid) -> NDArray[np.float32]:
    """Relative electron density of ``ct`` at the centres of the dose grid voxels (trilinear)."""
    idx = np.indices(grid.shape, dtype=np.float64).reshape(3, -1).T
    patient = grid.volume(np.zeros(grid.shape, np.float32)).index_to_patient(idx)
    at = ct.patient_to_index(patient).T
    hu = ndimage.map_coordinates(np.asarray(ct.array, dtype=np.float32), at, order=1, mode="nearest")
    return electron_density(hu).reshape(grid.shape)


def _voxel_positions(grid: DoseGrid, voxels: NDArray[np.int64]) -> NDArray[np.float64]:
    zyx = np.stack(np.unravel_index(voxels, grid.shape), axis=1).astype(np.float64)
    return grid.volume(np.zeros(grid.shape, np.float32)).index_to_patient(zyx)


def radiological_depth(density: NDArray[np.float32], grid: DoseGrid, beam: Beam,
                       points: NDArray[np.float64]) -> NDArray[np.float64]:
    """Radiological depth (mm of water) of ``points`` along ``beam``'s direction (parallel-ray integral)."""
    direction, u, v = beam_axes(beam)
    iso = np.asarray(beam.isocenter_mm)
    step = float(min(grid.spacing))
    dummy = grid.volume(np.zeros(grid.shape, np.float32))
    corners = dummy.index_to_patient(np.array([[z, y, x] for z in (0, grid.shape[0] - 1)
                                               for y in (0, grid.shape[1] - 1) for x in (0, grid.shape[2] - 1)]))
    rel = corners - iso
    lo = np.array([rel @ a for a in (direction, u, v)]).min(axis=1) - step
    hi = np.array([rel @ a for a in (direction, u, v)]).max(axis=1) + step
    n = np.maximum(np.ceil((hi - lo) / step).astype(int) + 1, 2)
    s, a, c = (lo[i] + step * np.arange(n[i]) for i in range(3))
    ss, aa, cc = np.meshgrid(s, a, c, indexing="ij")
    frame = iso + ss[..., None] * direction + aa[..., None] * u + cc[..., None] * v
    at = dummy.patient_to_index(frame.reshape(-1, 3)).T
    rho = ndimage.map_coordinates(density, at, order=1, mode="constant", cval=0.0).reshape(ss.shape)
    depth = (np.cumsum(rho, axis=0) - 0.5 * rho) * step
    rel_points = points - iso
    coords = np.stack([(rel_points @ direction - lo[0]) / step, (rel_points @ u - lo[1]) / step,
                       (rel_points @ v - lo[2]) / step])
    return ndimage.map_coordinates(depth, coords, order=1, mode="nearest")


def _profile(x: NDArray[np.float64], width: float, sigma: NDArray[np.float64]) -> NDArray[np.float64]:
    k = 1.0 / (np.sqrt(2.0) * sigma)
    return 0.5 * (erf((x + width / 2.0) * k) - erf((x - width / 2.0) * k))


def beamlet_grid(beam: Beam, target_points: NDArray[np.float64], width: float,
                 margin: int = 1) -> NDArray[np.float64]:
    """Centres ``(n, 2)`` (u, v mm at the isocentre) of the beamlets that see the target plus ``margin`` beamlets."""
    direction, u, v = beam_axes(beam)
    source = np.asarray(beam.isocenter_mm) - beam.sad_mm * direction
    rel = target_points - source
    depth = rel @ direction
    pu, pv = rel @ u * beam.sad_mm / depth, rel @ v * beam.sad_mm / depth
    iu, iv = np.floor(pu / width + 0.5).astype(int), np.floor(pv / width + 0.5).astype(int)
    cells = set(zip(iu.tolist(), iv.tolist()))
    grown = {(a + da, b + db) for a, b in cells for da in range(-margin, margin + 1) for db in range(-margin, margin + 1)}
    return np.array(sorted(grown), dtype=np.float64) * width


def beam_columns(density: NDArray[np.float32], grid: DoseGrid, voxels: NDArray[np.int64], beam: Beam,
                 beamlets: NDArray[np.float64], width: float, model: BeamModel) -> Any:
    """The influence columns of one beam (SciPy CSC, rows = ``voxels``)."""
    import scipy.sparse as sp

    direction, u, v = beam_axes(beam)
    points = _voxel_positions(grid, voxels)
    source = np.asarray(beam.isocenter_mm) - beam.sad_mm * direction
    rel = points - source
    depth = rel @ direction
    ahead = depth > 1.0
    scale = np.where(ahead, beam.sad_mm / np.maximum(depth, 1.0), 0.0)
    pu, pv = rel @ u * scale, rel @ v * scale
    d_rad = radiological_depth(density, grid, beam, points)
    pdd = (1.0 - np.exp(-d_rad / model.buildup_mm)) * np.exp(-model.mu_per_mm * d_rad) * scale ** 2
    pdd = np.where(ahead & (density.reshape(-1)[voxels] > 0.05), pdd, 0.0)
    sigma = model.sigma_mm + model.sigma_per_mm * d_rad
    reach = width / 2.0 + 3.0 * max(float(sigma.max(initial=model.sigma_mm)), model.scatter_sigma_mm)
    cells = np.rint(beamlets / width).astype(np.int64)
    first = cells.min(axis=0)
    table = np.full(tuple(cells.max(axis=0) - first + 1), -1, dtype=np.int64)
    table[cells[:, 0] - first[0], cells[:, 1] - first[1]] = np.arange(len(cells))
    live = np.flatnonzero(pdd > 0)  # voxels the beam reaches
    pu, pv, pdd, sigma = pu[live], pv[live], pdd[live], sigma[live]
    iu, iv = np.rint(pu / width).astype(np.int64), np.rint(pv / width).astype(np.int64)
    span = int(np.ceil(reach / width))
    offsets = range(-span, span + 1)
    wide_sigma = np.full_like(sigma, model.scatter_sigma_mm)
    # the profiles factorise: one erf pair per axis and offset, products per (du, dv)
    core_u = {d: _profile(pu - (iu + d) * width, width, sigma) for d in offsets}
    core_v = {d: _profile(pv - (iv + d) * width, width, sigma) for d in offsets}
    wide_u = {d: _profile(pu - (iu + d) * width, width, wide_sigma) for d in offsets}
    wide_v = {d: _profile(pv - (iv + d) * width, width, wide_sigma) for d in offsets}
    rows, columns, values = [], [], []
    for du in offsets:
        for dv in offsets:
            a, b = iu + du - first[0], iv + dv - first[1]
            inside = (a >= 0) & (a < table.shape[0]) & (b >= 0) & (b < table.shape[1])
            col = np.where(inside, table[np.clip(a, 0, table.shape[0] - 1), np.clip(b, 0, table.shape[1] - 1)], -1)
            hit = np.flatnonzero(col >= 0)
            if hit.size == 0:
                continue
            shape = ((1.0 - model.scatter_share) * core_u[du][hit] * core_v[dv][hit]
                     + model.scatter_share * wide_u[du][hit] * wide_v[dv][hit])
            keep = shape > model.cutoff
            rows.append(live[hit[keep]])
            columns.append(col[hit][keep])
            values.append(pdd[hit][keep] * shape[keep])
    if not rows:
        return sp.csc_matrix((len(voxels), len(beamlets)), dtype=np.float32)
    return sp.csc_matrix((np.concatenate(values).astype(np.float32), (np.concatenate(rows), np.concatenate(columns))),
                         shape=(len(voxels), len(beamlets)))


def influence_matrix(ct: Volume, grid: DoseGrid, voxels: NDArray[np.int64], target_voxels: NDArray[np.int64],
                     beams: Sequence[Beam], *, beamlet_mm: float = 5.0, model: BeamModel = BeamModel()
                     ) -> InfluenceMatrix:
    """The influence matrix of ``beams`` for the dose-grid ``voxels`` (flat indices, e.g. the body).

    Each beam gets the beamlets that see the ``target_voxels`` (plus one beamlet around).
    Units: Gy per unit beamlet intensity, arbitrary but consistent (the optimiser scales).
    """
    import scipy.sparse as sp

    density = density_on_grid(ct, grid)
    target_points = _voxel_positions(grid, target_voxels)
    blocks, beam_ids, xy = [], [], []
    for beam in beams:
        beamlets = beamlet_grid(beam, target_points, beamlet_mm)
        blocks.append(beam_columns(density, grid, voxels, beam, beamlets, beamlet_mm, model))
        beam_ids.append(np.full(len(beamlets), beam.number, dtype=np.int32))
        xy.append(beamlets)
    matrix = sp.hstack(blocks, format="csr", dtype=np.float32)
    order = np.argsort(voxels, kind="stable")
    return InfluenceMatrix(matrix[order], grid, np.asarray(voxels, dtype=np.int64)[order], np.concatenate(beam_ids),
                           np.concatenate(xy), (beamlet_mm, beamlet_mm))
