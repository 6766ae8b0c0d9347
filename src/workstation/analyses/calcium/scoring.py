"""Agatston, volume and mass scores from the 2D lesion table (host side, small arrays).

Conventions, as in clinical scoring software:

* A 2D lesion is an 8-connected group of voxels >= 130 HU on one axial slice with an
  area of at least 1 mm^2 (Agatston et al., J Am Coll Cardiol 1990;15:827-832).
* Its density weight comes from its peak HU: 130-199 -> 1, 200-299 -> 2, 300-399 -> 3,
  >= 400 -> 4; its score is area (mm^2) x weight.
* The score was defined for 3 mm slices at a 3 mm increment; for another increment
  (thinner or overlapping reconstructions) every slice score is multiplied by
  ``increment / 3 mm`` so the sum estimates the 3 mm score (McCollough et al.,
  Radiology 2007;243:527-538, the international standard for calcium scoring).
* 2D lesions that touch across neighbouring slices (26-connectivity) form one 3D
  lesion: that is what the user sees, assigns to an artery and reads in the table.
* Volume score: voxel count x voxel volume (``dx dy dz``, dz = increment) or, with
  ``volume_method="interpolated"``, slice areas joined by truncated cones.
* Mass score: ``c_HA x mean HU x volume`` over the voxels >= threshold, with ``c_HA`` in
  mg hydroxyapatite/cm^3 per HU measured with a calibration phantom (McCollough 2007);
  the default 0.74 is a typical 120 kV value, set the scanner's own for absolute mass.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.calcium.arteries import suggest_artery
from workstation.analyses.calcium.kernel import SliceLesionTable
from workstation.analyses.calcium.params import CalciumParams


def density_weight(peak_hu: NDArray[np.floating] | float) -> NDArray[np.int64]:
    """Agatston weight of peak HU values (0 below 130 HU)."""
    peak = np.asarray(peak_hu, dtype=np.float64)
    return np.searchsorted(np.array([130.0, 200.0, 300.0, 400.0]), peak, side="right").astype(np.int64)


@dataclass(frozen=True)
class Lesion:
    """One 3D calcified lesion (2D lesions touching across slices) and its scores."""

    id: int
    slice_indices: tuple[int, ...]
    slice_areas_mm2: tuple[float, ...]
    area_mm2: float
    peak_hu: float
    weight: int
    agatston: float
    volume_mm3: float
    mass_mg: float
    n_voxels: int
    centroid_index: tuple[float, float, float]
    centroid_mm: tuple[float, float, float]
    suggested_artery: str
    artery: str

    def with_artery(self, artery: str) -> "Lesion":
        return replace(self, artery=artery)

    @property
    def slice_numbers(self) -> tuple[int, ...]:
        """The lesion's slices numbered from 1 along the slice normal, as the viewer shows them
        (``slice_indices`` are the 0-based array indices)."""
        return tuple(int(s) + 1 for s in self.slice_indices)

    def slices_text(self) -> str:
        """``"35"`` or ``"35-36"``: the 1-based slice numbers, as the table and the report print them."""
        numbers = self.slice_numbers
        return f"{min(numbers)}" if len(numbers) == 1 else f"{min(numbers)}-{max(numbers)}"

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "slice_numbers": list(self.slice_numbers),
            "slice_areas_mm2": list(self.slice_areas_mm2),
            "area_mm2": self.area_mm2,
            "peak_hu": self.peak_hu,
            "weight": self.weight,
            "agatston": self.agatston,
            "volume_mm3": self.volume_mm3,
            "mass_mg": self.mass_mg,
            "n_voxels": self.n_voxels,
            "artery": self.artery,
            "suggested_artery": self.suggested_artery,
            "centroid_mm": list(self.centroid_mm),
            "centroid_index_zyx": list(self.centroid_index),
        }


def interpolated_volume(slice_areas: NDArray[np.float64], dz: float) -> float:
    """Volume (mm^3) of a stack of contiguous slice areas joined by truncated cones.

    Each pair of neighbouring slices contributes ``dz/3 (A1 + A2 + sqrt(A1 A2))`` and
    the end slices half a slab each, so a prism of constant area gives ``n A dz``.
    """
    a = np.asarray(slice_areas, dtype=np.float64)
    inner = np.sum(dz / 3.0 * (a[:-1] + a[1:] + np.sqrt(a[:-1] * a[1:])))
    return float(inner + 0.5 * dz * (a[0] + a[-1]))


def _groups(table: SliceLesionTable, keep: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Component id of every 2D lesion, joining kept lesions that touch across slices."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = table.n_lesions
    a, b = table.pairs[:, 0] - 1, table.pairs[:, 1] - 1
    ok = keep[a] & keep[b]
    graph = coo_matrix((np.ones(int(ok.sum()), dtype=np.int8), (a[ok], b[ok])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    return comp.astype(np.int64)


def build_lesions(
    table: SliceLesionTable,
    spacing: tuple[float, float, float],
    index_to_patient: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    params: CalciumParams,
    root_mm: Optional[NDArray[np.float64]],
) -> tuple[list[Lesion], NDArray[np.int32], int]:
    """Group, filter and score lesions.

    Returns the lesions (ids 1..n in raster order of their first voxel), the 3D
    lesion id of every canonical 2D label (index 0 unused, 0 = dropped), and the
    number of 3D components dropped by ``auto_exclude``.
    """
    dz, dy, dx = spacing
    area = table.n_pixels * (dx * dy)
    keep = area >= params.min_area_mm2 * (1.0 - 1e-9)
    lesion_of_label = np.zeros(table.n_lesions + 1, dtype=np.int32)
    if not keep.any():
        return [], lesion_of_label, 0
    comp = _groups(table, keep)
    scale = dz / params.reference_increment_mm
    slice_score = area * density_weight(table.peak) * scale
    kept_labels = np.flatnonzero(keep)
    kept_labels = kept_labels[np.argsort(comp[kept_labels], kind="stable")]
    starts = np.concatenate([[0], np.flatnonzero(np.diff(comp[kept_labels])) + 1])
    # per-group figures for every group at once; the Python loop below sees only kept lesions
    n_pix = table.n_pixels[kept_labels]
    zs_all = table.z[kept_labels]
    n_vox = np.add.reduceat(n_pix, starts)
    length = (np.maximum.reduceat(zs_all, starts) - np.minimum.reduceat(zs_all, starts) + 1) * dz
    centroid_idx = np.stack([np.add.reduceat(zs_all * n_pix, starts), np.add.reduceat(table.sum_y[kept_labels], starts),
                             np.add.reduceat(table.sum_x[kept_labels], starts)], axis=1) / n_vox[:, None]
    centroid_mm = np.asarray(index_to_patient(centroid_idx), dtype=np.float64).reshape(-1, 3)
    voxel_volume = n_vox * dx * dy * dz
    dropped = np.zeros(len(starts), dtype=bool)
    if params.auto_exclude:
        dropped = (length > params.max_lesion_length_mm) | (voxel_volume > params.max_lesion_volume_mm3)
        if root_mm is not None:
            dropped |= np.linalg.norm(centroid_mm - root_mm, axis=1) > params.max_root_distance_mm
    lesions: list[Lesion] = []
    for g, members in enumerate(np.split(kept_labels, starts[1:])):
        if dropped[g]:
            continue
        zs = table.z[members]
        slices = np.unique(zs)
        slice_areas = np.array([area[members][zs == s].sum() for s in slices])
        volume = interpolated_volume(slice_areas, dz) if params.volume_method == "interpolated" else voxel_volume[g]
        peak = float(table.peak[members].max())
        lesion_id = len(lesions) + 1
        lesion_of_label[members + 1] = lesion_id
        point = centroid_mm[g]
        suggested = suggest_artery(point, root_mm)
        lesions.append(
            Lesion(
                id=lesion_id,
                slice_indices=tuple(int(s) for s in slices),
                slice_areas_mm2=tuple(float(a) for a in slice_areas),
                area_mm2=float(area[members].sum()),
                peak_hu=peak,
                weight=int(density_weight(peak)),
                agatston=float(slice_score[members].sum()),
                volume_mm3=float(volume),
                mass_mg=float(params.mass_calibration * table.value_sum[members].sum() * dx * dy * dz / 1000.0),
                n_voxels=int(n_vox[g]),
                centroid_index=(float(centroid_idx[g, 0]), float(centroid_idx[g, 1]), float(centroid_idx[g, 2])),
                centroid_mm=(float(point[0]), float(point[1]), float(point[2])),
                suggested_artery=suggested,
                artery=params.artery_overrides.get(lesion_id, suggested),
            )
        )
    excluded = int(dropped.sum())
    return lesions, lesion_of_label, excluded
