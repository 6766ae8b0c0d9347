"""Perfusion deconvolution: NumPy vs CuPy (incl. transfers) vs a per-voxel SVD loop.

Prints a markdown table per size and method.  Data: the demo brain phantom
(``workstation.demo.perfusion``) generated at 128x128 in-plane and tiled to the
requested size, 40 time points, smoothing off (deconvolution cost only).

* NumPy: ``run()`` on the CPU backend (float64), whole analysis, one run.
* CuPy: ``run()`` on the GPU backend, float64 and float32, from host arrays to host
  maps (uploads, downloads and AIF search included), best of 3 after one warm-up run;
  "pinned frames": the same from frames in page-locked host memory (no staging copy);
  the agreement columns give the share of map voxels (finite in both, all maps) within
  1e-4 relative of NumPy (floor 1e-6 absolute) and the worst voxel's map and error.
* breakdown: per-stage medians of synchronised runs (scan = upload with pass 1
  overlapped; aif = AIF/VOF choice and factoring; maps = pass 2, concentration +
  deconvolution + maps + tissue mask in one kernel on the GPU, slab by slab;
  finish = summary; download = what is left of the copies, which start with the
  first slab's maps).  Synchronising between stages hides part of the overlap, so
  the stages add up to more than the unsynchronised total.
* peer: a straightforward per-voxel loop (``np.linalg.svd`` of the voxel's AIF
  matrix, truncated pseudo-inverse, product), timed on 200 voxels and extrapolated
  linearly to all voxels.

Usage: ``python bench/bench_perfusion.py [--sizes 256x256x20,512x512x64] [--methods ssvd,csvd,osvd]
[--no-cpu] [--no-peer]``
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import numpy as np

from workstation.analyses.perfusion.concentration import interpolation_matrix, uniform_grid
from workstation.analyses.perfusion.deconvolution import DEFAULT_THRESHOLDS, convolution_matrix
from workstation.analyses.perfusion.logic import run
from workstation.analyses.perfusion.params import PerfusionParams
from workstation.compute.backend import cpu_backend, select_backend
from workstation.core.volume import Volume, VolumeSeries
from workstation.demo.perfusion import generate_perfusion


def make_series(nx: int, ny: int, nz: int, n_times: int = 40) -> VolumeSeries:
    base, _ = generate_perfusion(seed=0, shape=(nz, 128, 128), n_times=n_times)
    ry, rx = -(-ny // 128), -(-nx // 128)
    volumes = tuple(
        Volume(np.rint(np.tile(v.array, (1, ry, rx))[:, :ny, :nx]).astype(np.int16), spacing=v.spacing,
               modality="CT")
        for v in base.volumes
    )
    return VolumeSeries(volumes, base.times, meta={"Modality": "CT"})


def pinned_copy(series: VolumeSeries) -> VolumeSeries:
    """The series with its frames in one page-locked host block, as a loader filling
    pinned memory would hand it over (uploads then need no staging copy)."""
    from dataclasses import replace

    from workstation.compute.transfer import pinned_empty

    block = pinned_empty((len(series.volumes), *series.reference.shape), series.reference.array.dtype)
    for k, v in enumerate(series.volumes):
        block[k] = v.array
    return VolumeSeries(tuple(replace(v, array=block[k]) for k, v in enumerate(series.volumes)), series.times,
                        meta=series.meta)


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


STAGES = ("scan", "aif", "maps", "finish", "download")


def staged(series: VolumeSeries, params: PerfusionParams, backend, repeat: int = 3) -> tuple[float, dict[str, float]]:
    """Best total wall time of ``run()`` (no synchronisation inside) and the median
    per-stage breakdown of synchronised runs."""
    run(series, params, backend)  # warm-up: kernel compilation, pinned pools
    total = timed(lambda: (run(series, params, backend), backend.synchronize()), repeat=repeat)
    laps: list[dict[str, float]] = []
    for _ in range(repeat):
        t: dict[str, float] = {}
        run(series, params, backend, timings=t)
        laps.append(t)
    return total, {k: float(np.median([t.get(k, 0.0) for t in laps])) for k in STAGES}


def agreement(a: dict, b: dict, rtol: float = 1e-4) -> str:
    """Share of voxels within ``rtol`` of the reference over all maps, and the worst one."""
    ok = total = 0
    worst, worst_map = 0.0, "-"
    for name in a:
        x, y = a[name], b[name]
        both = np.isfinite(x) & np.isfinite(y)
        if not both.any():
            continue
        err = np.abs(x[both] - y[both]) / (np.abs(y[both]) + 1e-6)
        ok += int(np.count_nonzero(err <= rtol))
        total += int(err.size)
        if float(err.max()) > worst:
            worst, worst_map = float(err.max()), name
    return f"{100.0 * ok / max(total, 1):.4f} % (worst {worst_map} {worst:.1e})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256x256x20,512x512x64")
    parser.add_argument("--methods", default="ssvd,csvd,osvd")
    parser.add_argument("--no-cpu", action="store_true", help="skip the NumPy column (slow on big sizes)")
    parser.add_argument("--no-peer", action="store_true", help="skip the per-voxel loop column")
    args = parser.parse_args()
    gpu = select_backend("cuda")
    print(f"GPU: {gpu.describe()}")
    rows, stages = [], []
    for size in args.sizes.split(","):
        nx, ny, nz = (int(v) for v in size.split("x"))
        series = make_series(nx, ny, nz)
        label = f"{nx}x{ny}x{nz}x{len(series.times)}"
        for method in args.methods.split(","):
            params = PerfusionParams(method=method, smoothing_mm=0.0)
            p32 = PerfusionParams(method=method, smoothing_mm=0.0, precision="float32")
            ref = None
            t_cpu = np.nan
            if not args.no_cpu:
                t0 = time.perf_counter()
                ref = run(series, params, cpu_backend())
                t_cpu = time.perf_counter() - t0
            t_gpu = t_gpu32 = t_pin = np.nan
            err64 = err32 = "-"
            if gpu.is_gpu:
                t_gpu, st64 = staged(series, params, gpu)
                t_gpu32, st32 = staged(series, p32, gpu)
                t_pin, _ = staged(pinned_copy(series), params, gpu)
                stages += [(label, method, "float64", st64), (label, method, "float32", st32)]
                if ref is not None:
                    err64 = agreement(run(series, params, gpu).maps, ref.maps)
                    err32 = agreement(run(series, p32, gpu).maps, ref.maps)
            t_peer = np.nan if args.no_peer else peer_seconds(series, method)
            rows.append(f"| {label} | {method} | {t_cpu:.2f} | {t_gpu * 1e3:.1f} | {t_pin * 1e3:.1f} "
                        f"| {t_gpu32 * 1e3:.1f} "
                        f"| {err64} | {err32} | {t_peer:.1f} | {t_cpu / t_gpu:.0f} | {t_peer / t_gpu:.0f} |")
    print()
    print("| size (x*y*z*t) | method | NumPy f64 (s) | CuPy f64 (ms) | CuPy f64, pinned frames (ms) "
          "| CuPy f32 (ms) | f64 within 1e-4 of NumPy | f32 within 1e-4 of NumPy | peer loop (s, extrap.) "
          "| NumPy/CuPy f64 | peer/CuPy f64 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    if stages:
        print()
        print("| size | method | precision | " + " | ".join(f"{k} (ms)" for k in STAGES) + " | sum (ms) |")
        print("|---|---|---|" + "---|" * (len(STAGES) + 1))
        for label, method, prec, st in stages:
            print(f"| {label} | {method} | {prec} | " + " | ".join(f"{st[k] * 1e3:.1f}" for k in STAGES)
                  + f" | {sum(st.values()) * 1e3:.1f} |")


if __name__ == "__main__":
    main()
