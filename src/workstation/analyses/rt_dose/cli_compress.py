"""``workstation-batch rt-compress MATRIX --method sparse|sparse+lowrank --out DIR``.

Writes ``S.npz`` (SciPy sparse, the compressed sparse part), ``lowrank.npz`` (arrays ``H``
and ``W``; not for ``sparse``) and ``compression.json``: non-zeros before and after, the
rank, the relative dose error ``||A x - A~ x|| / ||A x||`` for a uniform and a random
fluence, the time of each stage (s), the process's peak resident memory (MB), the peak
GPU memory CuPy's pool held (bytes; null on the CPU) and the device.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np

HELP = "compress an influence matrix (RMR sparse-only, or sparse + low-rank) and report the dose error"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from workstation.analyses.rt_dose.compression import METHODS

    parser.add_argument("matrix", type=Path, help="influence matrix: SciPy .npz, PortPy beam .h5, or a folder of them")
    parser.add_argument("--method", required=True, choices=METHODS)
    parser.add_argument("--threshold-pct", type=float, default=None,
                        help="entries at or below this %% of max(A) are small (default 10 sparse, 1 sparse+lowrank)")
    parser.add_argument("--rank", type=int, default=5, help="rank of the low-rank part (default 5)")
    parser.add_argument("--power-iterations", type=int, default=2, help="power iterations of the randomized SVD")
    parser.add_argument("--seed", type=int, default=0, help="seed of the one random generator (default 0)")
    parser.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N (default: auto)")
    parser.add_argument("--out", required=True, type=Path, help="output folder")


def max_rss_mb() -> float:
    """Peak resident memory of this process so far, MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class GpuPeak:
    """Peak bytes CuPy's memory pool held while the block ran (``None`` on the CPU)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.peak: Optional[int] = None
        self._stop: Optional[Any] = None

    def __enter__(self) -> "GpuPeak":
        if self.backend.is_gpu:
            import threading

            pool = self.backend.xp.get_default_memory_pool()
            self.peak = pool.total_bytes()
            stop = threading.Event()

            def watch() -> None:
                while not stop.wait(0.001):
                    self.peak = max(self.peak or 0, pool.total_bytes())

            self._stop = stop
            threading.Thread(target=watch, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._stop is not None:
            self.peak = max(self.peak or 0, self.backend.xp.get_default_memory_pool().total_bytes())
            self._stop.set()


def main(args: argparse.Namespace) -> int:
    import scipy.sparse as sp

    from workstation.analyses.rt_dose.compression import compress, relative_dose_errors
    from workstation.analyses.rt_dose.influence import InfluenceError, load_influence
    from workstation.analyses.rt_dose.operators import SparseOperator
    from workstation.compute.backend import run_with_cpu_fallback, select_backend
    from workstation.io.writers import write_json

    try:
        t0 = time.perf_counter()
        influence = load_influence(args.matrix)
        read_s = time.perf_counter() - t0
    except InfluenceError as exc:
        print(f"workstation-batch rt-compress: {exc}", file=sys.stderr)
        return 2
    if args.rank < 1 or args.power_iterations < 0:
        print("workstation-batch rt-compress: --rank must be >= 1 and --power-iterations >= 0", file=sys.stderr)
        return 2
    peak: Optional[GpuPeak] = None

    def work(backend: Any) -> tuple[Any, dict[str, float]]:
        nonlocal peak
        with GpuPeak(backend) as watch:
            peak = watch
            result = compress(influence.matrix, args.method, backend, threshold_pct=args.threshold_pct,
                              rank=args.rank, power_iterations=args.power_iterations, seed=args.seed)
            t = time.perf_counter()
            errors = relative_dose_errors(SparseOperator(influence.matrix, backend), result.operator(backend),
                                          seed=args.seed)
            result.timings_s["dose_error"] = time.perf_counter() - t
        return result, errors

    try:
        (result, errors), used = run_with_cpu_fallback(work, select_backend(args.device),
                                                       notify=lambda m: print(m, file=sys.stderr))
    except ValueError as exc:
        print(f"workstation-batch rt-compress: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    sp.save_npz(args.out / "S.npz", result.sparse)
    if result.h is not None and result.w is not None:
        np.savez(args.out / "lowrank.npz", H=result.h, W=result.w)
    timing = {"read": read_s, **result.timings_s, "write": time.perf_counter() - t}
    record = {"method": result.method, "matrix": str(args.matrix), "shape": list(influence.shape),
              "nnz_before": result.nnz_before, "nnz_after": result.nnz_after, "rank": result.rank,
              "threshold_pct": result.threshold_pct, "threshold_abs": result.tau, "seed": args.seed,
              "relative_dose_error": errors, "timing": {k: round(v, 6) for k, v in timing.items()},
              "max_rss_mb": round(max_rss_mb(), 1), "peak_gpu_memory_bytes": peak.peak if peak else None,
              "device": used.label, "device_name": used.device_name}
    write_json(record, args.out / "compression.json")
    print(f"{result.method}: nnz {result.nnz_before} -> {result.nnz_after}, rank {result.rank}, "
          f"dose error uniform {errors['uniform']:.2e} random {errors['random']:.2e} on {used.label}")
    return 0
