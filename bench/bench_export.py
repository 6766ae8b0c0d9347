"""Export resize speed and quality: our CUDA kernels and NumPy twin against OpenCV, Pillow and libvips.

Two cases, Lanczos-3 (``--kernel`` for the others):

* ``4K->HD``: one 3840x2160 RGB uint8 texture to 1920x1080;
* ``CT batch``: 300 windowed 512x512 slices of the demo chest CT to 256x256.

Columns: time (median of ``--repeat``), speed-up over our NumPy twin and over libvips,
and PSNR against a float64 reference (dense resize matrices built from the kernel
definition with clamped edges and the kernel widened by the scale, as ours, libvips'
and Pillow's are; OpenCV's ``INTER_LANCZOS4`` is not widened and aliases).  Rows:

* ``ours gpu resident``: the two CUDA kernels on data already on the device;
* ``ours gpu + transfers``: from pinned host memory to pinned host memory in four
  pieces whose uploads, kernels and downloads overlap
  (:func:`workstation.compute.resize_cuda.resize_host_gpu`; ``bus floor`` is the copy
  time at 53.8 GB/s); ``..., not overlapped``: one upload, the kernels, one download;
* ``ours gpu pageable``: from an ordinary NumPy array back to one;
* ``ours numpy``: the twin (one thread); ``opencv N thr`` / ``opencv 1 thr``:
  ``cv2.resize(INTER_LANCZOS4)``; ``pillow``: ``Image.resize(LANCZOS)`` (per slice for
  the batch); ``libvips``: ``resize(kernel="lanczos3", gap=0)`` (what Sharp runs).

Run: ``python bench/bench_export.py [--repeat 5] [--cases 4k,ct] [--no-gpu]``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit"))
from resize_images import reference_resize, textured_rgb
from timing import median_of as timed

from workstation.compute.resize import resize_batch

BUS_GBPS = 53.8
Row = tuple[str, float, float | None, str]


def psnr(reference: np.ndarray, image: np.ndarray) -> float:
    err = np.mean((reference - image.astype(np.float64)) ** 2)
    return float("inf") if err == 0 else float(10 * np.log10(255.0**2 / err))


def ct_batch(n: int) -> np.ndarray:
    from workstation.compute.windowing import window_to_uint8
    from workstation.demo.chest_ct import generate_chest_ct

    volume, _ = generate_chest_ct(seed=0)
    reps = -(-n // volume.shape[0])
    values = np.concatenate([volume.array] * reps, axis=0)[:n]
    return np.ascontiguousarray(window_to_uint8(values, 350.0, 50.0))


def cpu_rows(images: np.ndarray, shape: tuple[int, int], kernel: str, repeat: int
             ) -> tuple[list[Row], dict[str, np.ndarray]]:
    """Rows for our NumPy twin and the CPU peers (``images`` is a batch)."""
    rows: list[Row] = []
    t, out = timed(lambda: resize_batch(images, shape, kernel=kernel), max(1, repeat // 2))
    rows.append(("ours numpy", t, None, "numpy"))
    outputs = {"ours numpy": out}
    try:
        import cv2

        flags = {"lanczos3": cv2.INTER_LANCZOS4, "catmull-rom": cv2.INTER_CUBIC, "bilinear": cv2.INTER_LINEAR}[kernel]
        for threads in (os.cpu_count() or 1, 1):
            cv2.setNumThreads(threads)
            t, o = timed(lambda: np.stack([cv2.resize(im, (shape[1], shape[0]), interpolation=flags)
                                           for im in images]), repeat)
            outputs[f"opencv {threads} thr"] = o
            rows.append((f"opencv {threads} thr", t, None, "opencv"))
    except ImportError:
        print("OpenCV not installed: its rows are left out", file=sys.stderr)
    from PIL import Image

    filters = {"lanczos3": Image.Resampling.LANCZOS, "catmull-rom": Image.Resampling.BICUBIC,
               "bilinear": Image.Resampling.BILINEAR}
    t, o = timed(lambda: np.stack([np.asarray(Image.fromarray(im).resize((shape[1], shape[0]), filters[kernel]))
                                   for im in images]), repeat)
    outputs["pillow"] = o
    rows.append(("pillow", t, None, "pillow"))
    try:
        import pyvips

        names = {"lanczos3": "lanczos3", "catmull-rom": "cubic", "bilinear": "linear"}
        h, w = images.shape[1:3]
        t, o = timed(lambda: np.stack([pyvips.Image.new_from_array(im).resize(
            shape[1] / w, vscale=shape[0] / h, kernel=names[kernel], gap=0.0).numpy() for im in images]), repeat)
        outputs["libvips"] = o
        rows.append(("libvips", t, None, "libvips"))
    except ImportError:
        print("pyvips not installed: its row is left out", file=sys.stderr)
    return rows, outputs


def gpu_rows(images: np.ndarray, shape: tuple[int, int], kernel: str, repeat: int
             ) -> tuple[list[Row], dict[str, np.ndarray]]:
    """Rows for our CUDA kernels (empty when no GPU works)."""
    try:
        import cupy

        cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # noqa: BLE001 -- no CuPy or no device: CPU columns only
        print(f"no GPU rows: {exc}", file=sys.stderr)
        return [], {}
    from workstation.compute.resize_cuda import resize_host_gpu
    from workstation.compute.transfer import pinned_empty, upload

    sync = cupy.cuda.Device().synchronize
    device = cupy.asarray(images)
    t, out = timed(lambda: resize_batch(device, shape, kernel=kernel), repeat, sync)
    rows: list[Row] = [("ours gpu resident", t, None, "gpu")]
    outputs = {"ours gpu resident": cupy.asnumpy(out)}
    host_in = pinned_empty(images.shape, images.dtype)
    host_in[...] = images
    host_out = pinned_empty(out.shape, out.dtype)

    def pinned_round_trip() -> np.ndarray:
        resized = resize_batch(upload(host_in, 0), shape, kernel=kernel)
        resized.get(out=host_out)
        return host_out

    floor = (images.nbytes + out.nbytes) / (BUS_GBPS * 1e9)
    t, o = timed(lambda: resize_host_gpu(host_in, shape, kernel=kernel, out=host_out), repeat, sync)
    rows.append(("ours gpu + transfers", t, floor, "gpu"))
    outputs["ours gpu + transfers"] = o.copy()
    t, o = timed(pinned_round_trip, repeat, sync)
    rows.append(("ours gpu + transfers, not overlapped", t, floor, "gpu"))
    outputs["ours gpu + transfers, not overlapped"] = o.copy()
    t, o = timed(lambda: cupy.asnumpy(resize_batch(cupy.asarray(images), shape, kernel=kernel)), repeat, sync)
    rows.append(("ours gpu pageable", t, None, "gpu"))
    outputs["ours gpu pageable"] = o
    return rows, outputs


def reference_of(images: np.ndarray, shape: tuple[int, int], kernel: str, sample: int) -> tuple[np.ndarray, slice]:
    """Float64 reference of the first ``sample`` images (enough for a stable PSNR)."""
    picked = slice(0, min(sample, images.shape[0]))
    refs = [np.clip(reference_resize(im.astype(np.float64), shape, kernel), 0, 255) for im in images[picked]]
    return np.stack(refs), picked


def run_case(name: str, images: np.ndarray, shape: tuple[int, int], kernel: str, repeat: int,
             use_gpu: bool) -> None:
    rows, outputs = gpu_rows(images, shape, kernel, repeat) if use_gpu else ([], {})
    more_rows, more_outputs = cpu_rows(images, shape, kernel, repeat)
    rows += more_rows
    outputs.update(more_outputs)
    reference, picked = reference_of(images, shape, kernel, 4)
    base = {r[0]: r[1] for r in rows}
    numpy_t, vips_t = base.get("ours numpy"), base.get("libvips")
    mb = images.nbytes / 1e6
    print(f"\n### {name}: {images.shape} uint8 ({mb:.0f} MB) -> {shape}, {kernel}\n")
    print("| path | ms | bus floor ms | numpy / path | libvips / path | PSNR vs float64 dB |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, t, floor, _ in rows:
        out = outputs[label]
        quality = psnr(reference, out[picked])
        ratio = f"{numpy_t / t:.1f}x" if numpy_t else "-"
        vs_vips = f"{vips_t / t:.1f}x" if vips_t else "-"
        floor_text = f"{floor * 1e3:.2f}" if floor else ""
        print(f"| {label} | {t * 1e3:.2f} | {floor_text} | {ratio} | {vs_vips} | {quality:.1f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cases", default="4k,ct")
    parser.add_argument("--kernel", default="lanczos3", choices=("lanczos3", "catmull-rom", "bilinear"))
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--no-gpu", action="store_true", help="CPU rows only")
    args = parser.parse_args(argv)
    cases = args.cases.split(",")
    if "4k" in cases:
        run_case("4K -> HD", textured_rgb(2160, 3840)[None], (1080, 1920), args.kernel, args.repeat, not args.no_gpu)
    if "ct" in cases:
        run_case("CT batch", ct_batch(args.slices), (256, 256), args.kernel, args.repeat, not args.no_gpu)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
