"""Benchmark organ segmentation: NumPy + ONNX CPU provider vs CuPy + ONNX CUDA provider.

A synthetic chest CT (default 512 x 512 x 300, 0.75 mm pixels, 1 mm slices) is
segmented with the bundled ``chest-organs`` model; the time is split into
preprocessing (upload, reorient, resample to 3 mm, normalise), inference (tiled
ONNX Runtime, softmax, blending) and postprocessing (argmax of resampled
probabilities on the study grid, volumes, mean HU, download).  The peer column times
SimpleITK's linear resampling of the same CT to 3 mm (the preprocessing step) when
SimpleITK is installed.  Runs on the CPU alone (the GPU columns are then skipped).

Usage::

    python bench/bench_segmentation.py [--size 512 --slices 300 --repeat 3]
"""

from __future__ import annotations

import argparse
from typing import Any, Optional

import numpy as np

from timing import gpu_or_none, median_of  # bench/ is the script's folder

from workstation.analyses.segmentation.logic import run
from workstation.analyses.segmentation.params import SegmentationParams
from workstation.compute.backend import Backend, cpu_backend
from workstation.demo.chest_labels import synthetic_chest


def _segment(volume: Any, backend: Backend, repeat: int) -> tuple[float, dict[str, float], Any]:
    params = SegmentationParams(batch_size=4)
    run(volume, params, backend)  # warm-up: session, kernels
    total, result = median_of(lambda: run(volume, params, backend), repeat, warmup=False)
    return total, dict(result.timings_s), result


def _peer_resample(volume: Any, repeat: int) -> Optional[float]:
    try:
        import SimpleITK as sitk
    except ImportError:
        return None
    image = sitk.GetImageFromArray(volume.array.astype(np.float32))
    image.SetSpacing(tuple(reversed(volume.spacing)))
    size = [int((n - 1) * s / 3.0) + 1 for n, s in zip(image.GetSize(), image.GetSpacing())]

    def go() -> Any:
        return sitk.Resample(image, size, sitk.Transform(), sitk.sitkLinear, image.GetOrigin(), (3.0, 3.0, 3.0),
                             image.GetDirection(), -1000.0, sitk.sitkFloat32)

    return median_of(go, repeat, warmup=False)[0]


def _kernels(volume: Any, truth: Any, backend: Backend, repeat: int) -> dict[str, float]:
    """Pre/post-processing alone (no ONNX Runtime): model-grid resampling, label resampling, measures.

    The class scores are one-hot maps of the known labels on the model grid.
    """
    from workstation.analyses.segmentation.logic import measure
    from workstation.demo.chest_labels import LABELS
    from workstation.ml.manifest import InputSpec, Normalization
    from workstation.ml.preprocess import labels_to_study, to_model_grid

    spec = InputSpec("image", (3.0, 3.0, 3.0), (32, 64, 64), Normalization("ct-window", lo=-1000.0, hi=1000.0))
    xp, ndi = backend.xp, backend.ndimage
    image = backend.asarray(volume.array)
    _net_in, grid = to_model_grid(image, volume.spacing, volume.direction, spec, ndi)
    coarse = backend.asarray(truth[::3, ::4, ::4])
    coarse = ndi.zoom(coarse, [m / c for m, c in zip(grid.model_shape, coarse.shape)], order=0)
    prob = xp.stack([(coarse == k).astype(xp.float32) for k in range(6)])

    def pre() -> Any:
        out = to_model_grid(backend.asarray(volume.array), volume.spacing, volume.direction, spec, ndi)
        backend.synchronize()
        return out

    def labels() -> Any:
        out = labels_to_study(prob, grid, ndi)
        backend.synchronize()
        return out

    def post() -> Any:
        out = labels_to_study(prob, grid, ndi)
        structures = measure(out, image, LABELS, volume.voxel_volume_mm3)
        host = backend.asnumpy(out)
        return host, structures

    pre(), post()  # warm-up (kernel compilation on the GPU)
    return {"preprocess (upload, resample, normalise)": median_of(pre, repeat, warmup=False)[0],
            "labels to study grid (argmax of resampled scores)": median_of(labels, repeat, warmup=False)[0],
            "postprocess (labels to study grid, measures, download)": median_of(post, repeat, warmup=False)[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    pixel = 384.0 / args.size
    case = synthetic_chest(1234, shape=(args.slices, args.size, args.size), spacing=(1.0, pixel, pixel))
    volume = case.volume
    n_vox = int(np.prod(volume.shape))
    gpu = gpu_or_none(say=True)
    size = f"{volume.shape[2]}x{volume.shape[1]}x{volume.shape[0]}"
    print(f"Segmentation of a {size} CT ({n_vox / 1e6:.1f} Mvoxel, int16), model chest-organs, "
          f"median of {args.repeat}\n")

    print("| step (no ONNX) | NumPy s | CuPy s (incl. transfers) | NumPy/CuPy |")
    print("|---|---|---|---|")
    cpu_k = _kernels(volume, case.labels, cpu_backend(), args.repeat)
    gpu_k = _kernels(volume, case.labels, gpu, args.repeat) if gpu is not None else {}
    for step, t_cpu in cpu_k.items():
        t_gpu = gpu_k.get(step)
        print(f"| {step} | {t_cpu:.3f} | {'n/a' if t_gpu is None else f'{t_gpu:.3f}'} | "
              f"{'n/a' if t_gpu is None else f'{t_cpu / t_gpu:.1f}x'} |")
    print()

    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        print("onnxruntime is not installed: the end-to-end table is skipped.")
        return
    rows = []
    cpu_total, cpu_split, cpu_result = _segment(volume, cpu_backend(), args.repeat)
    rows.append(("NumPy + ORT CPU", cpu_total, cpu_split))
    gpu_total: Optional[float] = None
    agree: Optional[float] = None
    if gpu is not None:
        gpu_total, gpu_split, gpu_result = _segment(volume, gpu, args.repeat)
        label = "CuPy + ORT CUDA" if gpu_result.device.startswith("cuda") else "CuPy + ORT CPU (no CUDA provider)"
        rows.append((label, gpu_total, gpu_split))
        agree = float((gpu_result.labels == cpu_result.labels).mean())
    peer = _peer_resample(volume, args.repeat)

    print("| configuration | total s | preprocess s | inference s | postprocess s | Mvoxel/s |")
    print("|---|---|---|---|---|---|")
    for name, total, split in rows:
        print(f"| {name} | {total:.3f} | {split['preprocess']:.3f} | {split['inference']:.3f} | "
              f"{split['postprocess']:.3f} | {n_vox / 1e6 / total:.1f} |")
    print()
    print("| size | NumPy s | CuPy s (incl. transfers) | peer s (SimpleITK resample only) | NumPy/CuPy |")
    print("|---|---|---|---|---|")
    gpu_txt = "n/a" if gpu_total is None else f"{gpu_total:.3f}"
    ratio = "n/a" if gpu_total is None else f"{cpu_total / gpu_total:.1f}x"
    peer_txt = "n/a" if peer is None else f"{peer:.3f}"
    print(f"| {size} | {cpu_total:.3f} | {gpu_txt} | {peer_txt} | {ratio} |")
    if agree is not None:
        print(f"\nLabel agreement GPU vs CPU: {100 * agree:.3f} % of voxels")


if __name__ == "__main__":
    main()
