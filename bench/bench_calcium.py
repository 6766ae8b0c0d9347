"""Calcium scoring speed: our NumPy path, our CuPy path, and a typical SciPy loop implementation.

Volumes are 512 x 512 x N slices of the demo chest CT (anatomy, bone, noise and the
placed calcifications, the 60 demo slices repeated along z).  Every path scores the
same voxels and the totals are checked to agree.  Times (best of ``--repeat``):

* ``numpy``: ``calcium.logic.run`` on the CPU backend (aortic root given, so only
  labelling and scoring are timed);
* ``cupy from NumPy``: the same on the GPU from a NumPy volume (includes the host to
  device copy, staged through pinned buffers by :mod:`workstation.compute.transfer`);
* ``cupy pinned``: the volume staged in pinned host memory (as a loader would fill it),
  copy included;
* ``cupy resident``: the volume already on the device (an analysis run after loading);
* ``scipy loops``: per-slice ``scipy.ndimage.label`` then a Python loop over labels
  with boolean masks for area and peak (how calcium scoring is usually written).

Run: ``python bench/bench_calcium.py [--sizes 64,200,400] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from timing import best_of, gpu_or_none  # bench/ is the script's folder

from workstation.analyses.calcium.logic import run
from workstation.analyses.calcium.params import CalciumParams
from workstation.compute.backend import cpu_backend
from workstation.core.volume import Volume
from workstation.demo.chest_ct import generate_chest_ct

PARAMS = CalciumParams(aortic_root_mm=(-5.0, -15.0, 31.5))


def make_volume(n_slices: int) -> Volume:
    base, _ = generate_chest_ct(seed=0)
    reps = -(-n_slices // base.shape[0])
    a = np.ascontiguousarray(np.concatenate([base.array] * reps, axis=0)[:n_slices])
    return Volume(a, spacing=base.spacing, origin=base.origin, modality="CT", meta=dict(base.meta))


def scipy_loops(a: np.ndarray, pixel_mm: float, dz: float) -> float:
    """A typical implementation: label each slice, loop over labels with masks."""
    import scipy.ndimage as ndi

    total = 0.0
    eight = np.ones((3, 3), dtype=bool)
    for k in range(a.shape[0]):
        labels, n = ndi.label(a[k] >= 130, structure=eight)
        for i in range(1, n + 1):
            sel = labels == i
            area = float(sel.sum()) * pixel_mm * pixel_mm
            if area < 1.0:
                continue
            peak = float(a[k][sel].max())
            total += area * (4 if peak >= 400 else 3 if peak >= 300 else 2 if peak >= 200 else 1)
    return total * dz / 3.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64,200,400")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-peer", action="store_true", help="skip the slow SciPy loop reference")
    args = parser.parse_args()
    gpu = gpu_or_none()
    cpu = cpu_backend()
    print(f"GPU: {gpu.device_name if gpu else 'none (CuPy columns skipped)'}\n")
    print("| size (z,y,x) | MB | lesions | numpy s | cupy from NumPy ms | cupy pinned ms | cupy resident ms "
          "| scipy loops s | numpy/cupy from NumPy | loops/numpy | totals agree |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in [int(s) for s in args.sizes.split(",")]:
        vol = make_volume(n)
        mb = vol.array.nbytes / 1e6
        t_np, r_np = best_of(lambda: run(vol, PARAMS, cpu), args.repeat)
        agree = True
        cols = ["-", "-", "-"]
        ratio = "-"
        if gpu is not None:
            import cupy as cp
            import cupyx

            sync = gpu.synchronize
            run(vol, PARAMS, gpu)  # warm-up: kernel compilation
            t_page, r_gpu = best_of(lambda: run(vol, PARAMS, gpu), args.repeat, sync)
            pinned = cupyx.empty_pinned(vol.shape, dtype=vol.array.dtype)
            np.copyto(pinned, vol.array)

            def from_pinned() -> Any:
                dev = cp.empty(vol.shape, dtype=pinned.dtype)
                dev.set(pinned)
                return run(Volume(dev, spacing=vol.spacing, origin=vol.origin, modality="CT"), PARAMS, gpu)

            t_pin, _ = best_of(from_pinned, args.repeat, sync)
            resident = Volume(cp.asarray(vol.array), spacing=vol.spacing, origin=vol.origin, modality="CT")
            t_res, r_res = best_of(lambda: run(resident, PARAMS, gpu), args.repeat, sync)
            cols = [f"{1e3 * t_page:.1f}", f"{1e3 * t_pin:.1f}", f"{1e3 * t_res:.1f}"]
            ratio = f"{t_np / t_page:.0f}x"
            agree &= r_gpu.to_json()["lesions"] == r_np.to_json()["lesions"]
            agree &= r_res.agatston_total == r_np.agatston_total
        peer, loops_ratio = "-", "-"
        if not args.no_peer:
            t_peer, total_peer = best_of(lambda: scipy_loops(vol.array, vol.spacing[2], vol.spacing[0]), 1)
            # The loop reference scores everything >= 130 HU, bone included: compare without exclusion.
            everything = run(vol, CalciumParams(aortic_root_mm=PARAMS.aortic_root_mm, auto_exclude=False), cpu)
            agree &= abs(total_peer - everything.agatston_total) < 1e-6 * max(1.0, total_peer)
            peer, loops_ratio = f"{t_peer:.2f}", f"{t_peer / t_np:.1f}x"
        print(f"| {vol.shape} | {mb:.0f} | {len(r_np.lesions)} | {t_np:.3f} | {' | '.join(cols)} | {peer} "
              f"| {ratio} | {loops_ratio} | {'yes' if agree else 'NO'} |")


if __name__ == "__main__":
    main()
