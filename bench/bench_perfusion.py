"""Perfusion deconvolution: NumPy vs CuPy (incl. transfers) vs a per-voxel SVD loop.

Prints a markdown table per size and method.  Data: the demo brain phantom
(``workstation.demo.perfusion``) generated at 128x128 in-plane and tiled to the
requested size, 40 time points, smoothing off (deconvolution cost only).

* NumPy: ``run()`` on the CPU backend (float64), whole analysis.
* CuPy: ``run()`` on the GPU backend, float64 and float32, from host arrays to host
  maps (uploads, downloads and AIF search included), after one warm-up run.
* peer: a straightforward per-voxel loop (``np.linalg.svd`` of the voxel's AIF
  matrix, truncated pseudo-inverse, product), timed on 200 voxels and extrapolated
  linearly to all voxels.

Usage: ``python bench/bench_perfusion.py [--sizes 256x256x20,512x512x64] [--methods ssvd,csvd,osvd]
[--no-cpu]``
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import numpy as np

from workstation.analyses.perfusion.concentration import interpolation_matrix, uniform_grid
from workstation.analyses.perfusion.deconvolution import DEFAULT_THRESHOLDS, convolution_matrix
from workstation.analyses.perfusion.logic import PerfusionParams, run
from workstation.compute.backend import cpu_backend, select_backend
from workstation.core.volume import Volume, VolumeSeries
from workstation.demo.perfusion import generate_perfusion


def make_series(nx: int, ny: int, nz: int, n_times: int = 40) -> VolumeSeries:
    base, _ = generate_perfusion(seed=0, shape=(nz, 128, 128), n_times=n_times)
    ry, rx = -(-ny // 128), -(-nx // 128)
    volumes = tuple(
        Volume(np.ascontiguousarray(np.tile(v.array, (1, ry, rx))[:, :ny, :nx]), spacing=v.spacing, modality="CT")
        for v in base.volumes
    )
    return VolumeSeries(volumes, base.times, meta={"Modality": "CT"})


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def peer_seconds(series: VolumeSeries, method: str, sample: int = 200) -> float:
    """Per-voxel SVD loop on ``sample`` voxels, extrapolated to the whole volume."""
    times = np.asarray(series.times)
    grid, dt = uniform_grid(times)
    w = interpolation_matrix(times, grid)
    flat = [v.array.reshape(-1) for v in series.volumes]
    n_vox = flat[0].size
    idx = np.random.default_rng(0).choice(n_vox, sample, replace=False)
    curves = np.stack([f[idx] for f in flat]).astype(np.float64)
    aif = w @ curves[:, 0]
    thr = DEFAULT_THRESHOLDS.get(method, 0.1)
    t0 = time.perf_counter()
    for k in range(sample):
        conc = w @ (curves[:, k] - curves[:4, k].mean())
        a = convolution_matrix(aif, dt, "ssvd" if method == "ssvd" else "csvd")
        u, s, vt = np.linalg.svd(a)
        s_inv = np.where(s >= thr * s[0], 1.0 / s, 0.0)
        padded = np.concatenate([conc, np.zeros(a.shape[0] - conc.size)])
        (vt.T * s_inv) @ (u.T @ padded)
    return (time.perf_counter() - t0) * n_vox / sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256x256x20,512x512x64")
    parser.add_argument("--methods", default="ssvd,csvd,osvd")
    parser.add_argument("--no-cpu", action="store_true", help="skip the NumPy column (slow on big sizes)")
    args = parser.parse_args()
    gpu = select_backend("cuda")
    print(f"GPU: {gpu.describe()}")
    print("| size (x*y*z*t) | method | NumPy f64 (s) | CuPy f64 (s) | CuPy f32 (s) | peer loop (s, extrap.) "
          "| NumPy/CuPy f64 | peer/CuPy f64 |")
    print("|---|---|---|---|---|---|---|---|")
    for size in args.sizes.split(","):
        nx, ny, nz = (int(v) for v in size.split("x"))
        series = make_series(nx, ny, nz)
        for method in args.methods.split(","):
            params = PerfusionParams(method=method, smoothing_mm=0.0)
            t_cpu = np.nan if args.no_cpu else timed(lambda: run(series, params, cpu_backend()))
            t_gpu = t_gpu32 = np.nan
            if gpu.is_gpu:
                p32 = PerfusionParams(method=method, smoothing_mm=0.0, precision="float32")
                run(series, params, gpu)
                t_gpu = timed(lambda: (run(series, params, gpu), gpu.synchronize()), repeat=3)
                run(series, p32, gpu)
                t_gpu32 = timed(lambda: (run(series, p32, gpu), gpu.synchronize()), repeat=3)
            t_peer = peer_seconds(series, method)
            print(f"| {nx}x{ny}x{nz}x{len(series.times)} | {method} | {t_cpu:.3f} | {t_gpu:.4f} | {t_gpu32:.4f} "
                  f"| {t_peer:.1f} | {t_cpu / t_gpu:.1f} | {t_peer / t_gpu:.0f} |")


if __name__ == "__main__":
    main()
