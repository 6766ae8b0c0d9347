"""What the viewers show of a plan: dose wash, isodose lines, structure outlines (plain data, no Qt).

The dose goes onto the shown volume's grid by trilinear interpolation on the backend
(zero outside the dose grid); structures are rasterised onto the same grid (a voxel
belongs to a structure when its centre region is at least half covered) and packed into
as few label layers as their overlaps allow, for outlines on any plane, the names under
the cursor and the 3D surfaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.rt_dose.rasterise import coverage, planes_of
from workstation.compute.arrays import to_host
from workstation.compute.backend import Backend
from workstation.core.overlays import ContourOverlay, IsolineOverlay, Outline, ScalarOverlay
from workstation.core.rt import StructureSet
from workstation.core.volume import Volume

ISODOSE_PCT = (95.0, 80.0, 50.0, 20.0)
ISODOSE_COLOURS = ((255, 0, 0), (255, 160, 0), (0, 220, 0), (0, 160, 255))


@dataclass(frozen=True, eq=False)
class DoseDisplay:
    """The dose on the shown volume's grid (Gy, float32, host) and the structures packed into layers."""

    dose: NDArray[np.float32]
    outlines: tuple[Outline, ...]
    layers: tuple[NDArray[np.uint8], ...]
    placement: dict[int, tuple[int, int]]


def dose_on(volume: Volume, dose: Volume, backend: Backend) -> NDArray[np.float32]:
    """``dose`` sampled at ``volume``'s voxel centres (trilinear, 0 outside the dose grid)."""
    xp, ndi = backend.xp, backend.ndimage
    if volume.shape == dose.shape and np.allclose(volume.origin, dose.origin) and np.allclose(volume.spacing,
                                                                                               dose.spacing):
        return np.asarray(dose.array, dtype=np.float32)
    # index of the volume's voxels in the dose grid: an affine map, applied slice by slice
    m = np.linalg.inv(dose.affine) @ volume.affine  # volume (x, y, z, 1) -> dose (x, y, z, 1)
    src = backend.asarray(np.asarray(dose.array, dtype=np.float32))
    out = np.empty(volume.shape, dtype=np.float32)
    ny, nx = volume.shape[1:]
    yy, xx = xp.meshgrid(xp.arange(ny, dtype=xp.float64), xp.arange(nx, dtype=xp.float64), indexing="ij")
    for k in range(volume.shape[0]):
        coords = [m[i, 0] * xx + m[i, 1] * yy + (m[i, 2] * k + m[i, 3]) for i in (2, 1, 0)]
        sl = ndi.map_coordinates(src, xp.stack(coords), order=1, mode="constant", cval=0.0)
        out[k] = to_host(sl)
    return out


def pack_layers(masks: Sequence[tuple[int, NDArray[np.bool_]]]) -> tuple[tuple[NDArray[np.uint8], ...],
                                                                         dict[int, tuple[int, int]]]:
    """Structures (number, mask) into uint8 label layers: largest first, each into the first layer it does not overlap."""
    layers: list[NDArray[np.uint8]] = []
    counts: list[int] = []
    placement: dict[int, tuple[int, int]] = {}
    for number, mask in sorted(masks, key=lambda m: -int(m[1].sum())):
        for i, layer in enumerate(layers):
            if counts[i] < 255 and not np.any(layer[mask]):
                break
        else:
            layers.append(np.zeros(mask.shape, dtype=np.uint8))
            counts.append(0)
            i = len(layers) - 1
        counts[i] += 1
        layers[i][mask] = counts[i]
        placement[number] = (i, counts[i])
    return tuple(layers), placement


def structure_display(structure_set: StructureSet, volume: Volume, backend: Backend
                      ) -> tuple[tuple[Outline, ...], tuple[NDArray[np.uint8], ...], dict[int, tuple[int, int]]]:
    """Outlines and packed layers of every contoured structure on ``volume``'s grid."""
    outlines, masks = [], []
    for roi in structure_set.rois:
        closed = tuple(np.asarray(c.points_mm) for c in roi.contours or () if c.closed and len(c.points_mm) >= 3)
        if not closed:
            continue
        outlines.append(Outline(roi.number, roi.name, roi.colour or (200, 200, 200), closed))
        cov = coverage(backend.xp, planes_of(roi, volume), volume.shape, subsample=2, z_subsample=1)
        flat = np.zeros(int(np.prod(volume.shape)), dtype=bool)
        flat[to_host(cov.index)[to_host(cov.fraction) >= 0.5]] = True
        masks.append((roi.number, flat.reshape(volume.shape)))
    layers, placement = pack_layers(masks)
    return tuple(outlines), layers, placement


def prepare_display(structure_set: StructureSet, dose: Volume, volume: Volume, backend: Backend) -> DoseDisplay:
    """Everything the viewers need for a plan on ``volume`` (run in a job: it rasterises every structure)."""
    outlines, layers, placement = structure_display(structure_set, volume, backend)
    return DoseDisplay(dose_on(volume, dose, backend), outlines, layers, placement)


def dose_wash(display: DoseDisplay, vmin: float, vmax: float, opacity: float = 0.45) -> ScalarOverlay:
    """The dose as a colour wash between ``vmin`` and ``vmax`` Gy (lower doses transparent), also in 3D."""
    return ScalarOverlay(display.dose, vmin, vmax, "jet", opacity, "Gy", "Dose", transparent_below=vmin,
                         show_in_3d=True)


def isodose_lines(display: DoseDisplay, prescription_gy: float,
                  levels_pct: Sequence[float] = ISODOSE_PCT) -> IsolineOverlay:
    """Isodose lines at ``levels_pct`` % of the prescription."""
    colours = tuple(ISODOSE_COLOURS[i % len(ISODOSE_COLOURS)] for i in range(len(levels_pct)))
    return IsolineOverlay(display.dose, tuple(prescription_gy * p / 100.0 for p in levels_pct), colours,
                          tuple(f"{p:g} %" for p in levels_pct))


def structure_outlines(display: DoseDisplay, visible: Optional[frozenset[int]] = None,
                       colours: Optional[dict[int, tuple[int, int, int]]] = None) -> ContourOverlay:
    """The structures as outlines (and 3D surfaces); ``colours`` overrides per structure number."""
    outlines = tuple(Outline(o.number, o.name, (colours or {}).get(o.number, o.colour), o.polygons)
                     for o in display.outlines)
    return ContourOverlay(outlines, display.layers, display.placement, visible)


__all__ = ["DoseDisplay", "dose_on", "dose_wash", "isodose_lines", "prepare_display", "structure_outlines"]
