"""Separable image resizing (Lanczos-3, Catmull-Rom, bilinear): weights and the NumPy twin.

Conventions, shared by the CUDA kernels of :mod:`workstation.compute.resize_cuda`:

* **Pixel centres.**  Output pixel ``i`` of ``n_out`` has its centre at input position
  ``(i + 0.5) * n_in / n_out - 0.5`` (pixel ``j`` of the input is centred at ``j``), so
  the image edges line up, as in libvips, Pillow and OpenCV.
* **Antialiasing.**  When shrinking by ``s = n_in / n_out > 1`` the kernel is
  stretched by ``s`` (its support widens from ``a`` to ``a * s`` input pixels), as
  libvips and Pillow do; OpenCV's ``INTER_LANCZOS4`` does not and aliases.
* **Edges** are clamped: taps beyond the image read the edge pixel.
* **Weights** are computed once per ``(n_in, n_out, kernel)`` on the host in float64,
  normalised to sum 1 and stored as float32; both paths apply the same table.
* **Arithmetic.**  Vertical pass first (source dtype -> float32), then horizontal
  (float32 -> output dtype); each output is ``acc = acc + w[k] * x[k]`` for
  ``k = 0 .. taps-1`` in float32 with separate multiply and add, so the NumPy twin and
  the GPU give bit-identical results.  Integer outputs are ``rint`` (half to even)
  then clipped to the dtype's range; float inputs give float32 outputs, not clipped.
* **Shapes.**  One image ``(H, W)`` or ``(H, W, C)``, or a batch ``(N, H, W)`` /
  ``(N, H, W, C)`` with :func:`resize_batch`; channels (1, 3 or 4) are filtered
  independently (flatten alpha first: it is not premultiplied).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: Kernel name -> (radius in pixels at scale 1, kernel function of the distance).
KernelFn = Callable[[NDArray[np.float64]], NDArray[np.float64]]


def _lanczos3(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.where(np.abs(x) < 3.0, np.sinc(x) * np.sinc(x / 3.0), 0.0)


def _catmull_rom(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Keys cubic with a = -0.5 (Mitchell-Netravali B = 0, C = 0.5)."""
    a = np.abs(x)
    near = 1.5 * a**3 - 2.5 * a**2 + 1.0
    far = -0.5 * a**3 + 2.5 * a**2 - 4.0 * a + 2.0
    return np.where(a < 1.0, near, np.where(a < 2.0, far, 0.0))


def _triangle(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.clip(1.0 - np.abs(x), 0.0, None)


KERNELS: dict[str, tuple[float, KernelFn]] = {
    "lanczos3": (3.0, _lanczos3),
    "catmull-rom": (2.0, _catmull_rom),
    "bilinear": (1.0, _triangle),
}
#: Output dtype per input dtype (float inputs are filtered and returned in float32).
_OUT_DTYPES = {np.dtype(t): np.dtype(t) for t in (np.uint8, np.uint16, np.int16)}
#: Elements of one block of the NumPy passes (a few MB of float32 stays in cache).
BLOCK_ELEMENTS = 1 << 18


@dataclass(frozen=True)
class Weights:
    """The taps of one axis: output ``i`` reads inputs ``starts[i] + k`` (clamped), ``k < taps``."""

    starts: NDArray[np.int32]
    weights: NDArray[np.float32]
    n_in: int

    @property
    def taps(self) -> int:
        return int(self.weights.shape[1])

    @property
    def n_out(self) -> int:
        return int(self.weights.shape[0])

    @property
    def is_identity(self) -> bool:
        return self.taps == 1 and self.n_in == self.n_out


@lru_cache(maxsize=128)
def filter_weights(n_in: int, n_out: int, kernel: str = "lanczos3") -> Weights:
    """The normalised filter taps for resizing an axis of ``n_in`` pixels to ``n_out``.

    Same size gives the identity (one tap of weight 1).  When shrinking the kernel is
    stretched by ``n_in / n_out``.  Raises ``ValueError`` for an unknown kernel or a
    size below 1.
    """
    if kernel not in KERNELS:
        raise ValueError(f"unknown resize kernel {kernel!r}; known: {', '.join(KERNELS)}")
    if n_in < 1 or n_out < 1:
        raise ValueError(f"sizes must be at least 1 pixel, got {n_in} -> {n_out}")
    if n_in == n_out:
        return Weights(np.arange(n_in, dtype=np.int32), np.ones((n_in, 1), np.float32), n_in)
    radius, fn = KERNELS[kernel]
    scale = n_in / n_out
    stretch = max(scale, 1.0)
    support = radius * stretch
    centres = (np.arange(n_out) + 0.5) * scale - 0.5
    left = np.floor(centres - support).astype(np.int64) + 1
    right = np.ceil(centres + support).astype(np.int64) - 1
    taps = int((right - left).max()) + 1
    pos = left[:, None] + np.arange(taps)[None, :]
    w = fn((pos - centres[:, None]) / stretch)
    w[pos > right[:, None]] = 0.0
    w /= w.sum(axis=1, keepdims=True)
    return Weights(left.astype(np.int32), w.astype(np.float32), n_in)


def output_dtype(dtype: Any) -> np.dtype:
    """The dtype a resize returns for input ``dtype`` (raises ``TypeError`` if unsupported)."""
    dt = np.dtype(dtype)
    if dt in _OUT_DTYPES:
        return _OUT_DTYPES[dt]
    if dt.kind == "f":
        return np.dtype(np.float32)
    raise TypeError(f"resize supports uint8, uint16, int16 and float images, not {dt.name}")


def as_batch(images: Any) -> tuple[Any, bool]:
    """``images`` as ``(N, H, W, C)`` and whether it had a channel axis."""
    if images.ndim == 3:
        return images[..., None], False
    if images.ndim == 4:
        if images.shape[-1] not in (1, 3, 4):
            raise ValueError(f"images must have 1, 3 or 4 channels, got {images.shape[-1]}")
        return images, True
    raise ValueError(f"a batch is (N, H, W) or (N, H, W, C), got shape {tuple(images.shape)}")


def check_shape(shape: tuple[int, int]) -> tuple[int, int]:
    h, w = (int(v) for v in shape)
    if h < 1 or w < 1:
        raise ValueError(f"output shape must be at least 1x1, got {shape}")
    return h, w


def finish(acc: NDArray[np.float32], dtype: np.dtype) -> NDArray[Any]:
    """float32 sums -> output dtype: ``rint`` then clip for integers, unchanged for floats."""
    if dtype.kind == "f":
        return acc
    info = np.iinfo(dtype)
    np.rint(acc, out=acc)
    np.clip(acc, info.min, info.max, out=acc)
    return acc.astype(dtype)


def _apply(src: NDArray[Any], w: Weights, axis: int) -> NDArray[np.float32]:
    """One separable pass along ``axis`` (1 or 2 of ``(N, H, W, C)``) in float32, in the CUDA
    kernels' order of sums; worked in blocks of the other axes that stay in cache."""
    if w.is_identity:
        return src.astype(np.float32)
    index = np.clip(w.starts[:, None].astype(np.int64) + np.arange(w.taps), 0, w.n_in - 1)
    shape = [1] * src.ndim
    shape[axis] = w.n_out
    weights = [w.weights[:, k].reshape(shape) for k in range(w.taps)]
    out_shape = list(src.shape)
    out_shape[axis] = w.n_out
    out = np.empty(out_shape, dtype=np.float32)
    other = 2 if axis == 1 else 1
    per_line = int(np.prod(out_shape)) // out_shape[other] // out_shape[0]
    step = max(1, BLOCK_ELEMENTS // max(per_line, 1))
    for n in range(src.shape[0]):
        for a in range(0, out_shape[other], step):
            block = [slice(n, n + 1), slice(None), slice(None), slice(None)]
            block[other] = slice(a, a + step)
            part = src[tuple(block)]
            acc = np.zeros(part.shape[:axis] + (w.n_out,) + part.shape[axis + 1:], dtype=np.float32)
            term = np.empty_like(acc)
            for k in range(w.taps):
                np.multiply(np.take(part, index[:, k], axis=axis), weights[k], out=term, dtype=np.float32)
                acc += term
            out[tuple(block)] = acc
    return out


def resize_batch(images: Any, shape: tuple[int, int], *, kernel: str = "lanczos3") -> Any:
    """Resize a batch ``(N, H, W[, C])`` to ``shape = (height, width)``.

    NumPy arrays are resized here (the reference twin), CuPy arrays on their device by
    :mod:`workstation.compute.resize_cuda`; the result has the input's array type,
    layout and (for floats: float32) dtype.
    """
    if type(images).__module__.startswith("cupy"):
        from workstation.compute.resize_cuda import resize_batch_gpu

        return resize_batch_gpu(images, shape, kernel=kernel)
    out_h, out_w = check_shape(shape)
    batch, had_channels = as_batch(np.asarray(images))
    dtype = output_dtype(batch.dtype)
    if batch.dtype.kind == "f" and batch.dtype != np.float32:
        batch = batch.astype(np.float32)
    _, h, w, _ = batch.shape
    rows = _apply(batch, filter_weights(h, out_h, kernel), axis=1)
    cols = _apply(rows, filter_weights(w, out_w, kernel), axis=2)
    out = finish(cols, dtype)
    return out if had_channels else out[..., 0]


def resize(image: Any, shape: tuple[int, int], *, kernel: str = "lanczos3") -> Any:
    """Resize one image ``(H, W)`` or ``(H, W, C)`` to ``shape = (height, width)``."""
    if image.ndim not in (2, 3):
        raise ValueError(f"an image is (H, W) or (H, W, C), got shape {tuple(image.shape)}")
    return resize_batch(image[None], shape, kernel=kernel)[0]


def fit_shape(height: int, width: int, *, size: tuple[int, int] | None = None,
              scale: float | None = None, pixel_aspect: float = 1.0) -> tuple[int, int]:
    """Output ``(height, width)`` of an image shown with square pixels.

    ``pixel_aspect`` is row height / column width in mm (thick coronal slices have
    more than 1): the image is first stretched vertically by it.  ``size = (w, h)``
    fits the image inside that box keeping the aspect (a 0 leaves that side free);
    ``scale`` multiplies the square-pixel size.  Neither: the square-pixel size.
    """
    shown_h, shown_w = height * float(pixel_aspect), float(width)
    if size is not None and scale is not None:
        raise ValueError("give a size or a scale, not both")
    if scale is not None:
        if not scale > 0:
            raise ValueError(f"scale must be positive, got {scale}")
        factor = float(scale)
    elif size is not None:
        box_w, box_h = size
        if box_w < 0 or box_h < 0 or (box_w == 0 and box_h == 0):
            raise ValueError(f"size must be positive, got {box_w}x{box_h}")
        factors = [f for f in (box_w / shown_w if box_w else 0.0, box_h / shown_h if box_h else 0.0) if f]
        factor = min(factors)
    else:
        factor = 1.0
    return max(1, round(shown_h * factor)), max(1, round(shown_w * factor))
