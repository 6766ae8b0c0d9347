"""Triangle surfaces of label maps by marching cubes, in mm; no Qt, no VisPy.

Each label is meshed inside its own bounding box: the binary mask is averaged over
blocks so that the box has at most ``max_dim`` voxels per axis, lightly smoothed
(Gaussian, ``sigma`` in grid voxels), zero-padded so that surfaces touching the
volume's edge close, and cut at 0.5 (the half-occupancy level).  Vertices are
``(z, y, x)`` in mm from the centre of voxel ``(0, 0, 0)``: ``index * spacing``, the
frame of the 3D view's scene (which lists the same axes as ``(x, y, z)``).
"""

from __future__ import annotations

from typing import Iterable, Optional

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from workstation.ui.volume_texture import downsample_steps

Box = tuple[slice, slice, slice]
Surface = tuple[NDArray[np.float32], NDArray[np.int32]]

SIGMA_VOXELS = 0.75
PAD = 2


def label_boxes(labels: NDArray[np.integer], wanted: Iterable[int]) -> dict[int, Box]:
    """Bounding box (index slices) of each wanted label present in ``labels``."""
    wanted = sorted({int(v) for v in wanted if int(v) > 0})
    if not wanted:
        return {}
    data = np.asarray(labels)
    if data.dtype.kind not in "iub":
        raise TypeError(f"labels must be integers, got {data.dtype}")
    if data.dtype.kind == "b":
        data = data.view(np.uint8)
    if data.dtype.kind == "i" and data.size and int(data.min()) < 0:
        data = np.where(data < 0, 0, data)
    objects = ndimage.find_objects(data, max_label=wanted[-1])
    return {v: objects[v - 1] for v in wanted if objects[v - 1] is not None}


def block_mean(mask: NDArray[np.bool_], steps: tuple[int, int, int]) -> NDArray[np.float32]:
    """Fraction of ``True`` voxels in each ``steps`` block (the last blocks padded with ``False``)."""
    if steps == (1, 1, 1):
        return mask.astype(np.float32)
    shape = tuple(-(-n // s) * s for n, s in zip(mask.shape, steps))
    padded = np.zeros(shape, dtype=np.float32)
    padded[: mask.shape[0], : mask.shape[1], : mask.shape[2]] = mask
    (nz, ny, nx), (sz, sy, sx) = shape, steps
    blocks = padded.reshape(nz // sz, sz, ny // sy, sy, nx // sx, sx)
    return blocks.mean(axis=(1, 3, 5), dtype=np.float32)


def label_surface(
    labels: NDArray[np.integer],
    label: int,
    box: Box,
    spacing: tuple[float, float, float],
    max_dim: int = 256,
    sigma: float = SIGMA_VOXELS,
) -> Optional[Surface]:
    """Mesh of one label inside ``box``: ``(verts_mm (n, 3) zyx, faces (m, 3))`` or ``None``.

    A structure too small to reach the 0.5 level after smoothing (a single voxel, say)
    is cut at half its peak instead, so that it stays visible.
    """
    from skimage.measure import marching_cubes

    mask = np.asarray(labels[box]) == label
    if not mask.any():
        return None
    steps = downsample_steps(mask.shape, max_dim)
    grid = np.pad(block_mean(mask, steps), PAD)
    if sigma > 0:
        grid = ndimage.gaussian_filter(grid, sigma, mode="constant", output=np.float32)
    peak = float(grid.max())
    if peak <= 0.0:
        return None
    level = 0.5 if peak > 0.5 else 0.5 * peak
    spacing_mm = np.asarray(spacing, dtype=np.float64)
    grid_spacing = tuple(float(s * k) for s, k in zip(spacing_mm, steps))
    verts, faces, _normals, _values = marching_cubes(grid, level, spacing=grid_spacing, allow_degenerate=False)
    if len(faces) == 0:
        return None
    start = np.array([b.start or 0 for b in box], dtype=np.float64)
    step = np.asarray(steps, dtype=np.float64)
    origin_mm = (start + (step - 1.0) / 2.0 - PAD * step) * spacing_mm
    return (verts + origin_mm).astype(np.float32), faces.astype(np.int32)


def label_surfaces(
    labels: NDArray[np.integer],
    spacing: tuple[float, float, float],
    labels_wanted: Iterable[int],
    max_dim: int = 256,
) -> dict[int, Surface]:
    """Surfaces of the wanted labels: ``{label: (verts_mm, faces)}``; absent labels are left out.

    Parameters
    ----------
    labels
        ``(z, y, x)`` integer label map (0 = nothing).
    spacing
        Voxel size along ``(z, y, x)``, mm.
    labels_wanted
        Label values to mesh.
    max_dim
        Most grid points per axis a label's bounding box is meshed on.
    """
    out: dict[int, Surface] = {}
    for label, box in label_boxes(labels, labels_wanted).items():
        surface = label_surface(labels, label, box, spacing, max_dim)
        if surface is not None:
            out[label] = surface
    return out


def surface_area_mm2(verts: NDArray[np.floating], faces: NDArray[np.integer]) -> float:
    """Total triangle area of a mesh, mm^2."""
    a, b, c = (verts[faces[:, i]].astype(np.float64) for i in range(3))
    return float(0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1).sum())


def iso_surface(data: NDArray[np.generic], level: float, spacing: tuple[float, float, float],
                step: int = 1) -> Optional[Surface]:
    """Mesh of the ``level`` iso-surface of a ``(z, y, x)`` grid: ``(verts_mm zyx, faces)`` or ``None``.

    ``spacing`` is the grid's voxel size in mm; ``step`` > 1 samples every ``step``-th
    voxel (coarser, faster).  The grid is padded with its minimum so surfaces touching
    its edge close.  ``None`` when no voxel reaches ``level``.
    """
    from skimage.measure import marching_cubes

    grid = np.asarray(data, dtype=np.float32)
    lo, hi = float(grid.min(initial=0.0)), float(grid.max(initial=0.0))
    if not lo < level < hi:
        return None
    grid = np.pad(grid, 1, mode="constant", constant_values=lo)
    verts, faces, _normals, _values = marching_cubes(grid, level, spacing=spacing, step_size=max(1, int(step)),
                                                     allow_degenerate=False)
    if len(faces) == 0:
        return None
    verts = verts - np.asarray(spacing, dtype=np.float64)  # undo the padding
    return verts.astype(np.float32), faces.astype(np.int32)
