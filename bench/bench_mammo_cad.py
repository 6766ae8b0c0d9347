"""Four-view mammography CAD: CPU (NumPy + ONNX Runtime CPU) vs GPU (CuPy + ORT CUDA).

Prints a markdown table of the time split into preprocessing, inference and
post-processing for one synthetic four-view exam (built in memory: no DICOM, no Qt),
median of ``--repeats`` runs after one warm-up.  The GPU rows appear when CuPy and a
CUDA device work; ORT uses its CUDA provider when ``onnxruntime-gpu`` is installed.
The peer column is Pillow's box-filter resize of the four views (the preprocessing's
most expensive step done by a standard library on the CPU), when Pillow is present.

    python bench/bench_mammo_cad.py [--repeats 10] [--size 1024x832]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any, Optional

from workstation.analyses.mammo_cad.detect import Detector
from workstation.analyses.mammo_cad.loader import exam_from_arrays
from workstation.analyses.mammo_cad.logic import run
from workstation.analyses.mammo_cad.params import MammoCadParams
from workstation.compute.backend import Backend, cpu_backend, select_backend
from workstation.demo.mammo import VIEWS, generate_mammo, patient_orientation


def _time_backend(exam: Any, backend: Backend, repeats: int) -> tuple[dict[str, float], str, int]:
    detector = Detector(backend)
    result = run(exam, MammoCadParams(), backend, detector=detector)  # warm-up
    samples: dict[str, list[float]] = {}
    for _ in range(repeats):
        result = run(exam, MammoCadParams(), backend, detector=detector)
        for k, v in result.timings_s.items():
            samples.setdefault(k, []).append(v)
    return {k: statistics.median(v) for k, v in samples.items()}, detector.device, len(result.findings)


def _preprocess_only(exam: Any, backend: Backend, repeats: int) -> float:
    """Median preprocessing time of the four views (used when ONNX Runtime is missing)."""
    from workstation.analyses.mammo_cad.preprocess import preprocess_view

    times = []
    for i in range(repeats + 1):
        t0 = time.perf_counter()
        for im in exam.images:
            preprocess_view(im.pixels, flip=not im.chest_wall_left, spacing_mm=im.spacing_mm, backend=backend)
        backend.synchronize()
        if i:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _peer_resize(exam: Any, repeats: int) -> Optional[float]:
    try:
        from PIL import Image
    except ImportError:
        return None
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for im in exam.images:
            Image.fromarray(im.pixels).resize((208, 256), Image.Resampling.BOX)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--size", default="1024x832")
    args = ap.parse_args()
    rows, cols = (int(v) for v in args.size.split("x"))
    case = generate_mammo(7, shape=(rows, cols), findings={"R": (1, 1), "L": (1, 0)})
    exam = exam_from_arrays(case.images, case.pixel_spacing_mm, {v: patient_orientation(v) for v in VIEWS})
    lines = ["| size | backend | device (ORT) | preprocess ms | inference ms | postprocess ms | total ms | findings |",
             "|---|---|---|---|---|---|---|---|"]
    results = {}
    backends: list[Backend] = [cpu_backend()]
    gpu = select_backend("cuda")
    if gpu.is_gpu:
        backends.append(gpu)
    else:
        print(f"(no GPU rows: {gpu.describe()})")
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        print("onnxruntime is not installed (pip install onnxruntime-gpu): preprocessing only")
        for backend in backends:
            t_pre = _preprocess_only(exam, backend, args.repeats)
            print(f"| 4 x {rows}x{cols} | {backend.name} | preprocess {t_pre * 1e3:.1f} ms |")
        return
    for backend in backends:
        t, device, n = _time_backend(exam, backend, args.repeats)
        results[backend.name] = t
        lines.append(f"| 4 x {rows}x{cols} | {backend.name} | {device} | {t['preprocess'] * 1e3:.1f} | "
                     f"{t['inference'] * 1e3:.1f} | {t['postprocess'] * 1e3:.1f} | {t['total'] * 1e3:.1f} | {n} |")
    print("\n".join(lines))
    peer = _peer_resize(exam, args.repeats)
    if peer is not None:
        print(f"\nPeer: Pillow BOX resize of the four views to 256x208: {peer * 1e3:.1f} ms (CPU)")
    if "cupy" in results:
        c, g = results["numpy"], results["cupy"]
        print("\n| stage | CPU / GPU ratio |\n|---|---|")
        for k in ("preprocess", "inference", "postprocess", "total"):
            print(f"| {k} | {c[k] / max(g[k], 1e-9):.1f} |")


if __name__ == "__main__":
    main()
