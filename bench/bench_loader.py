"""Benchmark: load a CT series with our DICOM reader and with SimpleITK (GDCM).

Writes an int16 CT series (default 300 slices of 512x512, one file per slice) to a
temporary folder (kept and reused between runs), then times, best of ``--repeats``:

* ours: ``scan`` (headers) + ``load_series`` (pixels, rescale) -> Volume;
* SimpleITK: ``ImageSeriesReader.GetGDCMSeriesFileNames`` + ``Execute``;
* when CuPy and a CUDA device are present: upload of the loaded volume to the GPU.

Prints a markdown table.  Usage::

    python bench/bench_loader.py [--slices 300] [--size 512] [--repeats 3] [--folder DIR]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np
from timing import best_of  # bench/ is the script's folder


def _write_series(folder: Path, slices: int, size: int) -> None:
    from workstation.core.volume import Volume
    from workstation.io.dicom_write import write_series

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    body = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (0.42 * size) ** 2
    array = np.empty((slices, size, size), np.int16)
    for k in range(slices):
        array[k] = np.where(body, 40, -1000) + rng.integers(-30, 31, (size, size))
    volume = Volume(array=array, spacing=(1.0, 0.7, 0.7), origin=(-180.0, -180.0, 0.0), modality="CT")
    write_series(volume, folder, suffix="")


def ensure_series(folder: Path, slices: int, size: int) -> Path:
    """The benchmark series in ``folder``, written only if not already there."""
    folder.mkdir(parents=True, exist_ok=True)
    if len([p for p in folder.iterdir() if p.is_file()]) != slices:
        for p in folder.iterdir():
            p.unlink()
        _write_series(folder, slices, size)
    return folder


def load_ours(folder: Path, workers: Optional[int] = None) -> Any:
    from workstation.io.dicom import load_series, scan

    (series,) = scan(folder).series
    return load_series(series, workers=workers)


def load_sitk(folder: Path) -> Any:
    import SimpleITK as sitk

    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    return reader.Execute()  # the image owns the voxels; a view outlives it only while it is kept


def gpu_upload(array: np.ndarray, repeats: int) -> Optional[float]:
    try:
        import cupy as cp

        if cp.cuda.runtime.getDeviceCount() < 1:
            return None
    except Exception:  # noqa: BLE001 - no CuPy or no device: column skipped
        return None

    def upload() -> None:
        cp.asarray(array)
        cp.cuda.Device().synchronize()

    upload()
    return best_of(upload, repeats)[0]


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--folder", type=Path, default=None)
    args = parser.parse_args(argv)
    folder = args.folder or Path(tempfile.gettempdir()) / f"workstation_bench_ct_{args.slices}x{args.size}"
    t0 = time.perf_counter()
    ensure_series(folder, args.slices, args.size)
    print(f"series ready in {time.perf_counter() - t0:.1f} s: {folder} ({os.cpu_count()} CPU cores)\n")
    size_mb = args.slices * args.size * args.size * 2 / 1e6
    t_ours, vol = best_of(lambda: load_ours(folder), args.repeats)
    t_one, _ = best_of(lambda: load_ours(folder, workers=1), args.repeats)
    t_sitk, image = best_of(lambda: load_sitk(folder), args.repeats)
    import SimpleITK as sitk

    if not np.array_equal(vol.array, sitk.GetArrayViewFromImage(image)):
        raise SystemExit("our volume differs from SimpleITK's")
    t_gpu = gpu_upload(vol.array, args.repeats)
    gpu = "n/a (no CUDA)" if t_gpu is None else f"{t_gpu * 1e3:.1f} ms"
    print("| slices | size | MB | ours s | ours 1 thread s | SimpleITK s | SimpleITK / ours | GPU upload |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {args.slices} | {args.size}x{args.size} | {size_mb:.0f} | {t_ours:.3f} | {t_one:.3f} | "
          f"{t_sitk:.3f} | {t_sitk / t_ours:.2f} | {gpu} |")


if __name__ == "__main__":
    main()
