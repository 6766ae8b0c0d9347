"""Hessian, closed-form 3x3 eigenvalues, Frangi vesselness and trilinear sampling against independent references."""

from __future__ import annotations

import numpy as np
import pytest

from workstation.compute.eigen3 import symmetric_eigenvalues
from workstation.compute.hessian import frobenius_norm, hessian
from workstation.compute.sampling import IndexMap, sample
from workstation.compute.vesselness import frangi


def _grid(shape: tuple[int, int, int], spacing: tuple[float, float, float]) -> tuple[np.ndarray, ...]:
    axes = [d * (np.arange(n) - (n - 1) / 2) for n, d in zip(shape, spacing)]
    return tuple(np.meshgrid(*axes, indexing="ij"))


def test_hessian_of_a_gaussian_blob_is_the_analytic_one_on_anisotropic_voxels() -> None:
    spacing, s, sigma = (0.6, 0.45, 0.5), 2.0, 1.0
    z, y, x = _grid((61, 75, 71), spacing)
    blob = np.exp(-(x**2 + y**2 + z**2) / (2 * s * s))
    h = hessian(blob, sigma, spacing, normalise=False)
    # blob * Gaussian(sigma) is a Gaussian of variance s^2 + sigma^2, amplitude (s^2 / S2)^(3/2)
    s2 = s * s + sigma * sigma
    g = (s * s / s2) ** 1.5 * np.exp(-(x**2 + y**2 + z**2) / (2 * s2))
    exact = {"xx": g * (x * x / s2**2 - 1 / s2), "yy": g * (y * y / s2**2 - 1 / s2), "zz": g * (z * z / s2**2 - 1 / s2),
             "yx": g * x * y / s2**2, "zx": g * x * z / s2**2, "zy": g * y * z / s2**2}
    inner = (slice(15, -15),) * 3
    scale = np.abs(exact["zz"]).max()
    for name, value in exact.items():
        assert np.abs(getattr(h, name)[inner] - value[inner]).max() < 2e-3 * scale, name
    # the normalised Hessian is sigma^2 times the plain one; the Frobenius norm is the eigenvalues' norm
    hn = hessian(blob, sigma, spacing)
    np.testing.assert_allclose(hn.xx, sigma**2 * h.xx, rtol=1e-5, atol=1e-9)
    l1, l2, l3 = symmetric_eigenvalues(*h)
    np.testing.assert_allclose(frobenius_norm(h), np.sqrt(l1**2 + l2**2 + l3**2), rtol=1e-4, atol=1e-8)


def test_eigenvalues_match_lapack_sorted_by_magnitude() -> None:
    rng = np.random.default_rng(0)
    m = rng.normal(scale=50.0, size=(20000, 6)).astype(np.float32)
    m[:5] = [[1, 0, 0, 1, 0, 1], [0, 0, 0, 0, 0, 0], [2, 0, 0, -3, 0, 1], [1, 1, 1, 1, 1, 1], [4, 1, 0, 4, 0, 4]]
    a = np.zeros((len(m), 3, 3))
    a[:, 0, 0], a[:, 0, 1], a[:, 0, 2], a[:, 1, 1], a[:, 1, 2], a[:, 2, 2] = m.T
    a[:, 1, 0], a[:, 2, 0], a[:, 2, 1] = a[:, 0, 1], a[:, 0, 2], a[:, 1, 2]
    ref = np.linalg.eigvalsh(a)
    ref = np.take_along_axis(ref, np.argsort(np.abs(ref), axis=1, kind="stable"), axis=1)
    got = np.stack(symmetric_eigenvalues(*m.T), axis=1)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref, atol=1e-4 * 50.0)
    assert np.all(np.abs(got[:, 0]) <= np.abs(got[:, 1]) + 1e-3) and np.all(np.abs(got[:, 1]) <= np.abs(got[:, 2]) + 1e-3)


def _tube_volume(radius: float, spacing: float = 0.5) -> tuple[np.ndarray, float]:
    import scipy.ndimage as ndi

    z, y, x = _grid((30, 61, 61), (spacing,) * 3)
    rho = np.hypot(y, x)
    vol = np.where(rho <= radius, 400.0, -100.0).astype(np.float32)
    return ndi.gaussian_filter(vol, 0.35 / spacing), spacing


def test_frangi_answers_on_a_tube_axis_only_and_at_a_scale_that_grows_with_its_radius() -> None:
    best = []
    for radius in (1.0, 2.0):
        vol, d = _tube_volume(radius)
        v, scale = frangi(vol, (d, d, d), (0.4, 0.7, 1.0, 1.4, 2.0), c=40.0)
        centre = v[15, 30, 30]
        assert centre > 0.5
        assert v[15, 30, 30 + int(5.0 / d)] < 0.02 * centre  # 5 mm from the axis, in the background
        assert int(np.argmax(v[15, 30])) in (29, 30, 31)  # the ridge is on the axis
        best.append(float(scale[15, 30, 30]))
    assert best[1] > best[0]


def test_frangi_agrees_with_scikit_image_on_the_vessel_axis() -> None:
    """scikit-image differentiates by finite differences of the smoothed image, we by Gaussian
    derivative filters; with its defaults (c: half the largest Hessian norm) the response on
    the axis is the same measure.  Off the axis it also answers where only one eigenvalue is
    negative (the tube's flank), which Frangi's bright-tube condition (both negative) excludes."""
    skimage_filters = pytest.importorskip("skimage.filters")
    vol, d = _tube_volume(1.5, spacing=1.0)
    ours, _ = frangi(vol, (d, d, d), (1.0, 1.5, 2.0), c=None)
    theirs = skimage_filters.frangi(vol.astype(np.float64), sigmas=(1.0, 1.5, 2.0), black_ridges=False)
    axis = (slice(4, -4), 30, 30)
    np.testing.assert_allclose(ours[axis], theirs[axis], rtol=0.03)
    for k in (10, 15, 20):
        assert np.unravel_index(np.argmax(ours[k]), ours[k].shape) == np.unravel_index(np.argmax(theirs[k]),
                                                                                       theirs[k].shape)
    assert np.all(ours[theirs < 0.01] < 0.01)  # nothing where scikit-image sees no vessel


def test_trilinear_sampling_is_exact_for_a_linear_field_in_patient_coordinates() -> None:
    origin, spacing = (-10.0, 5.0, 2.0), (0.7, 0.4, 0.5)
    direction = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])  # rows, columns swapped; feet-first
    m = IndexMap.of_grid(origin, spacing, direction)
    k, j, i = np.meshgrid(np.arange(12), np.arange(14), np.arange(16), indexing="ij")
    idx = np.stack([k, j, i], axis=-1).astype(np.float64)
    # patient position of each voxel, then a linear function of it stored as the values
    pts = (idx[..., ::-1] * np.asarray(spacing[::-1])) @ direction.T + np.asarray(origin)
    values = (2.0 * pts[..., 0] - 3.0 * pts[..., 1] + 0.5 * pts[..., 2]).astype(np.float32)
    np.testing.assert_allclose(m.indices(pts.reshape(-1, 3)), idx.reshape(-1, 3), atol=1e-9)
    rng = np.random.default_rng(1)
    inside = pts[2:-2, 2:-2, 2:-2].reshape(-1, 3)
    probes = inside[rng.integers(0, len(inside), 200)] + rng.uniform(-0.3, 0.3, (200, 3))
    got = sample(values, probes, m, cval=np.nan)
    np.testing.assert_allclose(got, 2.0 * probes[:, 0] - 3.0 * probes[:, 1] + 0.5 * probes[:, 2], rtol=1e-5, atol=1e-3)
    assert np.isnan(sample(values, np.array([[1e4, 0.0, 0.0]]), m, cval=np.nan)[0])
