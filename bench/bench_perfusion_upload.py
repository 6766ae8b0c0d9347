"""Host-to-device upload of a dynamic series: pageable, pinned ring, registered in place.

Prints a markdown table (ms, GB/s) for a ``t x z x y x x`` int16 series
(default 40 x 64 x 512 x 512, 1.34 GB).  GPU only.

Usage: ``python bench/bench_perfusion_upload.py [--shape 40,64,512,512]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from workstation.compute import transfer
from workstation.compute.backend import select_backend
from workstation.core.volume import Volume, VolumeSeries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="40,64,512,512")
    args = parser.parse_args()
    t, *zyx = (int(v) for v in args.shape.split(","))
    gpu = select_backend("cuda")
    if not gpu.is_gpu:
        print("no GPU: nothing to measure")
        return
    rng = np.random.default_rng(0)
    vols = tuple(Volume(rng.integers(-1000, 2000, zyx, dtype=np.int16), spacing=(5.0, 0.5, 0.5)) for _ in range(t))
    series = VolumeSeries(vols, tuple(float(k) for k in range(t)))
    nbytes = sum(v.array.nbytes for v in vols)
    print("| method | stages x MB | ms (median of 5) | GB/s |")
    print("|---|---|---|---|")
    configs = [("pageable", 0, 0)] + [("pinned", s, b) for s in (8, 16) for b in (4, 8, 16)]
    configs += [("registered", 0, 0)]
    for method, stages, mb in configs:
        if stages:
            transfer.STAGES, transfer.STAGE_BYTES, transfer._POOL = stages, mb * 2**20, None
        times = []
        for _ in range(6):
            gpu.synchronize()
            t0 = time.perf_counter()
            out = transfer.upload_frames([v.array for v in series.volumes], gpu.device_id, method)
            gpu.synchronize()
            times.append(time.perf_counter() - t0)
            del out
        ms = float(np.median(times[1:])) * 1e3
        print(f"| {method} | {stages} x {mb} | {ms:.1f} | {nbytes / ms / 1e6:.1f} |")


if __name__ == "__main__":
    main()
