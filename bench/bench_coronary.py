"""Coronary CTA speed: multi-scale vesselness of a whole CTA, and one vessel's centreline and lumen profile.

Volumes are the demo coronary CTA (0.5 x 0.5 x 0.6 mm, 400 x 400 x 200) edge-padded to
512 x 512 x 300 and cropped to the sizes asked for.  Vesselness: four scales from 0.5 to
2 mm (the analysis's defaults), scale-normalised Hessian by separable Gaussian
derivative filters and the fused eigenvalue + Frangi pass.  Rows (best of ``--repeat``):

* ``numpy``: :func:`workstation.compute.vesselness.frangi` on NumPy/SciPy;
* ``cupy from NumPy``: the same on the GPU from a host volume (upload included);
* ``cupy resident``: the volume already on the device;
* ``skimage``: ``skimage.filters.frangi`` (the CPU peer; the same scales in voxels,
  finite differences for the second derivatives) on the smallest size only (and only
  up to ``--peer-max`` pixels) unless ``--peer-all``: it needs about 30 float64 copies
  of the volume (19 GB at 512 x 512 x 300);
* ``GB/s``: the bytes our CuPy path must move at least (15 filter passes and the fused
  pass per scale, float32) over its time, against the H200's 4.8 TB/s.

The vessel rows trace the demo's RCA from its ostium to its end (vesselness and cost in
the search region on the device, minimal path with scikit-image on the host) and
measure it (sections every 0.5 mm, lumen, plaque, stenoses).

Run: ``python bench/bench_coronary.py [--sizes 128,256,512] [--repeat 3] [--peer-all]``.
"""

from __future__ import annotations

import argparse
from typing import Any, Optional

import numpy as np
from timing import best_of, gpu_or_none  # bench/ is the script's folder

from workstation.analyses.coronary_cta.params import CoronaryParams
from workstation.analyses.coronary_cta.vessel import analyse, trace
from workstation.compute.backend import Backend, cpu_backend
from workstation.compute.vesselness import frangi
from workstation.core.volume import Volume
from workstation.demo.coronary_cta import generate_coronary_cta

PARAMS = CoronaryParams()
FULL = (300, 512, 512)
HBM_TBPS = 4.8


def demo_volume() -> tuple[Volume, Any]:
    base, truth = generate_coronary_cta(0)
    pads = [((f - b) // 2, f - b - (f - b) // 2) for f, b in zip(FULL, base.shape)]
    array = np.pad(base.array, pads, mode="edge")
    origin = tuple(o - p[0] * d for o, p, d in zip(base.origin, (pads[2], pads[1], pads[0]), base.spacing[::-1]))
    return Volume(array, spacing=base.spacing, origin=origin, modality="CT"), truth


def crop(volume: Volume, size: int) -> np.ndarray:
    z = int(round(FULL[0] * size / FULL[1]))
    c = [(n - m) // 2 for n, m in zip(volume.shape, (z, size, size))]
    return np.ascontiguousarray(volume.array[c[0]:c[0] + z, c[1]:c[1] + size, c[2]:c[2] + size])


def vesselness_row(array: np.ndarray, spacing: tuple[float, float, float], gpu: Optional[Backend], repeat: int,
                   peer: bool) -> str:
    sigmas = PARAMS.sigmas_mm
    run = lambda a: frangi(a, spacing, sigmas, c=PARAMS.frangi_c_hu)  # noqa: E731
    t_np, (v_np, _) = best_of(lambda: run(array), 1 if array.size > 2e7 else repeat)
    cols = ["-", "-", "-", "-"]
    if gpu is not None:
        import cupy as cp

        run(cp.asarray(array))  # warm-up: kernel compilation
        t_up, _ = best_of(lambda: run(cp.asarray(array)), repeat, gpu.synchronize)
        resident = cp.asarray(array)
        t_res, (v_gpu, _) = best_of(lambda: run(resident), repeat, gpu.synchronize)
        moved = len(sigmas) * (15 * 2 + 8) * array.size * 4
        diff = float(cp.abs(v_gpu - cp.asarray(v_np)).max())
        cols = [f"{t_up:.3f}", f"{t_res:.3f}", f"{moved / t_res / 1e9:.0f} ({moved / t_res / 1e12 / HBM_TBPS:.0%})",
                f"{diff:.1e}"]
    t_sk = "-"
    if peer:
        from skimage.filters import frangi as sk_frangi

        voxels = [s / spacing[1] for s in sigmas]
        t, _ = best_of(lambda: sk_frangi(array.astype(np.float64), sigmas=voxels, black_ridges=False), 1)
        t_sk = f"{t:.2f}"
    ratio = f"{t_np / float(cols[1]):.0f}x" if cols[1] != "-" else "-"
    mvox = array.size / 1e6
    return f"| {array.shape} | {mvox:.1f} | {t_np:.2f} | {' | '.join(cols[:3])} | {t_sk} | {ratio} | {cols[3]} |"


def vessel_row(volume: Volume, truth: Any, backend: Backend, repeat: int) -> str:
    rca = truth.artery("RCA")
    points = (tuple(rca.centreline_mm[0]), tuple(rca.centreline_mm[len(rca.s_mm) // 2]), tuple(rca.centreline_mm[-1]))
    if backend.is_gpu:
        import cupy as cp

        device = cp.asarray(volume.array)
        analyse(volume, device, "RCA", points, trace(volume, device, points, PARAMS, backend), PARAMS, backend)
    else:
        device = volume.array
    sync = backend.synchronize
    t_trace, path = best_of(lambda: trace(volume, device, points, PARAMS, backend), repeat, sync)
    t_measure, vessel = best_of(lambda: analyse(volume, device, "RCA", points, path, PARAMS, backend), repeat, sync)
    worst = vessel.worst
    return (f"| RCA {vessel.length_mm:.0f} mm, {len(vessel.position_mm)} sections | {backend.label} | {t_trace:.2f} | "
            f"{t_measure:.3f} | {len(vessel.stenoses)} lesions, worst {worst.percent_diameter:.0f} % |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="128,256,512")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peer-all", action="store_true", help="scikit-image frangi at every size")
    parser.add_argument("--peer-max", type=int, default=256,
                        help="largest size (pixels) for scikit-image frangi (float64 copies of the volume)")
    args = parser.parse_args()
    gpu = gpu_or_none()
    print(f"GPU: {gpu.device_name if gpu else 'none (CuPy columns skipped)'}\n")
    volume, truth = demo_volume()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"Vesselness, {len(PARAMS.sigmas_mm)} scales {PARAMS.sigmas_mm[0]:g}-{PARAMS.sigmas_mm[-1]:g} mm\n")
    print("| size (z,y,x) | Mvoxels | numpy s | cupy from NumPy s | cupy resident s | cupy GB/s (of HBM) "
          "| skimage frangi s | numpy/cupy | max |numpy - cupy| |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size in sizes:
        array = crop(volume, size)
        peer = args.peer_all or (size == min(sizes) and size <= args.peer_max)
        print(vesselness_row(array, volume.spacing, gpu, args.repeat, peer))
    print("\nOne vessel: trace (vesselness + cost in its region, minimal path) and measure (sections, lumen, "
          "plaque, stenoses)\n")
    print("| vessel | device | trace s | measure s | found |")
    print("|---|---|---|---|---|")
    print(vessel_row(volume, truth, cpu_backend(), max(1, args.repeat - 2)))
    if gpu is not None:
        print(vessel_row(volume, truth, gpu, args.repeat))


if __name__ == "__main__":
    main()
