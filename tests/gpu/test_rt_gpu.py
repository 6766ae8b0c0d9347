"""RT dose on the GPU against the NumPy/SciPy twins: same coverages, DVHs, compression picks and plans.

Parity bars: dose differs by less than 1e-3 Gy (max abs), DVH curves by less than 0.5 %
of volume at matched dose, for the same algorithm.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import scipy.sparse as sp

from workstation.analyses import get
from workstation.analyses.rt_dose.compression import compress
from workstation.analyses.rt_dose.operators import SparseOperator
from workstation.analyses.rt_dose.plan import run_plan
from workstation.analyses.rt_dose.prepare import example_study
from workstation.analyses.rt_dose.rasterise import coverage, coverage_mask, planes_of
from workstation.compute.arrays import to_host
from workstation.compute.backend import Backend, cpu_backend
from workstation.core.rt import Contour, StructureRoi
from workstation.core.volume import Volume
from workstation.io.dicom import scan

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    example_study(folder)
    return folder


def test_coverage_is_the_same_on_both_backends(xp: ModuleType) -> None:
    grid = Volume(np.zeros((12, 50, 50), np.float32), spacing=(2.0, 1.0, 1.0), origin=(-25.0, -25.0, -11.0))
    t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    rings = [np.column_stack([r * np.cos(t), 0.7 * r * np.sin(t), np.full(40, z)]) for z in (-5.0, -3.0, -1.0, 1.0)
             for r in (18.0, 9.0)]
    planes = planes_of(StructureRoi(1, "ring", contours=tuple(Contour(p) for p in rings)), grid)
    ours = coverage_mask(coverage(xp, planes, grid.shape))
    ref = coverage_mask(coverage(np, planes, grid.shape))
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_dvh_parity_on_the_demo_plan(demo: Path, gpu: Backend) -> None:
    analysis = get("rt-dose")
    (study,) = [s for s in scan(demo).studies if s.series]
    inputs = analysis.prepare(study, None)
    params = analysis.default_params()
    a = analysis.run(inputs, params, cpu_backend(), None)
    b = analysis.run(inputs, params, gpu, None)
    assert b.device.startswith("cuda")
    for s, t in zip(a.structures, b.structures):
        n = min(len(s.dvh.dose_gy), len(t.dvh.dose_gy))
        assert np.max(np.abs(s.dvh.cumulative_pct()[:n] - t.dvh.cumulative_pct()[:n])) < 0.5, s.name
        for pct in (98.0, 95.0, 50.0, 2.0):
            assert abs(s.metrics.d(pct) - t.metrics.d(pct)) < 1e-3, (s.name, pct)
        assert abs(s.metrics.mean_gy - t.metrics.mean_gy) < 1e-3


def test_dose_products_and_compression_agree(demo: Path, gpu: Backend) -> None:
    from workstation.analyses.rt_dose.influence import load_influence

    a = load_influence(demo / "influence.npz").matrix
    x = np.random.default_rng(0).random(a.shape[1]).astype(np.float32)
    y = np.random.default_rng(1).random(a.shape[0]).astype(np.float32)
    cpu, dev = SparseOperator(a, cpu_backend()), SparseOperator(a, gpu)
    np.testing.assert_allclose(to_host(dev.dose(gpu.asarray(x))), cpu.dose(x), atol=1e-3)
    np.testing.assert_allclose(to_host(dev.adjoint(gpu.asarray(y))), cpu.adjoint(y), rtol=1e-4, atol=1e-3)
    for method in ("sparse", "sparse+lowrank"):
        c_cpu = compress(a, method, cpu_backend(), seed=3)
        c_gpu = compress(a, method, gpu, seed=3)
        assert c_cpu.nnz_after == c_gpu.nnz_after
        assert abs(c_cpu.sparse - c_gpu.sparse).max() < 1e-5  # the same entries drawn and kept
        if method == "sparse+lowrank":
            approx_cpu, approx_gpu = c_cpu.h @ (c_cpu.w @ x), c_gpu.h @ (c_gpu.w @ x)
            assert np.max(np.abs(approx_cpu - approx_gpu)) < 1e-3


def test_plan_parity(demo: Path, gpu: Backend) -> None:
    from dataclasses import replace

    from workstation.analyses.rt_dose.cli_optimize import plan_inputs
    from workstation.analyses.rt_dose.plan import dose_on_grid

    inputs, _ = plan_inputs(demo, demo / "objectives.json", None)
    inputs = replace(inputs, objectives=replace(inputs.objectives, max_iterations=25))
    a = run_plan(inputs, cpu_backend()).plan
    b = run_plan(inputs, gpu).plan
    assert b.run.device.startswith("cuda")
    assert b.run.objective[-1] == pytest.approx(a.run.objective[-1], rel=5e-3)  # float32 rounding steers L-BFGS-B
    im = inputs.influence
    x = a.run.x.astype(np.float32)  # the same fluence: the dose on the 3D grid, built on each device
    on_cpu = dose_on_grid(im, SparseOperator(im.matrix, cpu_backend()).dose(x), cpu_backend())
    on_gpu = to_host(dose_on_grid(im, SparseOperator(im.matrix, gpu).dose(gpu.asarray(x)), gpu))
    assert np.max(np.abs(on_cpu - on_gpu)) < 1e-3


def test_randomized_svd_uses_sparse_products_only(gpu: Backend) -> None:
    a = sp.random(20000, 400, density=0.02, random_state=0, format="csr", dtype=np.float32)
    c = compress(a, "sparse+lowrank", gpu, rank=5)
    assert c.h.shape == (20000, 5) and c.w.shape == (5, 400)
