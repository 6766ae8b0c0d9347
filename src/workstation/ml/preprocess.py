"""A study volume onto a model's grid, and per-voxel predictions back onto the study.

Shared by the segmentation analysis and the training scripts, so a network sees at
inference exactly what it saw in training: reorient (axis flips and permutations
only), resample linearly to the model spacing, normalise per the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from numpy.typing import ArrayLike

from workstation.compute.arrays import array_module
from workstation.ml.manifest import InputSpec
from workstation.ml.normalize import normalize
from workstation.ml.resample import Reorientation, probabilities_to_labels, reorientation, resample


@dataclass(frozen=True)
class ModelGrid:
    """How the study grid maps to the model grid (everything needed to go back)."""

    reorient: Reorientation
    oriented_shape: tuple[int, int, int]
    oriented_spacing: tuple[float, float, float]
    model_spacing: tuple[float, float, float]
    model_shape: tuple[int, int, int]


def to_model_grid(array: Any, spacing: Sequence[float], direction: ArrayLike, spec: InputSpec,
                  ndimage: Any) -> tuple[Any, ModelGrid]:
    """Reorient, resample (linear) and normalise ``array`` for a 3D model.

    Parameters
    ----------
    array
        Study values (HU for CT), ``(z, y, x)``, NumPy or CuPy.
    spacing, direction
        Study voxel size (mm, z-y-x) and ITK direction matrix.
    spec
        The model's input spec (spacing, orientation, normalisation).
    ndimage
        ``scipy.ndimage`` or ``cupyx.scipy.ndimage`` matching ``array``.

    Returns
    -------
    array, ModelGrid
        Normalised float32 image on the model grid, and the mapping back.
    """
    if spec.ndim != 3:
        raise ValueError(f"model input is {spec.ndim}D; a volume needs a 3D model")
    r = reorientation(direction, spec.orientation)
    oriented = r.apply(array)
    o_spacing = r.spacing(spacing)
    resampled = resample(oriented, o_spacing, spec.spacing, ndimage, order=1)
    grid = ModelGrid(reorient=r, oriented_shape=tuple(int(n) for n in oriented.shape),  # type: ignore[arg-type]
                     oriented_spacing=o_spacing, model_spacing=tuple(spec.spacing),  # type: ignore[arg-type]
                     model_shape=tuple(int(n) for n in resampled.shape))  # type: ignore[arg-type]
    return normalize(resampled, spec.normalization), grid


def labels_to_study(prob: Any, grid: ModelGrid, ndimage: Any, *, method: str = "argmax",
                    on_region: Optional[Callable[[Any, tuple[tuple[int, int], ...]], None]] = None) -> Any:
    """Class scores ``(K, *model_shape)`` -> ``uint8`` labels on the study grid (C order).

    ``method``: ``argmax`` of linearly resampled scores (smooth borders) or
    ``nearest`` (argmax on the model grid, then nearest-neighbour resampling).  The
    argmax is written straight through the reoriented view of the study-order array,
    so no second full-size label array is made.  ``on_region(labels, region)``
    (argmax only) is called as each slab of the study array gets its final labels;
    ``region`` gives ``(start, stop)`` per study axis (z, y, x).
    """
    xp = array_module(prob)
    if method == "argmax":
        labels = xp.empty(study_shape(grid), dtype=xp.uint8)
        done = None if on_region is None else lambda z0, z1: on_region(labels, study_region(grid, z0, z1))
        probabilities_to_labels(prob, grid.model_spacing, grid.oriented_spacing, grid.oriented_shape, ndimage,
                                out=grid.reorient.apply(labels), on_slab=done)
        return labels
    if method == "nearest":
        coarse = prob.argmax(0).astype("uint8")
        oriented = resample(coarse, grid.model_spacing, grid.oriented_spacing, ndimage, order=0,
                            shape=grid.oriented_shape)
        return xp.ascontiguousarray(grid.reorient.invert(oriented))
    raise ValueError(f"method must be 'argmax' or 'nearest', got {method!r}")


def study_shape(grid: ModelGrid) -> tuple[int, int, int]:
    """Shape ``(z, y, x)`` of the study array that :attr:`ModelGrid.oriented_shape` came from."""
    shape = [0, 0, 0]
    for k, source_axis in enumerate(grid.reorient.perm):
        shape[source_axis] = grid.oriented_shape[k]
    return tuple(shape)  # type: ignore[return-value]



def study_region(grid: ModelGrid, z0: int, z1: int) -> tuple[tuple[int, int], ...]:
    """The study-array region ``(start, stop)`` per axis of oriented slices ``z0:z1``."""
    shape = study_shape(grid)
    region = [(0, n) for n in shape]
    axis, n = grid.reorient.perm[0], grid.oriented_shape[0]
    region[axis] = (n - z1, n - z0) if grid.reorient.flip[0] else (z0, z1)
    return tuple(region)
