"""Display paths of the viewers: slice windowing and 3D texture preparation.

What a 2D view does per repaint is window one slice to 8 bits; what the 3D view does
once per load is stride-downsample the volume and shift it to uint16.  Times (best of
``--repeat``) for:

* ``numpy``: :func:`workstation.compute.windowing.window_to_uint8` on the host;
* ``cupy``: the same function with ``xp=cupy``, including the upload of the slice and
  the download of the 8-bit image (what a GPU-resident viewer would pay);
* ``pydicom``: ``pydicom.pixels.apply_voi_lut`` (the DICOM reference; float output,
  left out when pydicom is not installed);
* ``texture``: :func:`workstation.ui.volume_texture.prepare_texture` to <= 256^3.

No Qt is imported.  Run: ``python bench/bench_display.py [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable, Optional

import numpy as np

from workstation.core.volume import Volume
from workstation.ui.volume_texture import prepare_texture
from workstation.compute.windowing import window_to_uint8

WIDTH, LEVEL = 350.0, 50.0


def best(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm-up (kernel compilation, caches)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def cupy_or_none() -> Optional[Any]:
    try:
        import cupy

        cupy.cuda.runtime.getDeviceCount()
        return cupy
    except Exception:
        return None


def window_gpu(cp: Any, slice_: np.ndarray) -> np.ndarray:
    out = window_to_uint8(cp.asarray(slice_), WIDTH, LEVEL, xp=cp)
    return cp.asnumpy(out)


def pydicom_window(slice_: np.ndarray) -> Optional[Callable[[], Any]]:
    try:
        from pydicom.dataset import Dataset
        from pydicom.pixels import apply_voi_lut
    except ImportError:
        return None
    ds = Dataset()
    ds.BitsStored, ds.PixelRepresentation, ds.PhotometricInterpretation = 8, 0, "MONOCHROME2"
    ds.WindowCenter, ds.WindowWidth = LEVEL, WIDTH
    return lambda: apply_voi_lut(slice_.astype(np.float64), ds)


def fmt(seconds: Optional[float]) -> str:
    return "n/a" if seconds is None else f"{seconds * 1e3:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--slices", default="64,320")
    args = parser.parse_args()
    cp = cupy_or_none()
    rng = np.random.default_rng(0)
    print("| size | numpy window ms | cupy window ms (incl. transfers) | pydicom VOI LUT ms | "
          "numpy/cupy | pydicom/numpy | texture prep ms | texture MB/s |")
    print("|---|---|---|---|---|---|---|---|")
    for n in (int(v) for v in args.slices.split(",")):
        volume = Volume(rng.integers(-1024, 2000, size=(n, 512, 512)).astype(np.int16), spacing=(1.0, 0.7, 0.7))
        slice_ = np.ascontiguousarray(volume.array[n // 2])
        t_np = best(lambda: window_to_uint8(slice_, WIDTH, LEVEL), args.repeat)
        if cp is not None:
            np.testing.assert_array_equal(window_gpu(cp, slice_), window_to_uint8(slice_, WIDTH, LEVEL))
        t_cp = best(lambda: window_gpu(cp, slice_), args.repeat) if cp is not None else None
        ref = pydicom_window(slice_)
        t_pd = best(ref, args.repeat) if ref is not None else None
        t_tex = best(lambda: prepare_texture(volume, 256), max(1, args.repeat // 2))
        mb = volume.array.nbytes / 2**20
        print(
            f"| 512x512x{n} | {fmt(t_np)} | {fmt(t_cp)} | {fmt(t_pd)} | "
            f"{'n/a' if t_cp is None else f'{t_np / t_cp:.2f}'} | "
            f"{'n/a' if t_pd is None else f'{t_pd / t_np:.2f}'} | {fmt(t_tex)} | {mb / t_tex:.0f} |"
        )


if __name__ == "__main__":
    main()
