"""RT dose from a sparse influence matrix: SciPy vs CuPy products, compression and optimisation.

Synthetic float32 CSR matrix shaped like a lung case's influence matrix (rows: voxels,
columns: beamlets; every row a run of contiguous columns, as one beam's beamlets are;
values ``u^4``, so most entries are small).  Default 4e5 x 2e3 with 2.6e8 non-zeros.
The host matrix is built vectorised in a few seconds; the GPU one directly on the
device with a seeded CuPy generator (same structure, its own random values), so the
full size never needs the host.

Tables (markdown):

1. ``A @ x`` and ``A.T @ y``: SciPy (one thread) and CuPy, median of repeats after a
   warm-up; ``A.T @ y`` through a stored CSR of ``A.T`` and through the ``.T`` view (the
   optimiser uses the stored CSR on the GPU and the view on the CPU, the faster of each); the
   fraction of the memory-bandwidth floor ``(nnz * 8 + rows * 4) / bandwidth`` (the
   bandwidth measured by a device-to-device copy, or ``--bandwidth-tbps``).
2. Compression end to end (threshold, rank-5 randomized SVD with 2 power iterations;
   RMR sparse-only too): first call and warm.
3. One optimisation iteration (objective and gradient) with the full and the
   compressed matrix.
4. A whole optimisation (L-BFGS-B, ``--iterations``) with the full and the compressed
   matrix on each device, the ratio against SciPy on the full matrix, and the largest
   dose difference (percent of the prescription) of the compressed plan's fluence
   evaluated with the full matrix against the full plan's.

``--cpu-nnz`` runs the CPU columns at a smaller matrix (SciPy at 2.6e8 non-zeros takes
minutes per table on a laptop); ratios are then per non-zero and say so.

Usage::

    python bench/bench_rt.py [--rows 4e5 --cols 2e3 --nnz 2.6e8] [--cpu-nnz 2.6e7] [--no-gpu] [--no-cpu]
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable, Optional

import numpy as np
import scipy.sparse as sp

from workstation.analyses.rt_dose.compression import compress
from workstation.analyses.rt_dose.operators import SparseOperator
from workstation.analyses.rt_dose.optimise import Objective, Problem, Term, optimise
from workstation.compute.arrays import to_host
from workstation.compute.backend import Backend, cpu_backend, select_backend


def host_matrix(rows: int, cols: int, nnz: int, seed: int = 0) -> sp.csr_matrix:
    """A CSR matrix with ``nnz // rows`` contiguous columns per row, built without a Python loop.

    Each row peaks at a random column of its run and falls off exponentially (about 9 %
    of the entries above 1 % of the maximum, as in an influence matrix's scatter tail).
    """
    per_row = max(1, min(cols, nnz // rows))
    rng = np.random.default_rng(seed)
    start = rng.integers(0, cols - per_row + 1, rows).astype(np.int32)
    indices = (start[:, None] + np.arange(per_row, dtype=np.int32)[None, :]).reshape(-1)
    centre = rng.integers(0, per_row, rows).astype(np.float32)
    data = np.abs(np.arange(per_row, dtype=np.float32)[None, :] - centre[:, None]).reshape(-1)
    data *= np.float32(-100.0 / per_row)
    np.exp(data, out=data)
    data *= 0.5 + 0.5 * rng.random(rows * per_row, dtype=np.float32)
    indptr = np.arange(0, rows * per_row + 1, per_row, dtype=np.int64)
    return sp.csr_matrix((data, indices, indptr), shape=(rows, cols))


def device_matrix(rows: int, cols: int, nnz: int, backend: Backend, seed: int = 0) -> Any:
    """The same structure generated on the GPU (seeded CuPy generator): never on the host."""
    import cupy as cp
    import cupyx.scipy.sparse as csp

    per_row = max(1, min(cols, nnz // rows))
    with cp.cuda.Device(backend.device_id):
        rs = cp.random.RandomState(seed)
        start = rs.randint(0, cols - per_row + 1, rows).astype(cp.int32)
        indices = (start[:, None] + cp.arange(per_row, dtype=cp.int32)[None, :]).reshape(-1)
        centre = rs.randint(0, per_row, rows).astype(cp.float32)
        offset = cp.abs(cp.arange(per_row, dtype=cp.float32)[None, :] - centre[:, None]).reshape(-1)
        data = cp.exp(offset * cp.float32(-100.0 / per_row)) * (0.5 + 0.5 * rs.random_sample(offset.size,
                                                                                         dtype=cp.float32))
        indptr = cp.arange(0, rows * per_row + 1, per_row, dtype=cp.int32)
        return csp.csr_matrix((data, indices, indptr), shape=(rows, cols))


def median_time(fn: Callable[[], Any], backend: Backend, repeat: int) -> float:
    fn()
    backend.synchronize()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        backend.synchronize()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def copy_bandwidth(backend: Backend) -> float:
    """Device-to-device copy bandwidth (read + write), bytes/s."""
    xp = backend.xp
    a = xp.ones(1 << 28, dtype=xp.float32)
    b = xp.empty_like(a)
    t = median_time(lambda: b.__setitem__(slice(None), a), backend, 10)
    return 2.0 * a.nbytes / t


def table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


def ms(seconds: Optional[float]) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


class Case:
    """One matrix on one backend: its operators and timings."""

    def __init__(self, name: str, matrix: Any, backend: Backend, host: Optional[sp.csr_matrix]) -> None:
        self.name, self.backend, self.host = name, backend, host
        t0 = time.perf_counter()
        self.op = SparseOperator(matrix if host is None else host, backend)
        backend.synchronize()
        self.setup_s = time.perf_counter() - t0
        self.rows, self.cols = self.op.shape
        self.nnz = int(self.op.A.nnz)

    def products(self, repeat: int) -> dict[str, float]:
        xp = self.backend.xp
        x = xp.ones(self.cols, dtype=xp.float32)
        y = xp.ones(self.rows, dtype=xp.float32)
        view = self.op.A.T
        stored = view.tocsr()
        return {"A@x": median_time(lambda: self.op.dose(x), self.backend, repeat),
                "A.T@y stored CSR": median_time(lambda: stored @ y, self.backend, repeat),
                "A.T@y .T view": median_time(lambda: view @ y, self.backend, max(3, repeat // 4))}


def synthetic_terms(rows: int) -> list[Term]:
    """A target (2 % of the rows, to 1.0) and an organ (the next 20 %, kept below 0.3)."""
    t = max(1, rows // 50)
    o = max(1, rows // 5)
    return [Term(Objective("target", "target", 1.0, 100.0), np.arange(t, dtype=np.int64), np.ones(t, np.float32)),
            Term(Objective("organ", "overdose", 0.3, 10.0), np.arange(t, t + o, dtype=np.int64),
                 np.ones(o, np.float32))]


def plan(case: Case, compressed: Any, iterations: int) -> tuple[dict[str, float], dict[str, Any]]:
    """One iteration's time and a whole optimisation with the full and the compressed matrix."""
    backend = case.backend
    terms = synthetic_terms(case.rows)
    times: dict[str, float] = {}
    runs: dict[str, Any] = {}
    for name, op in (("full", case.op), ("compressed", compressed.operator(backend) if compressed else None)):
        if op is None:
            continue
        problem = Problem(op, terms)
        x0 = np.full(case.cols, 1.0 / case.cols * 10, dtype=np.float64)
        times[f"iteration {name}"] = median_time(lambda p=problem: p.value_and_gradient(x0), backend, 10)
        t0 = time.perf_counter()
        runs[name] = optimise(problem, x0, iterations)
        times[f"optimisation {name}"] = time.perf_counter() - t0
    if "compressed" in runs:  # the compressed plan's fluence through the full matrix
        full = to_host(case.op.dose(backend.asarray(runs["full"].x.astype(np.float32))))
        other = to_host(case.op.dose(backend.asarray(runs["compressed"].x.astype(np.float32))))
        rows = terms[0].rows
        runs["dose_difference_pct"] = float(np.max(np.abs(full[rows] - other[rows])) * 100.0)
    return times, runs


def compression_times(case: Case, repeat_first: bool = True) -> tuple[dict[str, float], Any]:
    host = case.host if case.host is not None else case.op.A  # on the GPU: compressed where it lives
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    c = compress(host, "sparse+lowrank", case.backend, rank=5, power_iterations=2)
    out["sparse+lowrank first"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    c = compress(host, "sparse+lowrank", case.backend, rank=5, power_iterations=2)
    out["sparse+lowrank warm"] = time.perf_counter() - t0
    out.update({f"  {k}": v for k, v in c.timings_s.items()})
    t0 = time.perf_counter()
    compress(host, "sparse", case.backend)
    out["sparse (RMR) warm"] = time.perf_counter() - t0
    return out, c


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=4e5)
    parser.add_argument("--cols", type=float, default=2e3)
    parser.add_argument("--nnz", type=float, default=2.6e8)
    parser.add_argument("--cpu-nnz", type=float, default=None, help="non-zeros of the CPU matrix (default: --nnz)")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--bandwidth-tbps", type=float, default=None, help="HBM bandwidth for the floor")
    parser.add_argument("--no-gpu", action="store_true")
    parser.add_argument("--no-cpu", action="store_true")
    args = parser.parse_args(argv)
    rows, cols = int(args.rows), int(args.cols)
    cases: list[Case] = []
    if not args.no_cpu:
        nnz = int(args.cpu_nnz or args.nnz)
        t0 = time.perf_counter()
        host = host_matrix(rows, cols, nnz)
        print(f"host matrix {rows} x {cols}, {host.nnz:.3g} nnz built in {time.perf_counter() - t0:.1f} s")
        cases.append(Case("SciPy", host, cpu_backend(), host))
    gpu: Optional[Backend] = None
    if not args.no_gpu:
        candidate = select_backend("cuda")
        if candidate.is_gpu:
            gpu = candidate
            t0 = time.perf_counter()
            matrix = device_matrix(rows, cols, int(args.nnz), gpu)
            gpu.synchronize()
            print(f"device matrix {rows} x {cols}, {int(matrix.nnz):.3g} nnz built in {time.perf_counter() - t0:.2f} s")
            cases.append(Case("CuPy", matrix, gpu, None))
            del matrix
        else:
            print(f"no GPU: {candidate.describe()}")
    bandwidth = args.bandwidth_tbps * 1e12 if args.bandwidth_tbps else (copy_bandwidth(gpu) if gpu else None)
    if bandwidth:
        print(f"bandwidth for the floor: {bandwidth / 1e12:.2f} TB/s")

    rows_out = []
    results = {c.name: c.products(args.repeat) for c in cases}
    ref = cases[0] if cases and cases[0].name == "SciPy" else None
    for c in cases:
        floor = (c.nnz * 8 + c.rows * 4) / bandwidth if bandwidth else None
        for op, t in results[c.name].items():
            per_nnz = t / c.nnz
            ratio = "" if ref is None or c is ref else \
                f"{results[ref.name][op] / ref.nnz / per_nnz:.0f}x per nnz"
            frac = f"{floor / t:.2f}" if floor and c.backend.is_gpu else "-"
            rows_out.append((c.name, op, f"{c.nnz:.3g}", ms(t), ratio, frac))
    table("Sparse products", ("library", "product", "nnz", "median", "vs SciPy", "floor fraction"), rows_out)

    compressed: dict[str, Any] = {}
    rows_out = []
    for c in cases:
        times, compressed[c.name] = compression_times(c)
        for stage, t in times.items():
            rows_out.append((c.name, stage, ms(t)))
    table("Compression end to end (threshold 1 %, rank 5, 2 power iterations)", ("library", "stage", "time"),
          rows_out)

    rows_out = []
    whole: dict[str, dict[str, float]] = {}
    for c in cases:
        times, runs = plan(c, compressed[c.name], args.iterations)
        whole[c.name] = times
        for k, t in times.items():
            ratio = ""
            if ref is not None and c is not ref and k in whole[ref.name]:
                ratio = f"{whole[ref.name][k] / t * (c.nnz / ref.nnz if ref.nnz != c.nnz else 1):.0f}x" + \
                    (" (per nnz)" if ref.nnz != c.nnz else "")
            rows_out.append((c.name, k, ms(t), ratio))
        rows_out.append((c.name, "compressed plan: max target dose difference", f"{runs['dose_difference_pct']:.3f} %",
                         ""))
    table(f"Optimisation (L-BFGS-B, {args.iterations} iterations)", ("library", "what", "time", "vs SciPy"), rows_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
