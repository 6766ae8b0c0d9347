"""Benchmark cardiac function end to end: NumPy + ONNX CPU provider vs CuPy + ONNX CUDA provider.

A synthetic short-axis cine (default 12 slices x 30 phases of 256 x 256, 1.4 mm pixels,
8 mm slices with 2 mm gaps) is segmented with the bundled ``cardiac-cine`` model and
measured.  Each run is split into upload (cine to the device), localise (motion map and
the pilot run on the middle slices), inference (every plane through the model's window,
softmax, labels back on the study grid) and post-processing (clean-up, areas, rays,
limits, discs, segments, download); the provider column names what ONNX Runtime ran
on.  A second table times post-processing alone on the same labels, against a per-plane
SciPy loop (label, keep the largest, fill holes, count: what a straightforward
implementation does), and checks that NumPy and CuPy give the same volumes.  Runs on
the CPU alone where there is no GPU (the GPU columns are then skipped).

Usage::

    python bench/bench_cardiac.py [--slices 12 --phases 30 --size 256 --repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np
import scipy.ndimage as ndi

from timing import gpu_or_none, median_of  # bench/ is the script's folder

from workstation.analyses.cardiac_function.logic import run
from workstation.analyses.cardiac_function.measure import measure
from workstation.analyses.cardiac_function.params import CardiacParams
from workstation.analyses.cardiac_function.prepare import cine_input
from workstation.compute.backend import Backend, cpu_backend
from workstation.demo.cardiac_phantom import generate_cine

STAGES = ("upload", "localise", "inference", "postprocess")


def _end_to_end(cine: Any, backend: Backend, repeat: int) -> tuple[float, dict[str, float], Any]:
    params = CardiacParams()
    run(cine, params, backend)  # warm-up: session, kernels
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = run(cine, params, backend)
        runs.append((time.perf_counter() - t0, result))
    total = statistics.median(t for t, _ in runs)
    stages = {k: statistics.median(r.timings_s.get(k, 0.0) for _, r in runs) for k in STAGES}
    return total, stages, runs[-1][1]


def _peer_loop(labels: np.ndarray) -> np.ndarray:
    """Per-plane SciPy clean-up and pixel counts (the straightforward way)."""
    n_t, n_z = labels.shape[:2]
    counts = np.zeros((n_t, n_z, 3), dtype=np.int64)
    for t in range(n_t):
        for k in range(n_z):
            plane = labels[t, k]
            for i, value in enumerate((1, 2, 3)):
                lab, n = ndi.label(plane == value)
                if n == 0:
                    continue
                keep = lab == (1 + int(np.argmax(np.bincount(lab.ravel())[1:])))
                if value == 1:
                    keep = ndi.binary_fill_holes(keep)
                counts[t, k, i] = int(keep.sum())
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slices", type=int, default=12)
    parser.add_argument("--phases", type=int, default=30)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    case = generate_cine(4242, n_slices=args.slices, n_phases=args.phases, rows=args.size, cols=args.size,
                         pixel_mm=358.4 / args.size, thickness_mm=8.0, gap_mm=2.0)
    cine = cine_input(case.series(), sex="M")
    gpu = gpu_or_none(say=True)
    planes = args.slices * args.phases
    print(f"Cardiac function of a {args.slices}-slice x {args.phases}-phase {args.size}x{args.size} cine "
          f"({planes} planes, {case.images.nbytes / 1e6:.0f} MB float32), model cardiac-cine, median of {args.repeat}\n")
    cpu_total, cpu_stages, cpu_result = _end_to_end(cine, cpu_backend(), args.repeat)
    gpu_total, gpu_stages, gpu_result = _end_to_end(cine, gpu, args.repeat) if gpu is not None else (None, {}, None)
    cpu_provider = ", ".join(cpu_result.method.get("providers", []))
    gpu_provider = ", ".join(gpu_result.method.get("providers", [])) if gpu_result is not None else "-"
    print(f"| stage | numpy ms (ORT: {cpu_provider}) | cupy ms (ORT: {gpu_provider}) | numpy/cupy |")
    print("|---|---:|---:|---:|")
    for stage in (*STAGES, "total"):
        c = cpu_total if stage == "total" else cpu_stages[stage]
        g = gpu_total if stage == "total" else gpu_stages.get(stage)
        ratio = f"{c / g:.1f}x" if g else "-"
        print(f"| {stage} | {1000 * c:.1f} | {'-' if g is None else f'{1000 * g:.1f}'} | {ratio} |")
    t = case.truth
    print(f"\nLV EDV {cpu_result.lv.edv_ml:.1f} ml (truth {t['lv_edv_ml']:.1f}), ESV {cpu_result.lv.esv_ml:.1f} "
          f"({t['lv_esv_ml']:.1f}), EF {cpu_result.lv.ef_pct:.1f} % ({t['lv_ef_pct']:.1f}), mass "
          f"{cpu_result.lv.mass_g:.1f} g ({t['lv_mass_g']:.1f}); CPU and GPU runs agree: "
          + ("-" if gpu_result is None else f"{_agree(cpu_result.lv, gpu_result.lv)}"))

    labels = case.labels
    params = CardiacParams()
    numpy_s, ours = median_of(lambda: measure(labels, cine, params, cpu_backend()), args.repeat, warmup=False)
    peer_s, _ = median_of(lambda: _peer_loop(labels), args.repeat, warmup=False)
    cupy_s, gpu_m = (None, None)
    if gpu is not None:
        device_labels = gpu.asarray(labels)
        measure(device_labels, cine, params, gpu)

        def on_gpu() -> Any:
            out = measure(device_labels, cine, params, gpu)
            gpu.synchronize()
            return out

        cupy_s, gpu_m = median_of(on_gpu, args.repeat, warmup=False)
    print("\nPost-processing alone on the phantom's true labels (clean-up, areas, rays, discs, segments, download)\n")
    print("| numpy ms | cupy ms (labels on the GPU) | scipy per-plane loop ms | loop/numpy | numpy/cupy | volumes agree |")
    print("|---:|---:|---:|---:|---:|---|")
    cupy_text = "-" if cupy_s is None else f"{1000 * cupy_s:.1f}"
    ratio = "-" if cupy_s is None else f"{numpy_s / cupy_s:.1f}x"
    agree = "-" if gpu_m is None else _agree(ours.lv, gpu_m.lv)
    print(f"| {1000 * numpy_s:.1f} | {cupy_text} | {1000 * peer_s:.1f} | {peer_s / numpy_s:.1f}x | {ratio} | {agree} |")


def _agree(a: Any, b: Any) -> str:
    worst = max(abs(a.edv_ml - b.edv_ml) / a.edv_ml, abs(a.esv_ml - b.esv_ml) / a.esv_ml)
    return f"{'yes' if worst <= 1e-3 else 'NO'} (max {100 * worst:.3f} %)"


if __name__ == "__main__":
    main()
