"""Label surfaces by marching cubes: area, position, one mesh per present label (no Qt)."""

from __future__ import annotations

import numpy as np
import pytest

from workstation.ui.surfaces import label_surfaces, surface_area_mm2

SPACING = (2.0, 0.8, 1.1)  # mm along z, y, x
SHAPE = (36, 80, 60)


def _ball(centre_mm: np.ndarray, radius_mm: float) -> np.ndarray:
    """Voxels whose centre (index * spacing) lies within the ball."""
    z, y, x = np.indices(SHAPE)
    d2 = sum((i * s - c) ** 2 for i, s, c in zip((z, y, x), SPACING, centre_mm))
    return d2 <= radius_mm**2


@pytest.mark.parametrize("radius_mm", [10.0, 18.0])
def test_sphere_area_and_centre_on_anisotropic_grid(radius_mm: float) -> None:
    centre = np.array([17.3, 39.6, 29.2]) * SPACING
    labels = _ball(centre, radius_mm).astype(np.uint8)
    surfaces = label_surfaces(labels, SPACING, [1], max_dim=256)
    verts, faces = surfaces[1]
    assert verts.shape[1] == 3 and faces.shape[1] == 3 and len(faces) > 100
    area = surface_area_mm2(verts, faces)
    assert abs(area / (4.0 * np.pi * radius_mm**2) - 1.0) < 0.05
    assert np.all(np.abs(verts.mean(axis=0) - centre) < 0.5 * np.asarray(SPACING))


def test_two_labels_two_meshes_empty_label_none() -> None:
    labels = np.zeros(SHAPE, dtype=np.int16)
    labels[_ball(np.array([10.0, 20.0, 20.0]), 8.0)] = 1
    labels[20:30, 40:70, 30:50] = 2
    surfaces = label_surfaces(labels, SPACING, [1, 2, 3], max_dim=256)
    assert sorted(surfaces) == [1, 2]
    # the box spans voxel centres 20..29, 40..69, 30..49: its surface lies half a voxel outside
    verts = surfaces[2][0]
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    np.testing.assert_allclose(lo, (np.array([20, 40, 30]) - 0.5) * SPACING, atol=0.6 * max(SPACING))
    np.testing.assert_allclose(hi, (np.array([29, 69, 49]) + 0.5) * SPACING, atol=0.6 * max(SPACING))
    assert label_surfaces(np.zeros(SHAPE, np.uint8), SPACING, [1]) == {}


def test_downsampled_grid_keeps_position_and_small_structures() -> None:
    centre = np.array([18.0, 40.0, 30.0]) * SPACING
    labels = _ball(centre, 15.0).astype(np.uint8)
    labels[3, 5, 5] = 2  # a single voxel (a calcium speck, say) stays visible
    fine = label_surfaces(labels, SPACING, [1, 2], max_dim=256)
    coarse = label_surfaces(labels, SPACING, [1, 2], max_dim=8)
    assert len(coarse[1][1]) < len(fine[1][1]) / 4
    np.testing.assert_allclose(coarse[1][0].mean(axis=0), centre, atol=max(SPACING))
    speck = coarse[2][0].mean(axis=0)
    np.testing.assert_allclose(speck, np.array([3, 5, 5]) * SPACING, atol=0.5 * max(SPACING))


def test_surface_touching_the_edge_is_closed() -> None:
    labels = np.zeros(SHAPE, dtype=np.uint8)
    labels[:10, :, :] = 1  # reaches three faces of the volume
    verts, faces = label_surfaces(labels, SPACING, [1])[1]
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    assert np.all(counts == 2)  # every edge shared by two triangles: watertight
    assert verts[:, 0].min() < 0.0 and verts[:, 0].max() > 9 * SPACING[0]
