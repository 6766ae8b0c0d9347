"""Coronary CTA kernels on the GPU against their NumPy twins (``xp``), and whole runs CPU vs GPU."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from workstation.compute.arrays import to_host
from workstation.compute.backend import Backend, cpu_backend
from workstation.compute.eigen3 import eigenvalues_numpy, symmetric_eigenvalues
from workstation.compute.hessian import hessian
from workstation.compute.sampling import IndexMap, sample
from workstation.compute.vesselness import frangi

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from coronary_phantoms import Narrowing, helix, make_tube  # noqa: E402

pytestmark = pytest.mark.gpu


def _noisy_tube() -> np.ndarray:
    import scipy.ndimage as ndi

    rng = np.random.default_rng(0)
    z, y, x = np.meshgrid(*(np.arange(n, dtype=np.float32) for n in (40, 64, 72)), indexing="ij")
    vol = np.where(np.hypot(y - 30.0 - 0.1 * z, x - 36.0) < 3.0, 400.0, -100.0) + rng.normal(0, 25, z.shape)
    return ndi.gaussian_filter(vol, 0.7).astype(np.float32)


def test_hessian_is_the_same_on_both_backends(xp: ModuleType) -> None:
    vol = _noisy_tube()
    expected = hessian(vol, 1.2, (0.6, 0.45, 0.5))
    got = hessian(xp.asarray(vol), 1.2, (0.6, 0.45, 0.5))
    for a, b in zip(got, expected):
        np.testing.assert_allclose(to_host(a), b, rtol=1e-4, atol=1e-4 * float(np.abs(b).max()))


def test_eigenvalue_kernel_matches_its_numpy_twin(xp: ModuleType) -> None:
    m = np.random.default_rng(1).normal(scale=100.0, size=(6, 300000)).astype(np.float32)
    got = np.stack([to_host(v) for v in symmetric_eigenvalues(*(xp.asarray(r) for r in m))])
    twin = np.stack(eigenvalues_numpy(*m)).astype(np.float32)
    np.testing.assert_allclose(got, twin, rtol=1e-5, atol=1e-3)


def test_vesselness_is_the_same_on_both_backends(xp: ModuleType) -> None:
    vol = _noisy_tube()
    sigmas = (0.6, 1.0, 1.6, 2.4)
    v_cpu, s_cpu = frangi(vol, (0.6, 0.45, 0.5), sigmas, c=40.0)
    v, s = frangi(xp.asarray(vol), (0.6, 0.45, 0.5), sigmas, c=40.0)
    np.testing.assert_allclose(to_host(v), v_cpu, atol=2e-5)
    strong = v_cpu > 0.05
    assert np.mean(to_host(s)[strong] == s_cpu[strong]) > 0.999  # the same winning scale (ties aside)
    assert v_cpu[20, 32, 36] > 0.3


def test_trilinear_sampling_is_the_same_on_both_backends(xp: ModuleType) -> None:
    vol = _noisy_tube()
    m = IndexMap.of_grid((-10.0, 4.0, -2.0), (0.6, 0.45, 0.5), np.eye(3))
    pts = np.random.default_rng(2).uniform([-10, 4, -2], [25, 31, 21], size=(5000, 3))
    np.testing.assert_allclose(to_host(sample(xp.asarray(vol), xp.asarray(pts), m)), sample(vol, pts, m),
                               rtol=1e-5, atol=1e-2)


def test_a_traced_vessel_measures_the_same_on_the_gpu(gpu: Backend) -> None:
    from workstation.analyses.coronary_cta.logic import run
    from workstation.analyses.coronary_cta.params import CoronaryParams

    tube = make_tube(helix(), 50.0, narrowings=(Narrowing(25.0, 8.0, 60.0),), seed=3)
    params = CoronaryParams(points=((tube.point_at(0.0), tube.point_at(50.0)),))
    cpu = run(tube.volume, params, cpu_backend(), None).vessels[0]
    dev = run(tube.volume, params, gpu, None)
    assert dev.device == gpu.label
    g = dev.vessels[0]
    assert abs(g.length_mm - cpu.length_mm) < 0.5
    n = min(len(g.centreline_mm), len(cpu.centreline_mm))
    assert np.abs(g.centreline_mm[:n] - cpu.centreline_mm[:n]).max() < 0.1
    np.testing.assert_allclose(g.mean_diameter_mm[:n], cpu.mean_diameter_mm[:n], rtol=0.02, atol=0.02)
    assert len(g.stenoses) == len(cpu.stenoses) == 1
    assert abs(g.stenoses[0].percent_diameter - cpu.stenoses[0].percent_diameter) < 2.0


def test_automatic_extraction_finds_the_same_vessels_on_the_gpu(gpu: Backend) -> None:
    from workstation.analyses.coronary_cta.logic import run
    from workstation.analyses.coronary_cta.params import CoronaryParams
    from workstation.demo.coronary_cta import generate_coronary_cta

    volume, _ = generate_coronary_cta(0, size=150, pixel_mm=1.0, n_slices=100, slice_mm=1.0)
    cpu = run(volume, CoronaryParams(), cpu_backend(), None)
    dev = run(volume, CoronaryParams(), gpu, None)
    assert [v.name for v in dev.vessels] == [v.name for v in cpu.vessels]
    for a, b in zip(dev.vessels, cpu.vessels):
        assert abs(a.length_mm - b.length_mm) < 2.0, a.name
        assert [s.grade for s in a.stenoses] == [s.grade for s in b.stenoses], a.name
