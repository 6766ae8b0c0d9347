"""Influence matrices, their compression and fluence optimisation (CPU path; GPU parity in tests/gpu).

References: exact row sums (RMR's invariant), the best rank-r approximation of the
remainder by a dense SVD (Eckart-Young), CVXPY with an open conic solver for the
optimum, finite differences for the gradient, and the full-matrix plan for the
compressed one.  The batch sub-commands write exactly the files they promise.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
import scipy.sparse as sp

from dicom_validation import assert_valid_dicom
from workstation.analyses.rt_dose.cli_optimize import plan_inputs
from workstation.analyses.rt_dose.compression import compress, relative_dose_errors
from workstation.analyses.rt_dose.influence import InfluenceError, load_influence, save_influence
from workstation.analyses.rt_dose.operators import SparseOperator
from workstation.analyses.rt_dose.optimise import Problem, optimise, smoothness_matrix, solve_reference
from workstation.analyses.rt_dose.plan import plan_coverages, plan_terms, run_plan
from workstation.analyses.rt_dose.prepare import example_study
from workstation.compute.backend import cpu_backend
from workstation.jobs.batch import main as batch


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    example_study(folder)
    return folder


def _matrix(seed: int = 1) -> sp.csr_matrix:
    a = sp.random(3000, 120, density=0.08, random_state=seed, format="csr", dtype=np.float32)
    a.data = (a.data ** 4).astype(np.float32)  # most entries small, as in an influence matrix
    return a


def test_rmr_keeps_every_row_sum_and_only_rectifies_small_entries() -> None:
    a = _matrix()
    c = compress(a, "sparse", cpu_backend(), threshold_pct=10.0, seed=4)
    np.testing.assert_allclose(np.asarray(c.sparse.sum(axis=1)).ravel(), np.asarray(a.sum(axis=1)).ravel(),
                               rtol=2e-6, atol=1e-7)
    big = a.multiply(a > c.tau)  # entries above the threshold are kept as they were
    assert (c.sparse.multiply(a > c.tau) - big).count_nonzero() == 0
    rectified = (c.sparse - c.sparse.multiply(a > c.tau)).tocoo()  # only where small entries were
    assert np.all(np.asarray(a[rectified.row, rectified.col]).ravel() > 0)
    assert c.nnz_after < c.nnz_before
    again = compress(a, "sparse", cpu_backend(), threshold_pct=10.0, seed=4)
    assert (again.sparse != c.sparse).nnz == 0  # one seeded generator: the same selection


def test_sparse_plus_lowrank_is_near_the_best_rank_r_approximation() -> None:
    a = _matrix()
    c = compress(a, "sparse+lowrank", cpu_backend(), rank=5, power_iterations=2)
    dense = a.toarray()
    residual = np.where(dense > c.tau, 0.0, dense)
    s = np.linalg.svd(residual, compute_uv=False)
    best = np.sqrt(np.sum(s[5:] ** 2))
    ours = np.linalg.norm(residual - c.h @ c.w)
    assert ours <= 1.05 * best
    assert (c.sparse.toarray() == np.where(dense > c.tau, dense, 0)).all()
    errors = relative_dose_errors(SparseOperator(a, cpu_backend()), c.operator(cpu_backend()))
    assert errors["uniform"] < 0.02 and errors["random"] < 0.02


def test_influence_files_round_trip_and_portpy_hdf5(tmp_path: Path, demo: Path) -> None:
    h5py = pytest.importorskip("h5py")
    im = load_influence(demo / "influence.npz")
    assert im.grid is not None and im.voxel_index is not None and im.beamlet_beam is not None
    again = load_influence(save_influence(im, tmp_path / "copy.npz"))
    assert (again.matrix != im.matrix).nnz == 0 and np.array_equal(again.voxel_index, im.voxel_index)
    sp.save_npz(tmp_path / "plain.npz", im.matrix)
    plain = load_influence(tmp_path / "plain.npz")
    assert plain.grid is None
    with pytest.raises(InfluenceError, match="which dose-grid voxel"):
        plain.require_grid()
    beams = tmp_path / "portpy"
    beams.mkdir()
    coo = im.matrix.tocoo()
    for b in np.unique(im.beamlet_beam):  # one PortPy-style file per beam, columns numbered within the beam
        cols = np.flatnonzero(im.beamlet_beam == b)
        keep = np.isin(coo.col, cols)
        triplets = np.column_stack([coo.row[keep], coo.col[keep] - cols[0], coo.data[keep]])
        with h5py.File(beams / f"Beam_{int(b)}_Data.h5", "w") as f:
            f["inf_matrix_sparse"] = triplets
    read = load_influence(beams)
    assert read.shape[1] == im.shape[1] and abs(read.matrix - im.matrix[: read.shape[0]]).max() < 1e-6
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(InfluenceError, match="bad.npz"):
        load_influence(tmp_path / "bad.npz")


def test_lbfgsb_matches_the_cvxpy_optimum_and_its_gradient_is_exact(demo: Path) -> None:
    pytest.importorskip("cvxpy")
    inputs, _study = plan_inputs(demo, demo / "objectives.json", None)
    cpu = cpu_backend()
    covs, _ = plan_coverages(inputs, cpu)
    terms, _ = plan_terms(inputs, covs)
    im = inputs.influence
    lap = smoothness_matrix(im.beamlet_beam, im.beamlet_xy_mm, im.beamlet_size_mm)
    problem = Problem(SparseOperator(im.matrix, cpu), terms, inputs.objectives.smoothness, lap)
    x = np.random.default_rng(0).uniform(0, 2, im.shape[1])
    f, g = problem.value_and_gradient(x)
    for j in (0, im.shape[1] // 2, im.shape[1] - 1):
        e = np.zeros_like(x)
        e[j] = 1e-2
        fd = (problem.value_and_gradient(x + e)[0] - problem.value_and_gradient(x - e)[0]) / 2e-2
        assert fd == pytest.approx(g[j], rel=2e-3, abs=1e-3 * abs(f) / im.shape[1])
    run = optimise(problem, np.ones(im.shape[1]), max_iterations=400)
    assert run.objective[-1] < 0.5 * run.objective[0] and all(np.diff(run.objective) <= 1e-6 * run.objective[0])
    _x_ref, f_ref = solve_reference(im.matrix, terms, inputs.objectives.smoothness, lap)
    assert run.objective[-1] == pytest.approx(f_ref, rel=2e-3)


def test_compressed_plan_dvhs_are_within_half_a_percent_of_the_full_plan(demo: Path, tmp_path: Path) -> None:
    objectives = json.loads((demo / "objectives.json").read_text())
    objectives["max_iterations"] = 400
    (tmp_path / "objectives.json").write_text(json.dumps(objectives))
    inputs, _study = plan_inputs(demo, tmp_path / "objectives.json", None)
    cpu = cpu_backend()
    compressed = compress(inputs.influence.matrix, "sparse+lowrank", cpu, threshold_pct=0.2, rank=10)
    result = run_plan(inputs, cpu, compressed=compressed)
    full, small = result.runs
    assert full.run.objective[-1] < 0.6 * full.run.objective[0]
    rx = objectives["prescription_gy"]
    for a, b in zip(full.structures, small.structures):  # D98, D95, D50, D2 and mean within 0.5 % of Rx
        for pct in (98.0, 95.0, 50.0, 2.0):
            assert abs(a.metrics.d(pct) - b.metrics.d(pct)) <= 0.005 * rx, (a.name, pct)
        assert abs(a.metrics.mean_gy - b.metrics.mean_gy) <= 0.005 * rx, a.name
    # curves at matched dose, percentage points of volume: the organs (a target's shoulder falls ~25 % per Gy, so
    # its curve is held on the dose axis above)
    for name in ("BODY", "Lung_R", "Lung_L", "Heart"):
        assert result.dvh_difference_pct[name] <= 0.5, (name, result.dvh_difference_pct)


def test_batch_commands_write_what_they_promise(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "c"
    assert batch(["rt-compress", str(demo / "influence.npz"), "--method", "sparse+lowrank", "--out", str(out),
                  "--device", "cpu"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["S.npz", "compression.json", "lowrank.npz"]
    record = json.loads((out / "compression.json").read_text())
    for key in ("nnz_before", "nnz_after", "rank", "relative_dose_error", "timing", "max_rss_mb",
                "peak_gpu_memory_bytes", "device"):
        assert key in record
    assert record["rank"] == 5 and set(record["relative_dose_error"]) == {"uniform", "random"}
    with np.load(out / "lowrank.npz") as z:
        assert z["H"].shape[1] == 5 and z["W"].shape[0] == 5
    sparse_out = tmp_path / "s"
    assert batch(["rt-compress", str(demo / "influence.npz"), "--method", "sparse", "--out", str(sparse_out)]) == 0
    assert sorted(p.name for p in sparse_out.iterdir()) == ["S.npz", "compression.json"]
    plan_out = tmp_path / "p"
    assert batch(["rt-optimize", str(demo), "--objectives", str(demo / "objectives.json"), "--compressed", str(out),
                  "--out", str(plan_out), "--device", "cpu"]) == 0
    assert sorted(p.name for p in plan_out.iterdir()) == ["plan.json", "rtdose.dcm"]
    plan = json.loads((plan_out / "plan.json").read_text())
    assert plan["plan"]["matrix"] == "sparse+lowrank" and len(plan["runs"]) == 2
    assert plan["plan"]["objective_per_iteration"][-1] < plan["plan"]["objective_per_iteration"][0]
    assert {s["name"] for s in plan["plan"]["structures"]} >= {"PTV", "SpinalCanal"}
    assert_valid_dicom([plan_out / "rtdose.dcm"])
    ds = pydicom.dcmread(plan_out / "rtdose.dcm")
    ct = pydicom.dcmread(sorted((demo / "CT").glob("*.dcm"))[0])
    assert (ds.StudyInstanceUID, ds.FrameOfReferenceUID, ds.DoseUnits) == (ct.StudyInstanceUID,
                                                                           ct.FrameOfReferenceUID, "GY")
    assert plan["provenance"]["inputs"]["sha256"] in ds.ImageComments
    assert batch(["rt-compress", str(tmp_path / "missing.npz"), "--method", "sparse", "--out", str(tmp_path)]) == 2


def test_demo_plan_objects_pass_dciodvfy(demo: Path) -> None:
    assert_valid_dicom([demo / "RTSTRUCT.dcm", demo / "RTPLAN.dcm", demo / "RTDOSE.dcm"])
